package io.splitserve.kernels.cuda;

import jcuda.Pointer;

/**
 * The parameter block of one kernel, built once per launcher and refilled before each launch, so a launch
 * allocates nothing. The signature is a string with one letter per parameter: {@code p} device address,
 * {@code i} int, {@code f} float. Not thread-safe: one per launcher, on the GPU thread.
 */
final class KernelArgs {
    private final long[][] longs;
    private final int[][] ints;
    private final float[][] floats;
    private final Pointer parameters;

    KernelArgs(String signature) {
        int n = signature.length();
        longs = new long[n][];
        ints = new int[n][];
        floats = new float[n][];
        Pointer[] slots = new Pointer[n];
        for (int i = 0; i < n; i++) {
            switch (signature.charAt(i)) {
                case 'p' -> {
                    longs[i] = new long[1];
                    slots[i] = Pointer.to(longs[i]);
                }
                case 'i' -> {
                    ints[i] = new int[1];
                    slots[i] = Pointer.to(ints[i]);
                }
                case 'f' -> {
                    floats[i] = new float[1];
                    slots[i] = Pointer.to(floats[i]);
                }
                default -> throw new IllegalArgumentException("bad kernel signature letter in " + signature);
            }
        }
        parameters = Pointer.to(slots);
    }

    KernelArgs address(int index, long value) {
        longs[index][0] = value;
        return this;
    }

    KernelArgs int32(int index, int value) {
        ints[index][0] = value;
        return this;
    }

    KernelArgs float32(int index, float value) {
        floats[index][0] = value;
        return this;
    }

    Pointer parameters() {
        return parameters;
    }
}
