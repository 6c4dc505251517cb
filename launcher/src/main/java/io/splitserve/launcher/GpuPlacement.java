package io.splitserve.launcher;

import java.util.Arrays;

/**
 * Where the nodes of one serving process run on the CUDA backend: prefill node {@code i} on
 * {@code prefillGpus[i % prefillGpus.length]}, decode (or colocated) node {@code i} likewise on its list, so
 * {@code --decode-gpu 0,1 --decode-nodes 2} puts one node on each GPU. Nodes that land on one GPU split its KV memory
 * evenly: each is told its start position among the nodes of that GPU and how many there are, prefill nodes first.
 */
final class GpuPlacement {
    /** One node's GPU, its 0-based start position among that GPU's nodes, and how many nodes share that GPU. */
    record Slot(int gpu, int position, int sharing) { }

    private final Slot[] prefill;
    private final Slot[] decode;

    GpuPlacement(int[] prefillGpus, int prefillNodes, int[] decodeGpus, int decodeNodes) {
        if (prefillGpus.length == 0 || decodeGpus.length == 0) {
            throw new IllegalArgumentException("GPU lists must name at least one GPU");
        }
        for (int gpu : concat(prefillGpus, decodeGpus)) {
            if (gpu < 0) {
                throw new IllegalArgumentException("GPU ordinals must be 0 or more, got " + gpu);
            }
        }
        final int[] gpus = new int[prefillNodes + decodeNodes];
        for (int i = 0; i < prefillNodes; i++) {
            gpus[i] = prefillGpus[i % prefillGpus.length];
        }
        for (int i = 0; i < decodeNodes; i++) {
            gpus[prefillNodes + i] = decodeGpus[i % decodeGpus.length];
        }
        final Slot[] all = new Slot[gpus.length];
        for (int i = 0; i < gpus.length; i++) {
            int position = 0;
            int sharing = 0;
            for (int j = 0; j < gpus.length; j++) {
                if (gpus[j] == gpus[i]) {
                    sharing++;
                    if (j < i) {
                        position++;
                    }
                }
            }
            all[i] = new Slot(gpus[i], position, sharing);
        }
        prefill = Arrays.copyOfRange(all, 0, prefillNodes);
        decode = Arrays.copyOfRange(all, prefillNodes, all.length);
    }

    /** Prefill node {@code i} (0-based). */
    Slot prefill(int i) {
        return prefill[i];
    }

    /** Decode or colocated node {@code i} (0-based). */
    Slot decode(int i) {
        return decode[i];
    }

    private static int[] concat(int[] a, int[] b) {
        final int[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
