package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.StepOutput;
import io.splitserve.engine.forward.PeerArena;
import io.splitserve.engine.forward.PeerAttachment;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU KV path inside one process on one GPU, against the host path and a single engine: a prefill exported into
 * device memory holds byte for byte what the host path hands out, with GPU checksums equal to
 * {@link java.util.zip.CRC32C} of those bytes; the first tokens are the same and are handed over once, before the
 * call returns; a decode engine that copies the KV device to device reports the same checksums as it landed and then
 * decodes exactly the greedy tokens of one engine serving the prompt alone; a byte damaged in the export shows in the
 * landed checksum of that layer part only; an arena that does not exist, or one of another host, is refused with the
 * reason.
 */
@GpuTest
class DeviceKvPathGpuTest {
    private static final int DECODE_STEPS = 12;
    private static final int[] LENGTHS = {1, 37, 300};

    @TempDir
    static Path models;

    private static EngineOptions prefillOptions() {
        return new EngineOptions().backend(Backend.CUDA).pageSize(16).maxPages(256).kvExportFraction(0.2)
                .memFraction(0.3);
    }

    private static EngineOptions decodeOptions() {
        return new EngineOptions().backend(Backend.CUDA).pageSize(16).maxPages(256);
    }

    private static List<int[]> prompts() {
        final List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < LENGTHS.length; i++) {
            prompts.add(RandomModels.tokens(40 + i, LENGTHS[i]));
        }
        return prompts;
    }

    private static List<SamplingParams> greedy(int n) {
        final List<SamplingParams> params = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            params.add(SamplingParams.greedy());
        }
        return params;
    }

    @Test
    void theDeviceExportIsTheHostExportByteForByteAndDecodesAsOneEngine() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2"));
        final List<int[]> prompts = prompts();
        final int n = prompts.size();
        try (Engine prefill = Engine.load(dir, prefillOptions()); Engine decode = Engine.load(dir, decodeOptions())) {
            final int layers = prefill.config().numLayers();
            final int rowBytes = prefill.config().kvDim() * 2;
            final int total = LENGTHS[0] + LENGTHS[1] + LENGTHS[2];

            // the host path: every prompt's layer parts as bytes
            final byte[][][] host = new byte[n][2 * layers][];
            final int[] hostFirst = prefill.prefill(prompts, greedy(n), new int[n],
                    (prompt, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                        host[prompt][2 * layer] = new byte[tokens * rowBytes];
                        host[prompt][2 * layer + 1] = new byte[tokens * rowBytes];
                        keys.get(keyOffset, host[prompt][2 * layer]);
                        values.get(valueOffset, host[prompt][2 * layer + 1]);
                    });

            // the GPU path
            final KvExportArena arena = (KvExportArena) prefill.deviceKvArena();
            assertNotNull(arena);
            final long offset = arena.allocate(prefill.deviceExportBytes(total));
            assertTrue(offset >= 0);
            final int[][] deviceCrcs = new int[layers][];
            final int[][] handedOver = new int[1][];
            final int[] first = prefill.prefillToDevice(prompts, greedy(n), new int[n], new int[n], offset,
                    (layer, crcs) -> deviceCrcs[layer] = crcs.clone(), tokens -> {
                        assertFalse(handedOver[0] != null, "first tokens handed over twice");
                        handedOver[0] = tokens;
                    });
            assertSame(first, handedOver[0]);
            assertArrayEquals(hostFirst, first);

            final int[] rowStarts = {0, LENGTHS[0], LENGTHS[0] + LENGTHS[1]};
            for (int p = 0; p < n; p++) {
                for (int part = 0; part < 2 * layers; part++) {
                    final byte[] exported = new byte[LENGTHS[p] * rowBytes];
                    final long at = offset + ((long) part * total + rowStarts[p]) * rowBytes;
                    JCudaDriver.cuMemcpyDtoH(Pointer.to(exported), arena.memory().pointer().withByteOffset(at),
                            exported.length);
                    assertArrayEquals(host[p][part], exported, "prompt " + p + " part " + part);
                    assertEquals(crc(exported), deviceCrcs[part / 2][2 * p + part % 2], "checksum of prompt " + p
                            + " part " + part);
                }
            }

            // the decode engine takes prompt 2 device to device
            final PeerArena peer = new PeerArena(arena.hostId(), arena.deviceUuid(), arena.processId(),
                    arena.arenaId(), arena.ipcHandle());
            assertTrue(decode.attachPeerArena(peer).mapped());
            final ImportedKv kv = decode.reserveImportedFromDevice(LENGTHS[2]);
            for (int layer = 0; layer < layers; layer++) {
                final long k = offset + ((2L * layer) * total + rowStarts[2]) * rowBytes;
                decode.importLayerFromDevice(kv, layer, arena.arenaId(), k, k + (long) total * rowBytes);
            }
            final int[] landed = new int[2 * layers];
            decode.importedChecksums(kv, landed);
            for (int part = 0; part < 2 * layers; part++) {
                assertEquals(deviceCrcs[part / 2][4 + part % 2], landed[part], "landed part " + part);
            }
            final long id = decode.admitImported(kv, first[2], SamplingParams.greedy(), 1);
            final int[] decoded = new int[DECODE_STEPS];
            for (int s = 0; s < DECODE_STEPS; s++) {
                for (StepOutput out : decode.step()) {
                    assertEquals(id, out.sequenceId());
                    decoded[s] = out.token();
                }
            }
            assertArrayEquals(alone(dir, prompts.get(2)), concat(first[2], decoded));
            decode.release(id);

            // one byte damaged in layer 1's V of prompt 2 shows in that part's landed checksum only
            final long damaged = offset + ((3L * total) + rowStarts[2] + 5) * rowBytes + 7;
            final byte[] one = new byte[1];
            JCudaDriver.cuMemcpyDtoH(Pointer.to(one), arena.memory().pointer().withByteOffset(damaged), 1);
            one[0] ^= 0x40;
            JCudaDriver.cuMemcpyHtoD(arena.memory().pointer().withByteOffset(damaged), Pointer.to(one), 1);
            final ImportedKv again = decode.reserveImportedFromDevice(LENGTHS[2]);
            for (int layer = 0; layer < layers; layer++) {
                final long k = offset + ((2L * layer) * total + rowStarts[2]) * rowBytes;
                decode.importLayerFromDevice(again, layer, arena.arenaId(), k, k + (long) total * rowBytes);
            }
            decode.importedChecksums(again, landed);
            for (int part = 0; part < 2 * layers; part++) {
                final int announced = deviceCrcs[part / 2][4 + part % 2];
                if (part == 3) {
                    assertNotEquals(announced, landed[part], "the damaged part");
                } else {
                    assertEquals(announced, landed[part], "part " + part);
                }
            }
            decode.releaseImported(again);
            arena.free(offset);
            assertEquals(arena.capacity(), arena.freeBytes());
        }
    }

    @Test
    void arenasThatCannotBeMappedAreRefusedWithTheReason() throws Exception {
        final Path dir = RandomModels.write("llama", models.resolve("llama"));
        try (Engine prefill = Engine.load(dir, prefillOptions()); Engine decode = Engine.load(dir, decodeOptions())) {
            final KvExportArena arena = (KvExportArena) prefill.deviceKvArena();
            final PeerAttachment missing = decode.attachPeerArena(new PeerArena(arena.hostId(), arena.deviceUuid(),
                    arena.processId(), arena.arenaId() + 1, arena.ipcHandle()));
            assertEquals(PeerAttachment.Access.UNOPENABLE, missing.access(), missing.reason());
            final PeerAttachment elsewhere = decode.attachPeerArena(new PeerArena("another-host", arena.deviceUuid(),
                    arena.processId(), arena.arenaId(), arena.ipcHandle()));
            assertEquals(PeerAttachment.Access.UNREACHABLE, elsewhere.access(), elsewhere.reason());
            assertTrue(elsewhere.reason().contains("another host"), elsewhere.reason());
        }
    }

    private static int crc(byte[] bytes) {
        final CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }

    private static int[] concat(int first, int[] rest) {
        final int[] all = new int[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    /** The greedy tokens of one engine serving {@code prompt} alone. */
    private static int[] alone(Path dir, int[] prompt) throws Exception {
        try (Engine engine = Engine.load(dir, decodeOptions())) {
            final long id = engine.addSequence(prompt, SamplingParams.greedy());
            final int[] tokens = new int[DECODE_STEPS + 1];
            for (int s = 0; s <= DECODE_STEPS; s++) {
                for (StepOutput out : engine.step()) {
                    assertEquals(id, out.sequenceId());
                    tokens[s] = out.token();
                }
            }
            return tokens;
        }
    }
}
