package io.splitserve.kvtransfer;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU work of sending one layer part of KV: the sender's CRC32C over the part ({@link Crc32c}, the JDK's
 * intrinsic) alone, and chunking: walking the part in chunks of the sender's chunk size, folding each into the CRC
 * and copying it into a frame buffer, as {@code KvSender.sendPart} does before Aeron copies it into the term. The
 * part is one layer's K of a 600-token prompt for Qwen2.5-1.5B in bf16 (2 KV heads x 128 dims: 300 KiB) or
 * Llama-3-8B (8 x 128: 1.2 MiB). The {@code bytes} counter gives GB/s. Lives in the kv-transfer package to reach
 * its package-private CRC.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class KvChunkingBenchmark {
    /** Bytes per token row of one part: kvHeads x headDim x 2 (bf16). */
    @Param({"512", "2048"})
    public int rowBytes;

    @Param({"65536"})
    public int chunkBytes;

    private static final int TOKENS = 600;

    private UnsafeBuffer part;
    private UnsafeBuffer frame;

    /** Payload bytes processed, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup
    public void fill() {
        part = new UnsafeBuffer(ByteBuffer.allocateDirect(TOKENS * rowBytes));
        for (int i = 0; i < part.capacity(); i += 4) {
            part.putInt(i, i * 0x9E3779B9);
        }
        frame = new UnsafeBuffer(ByteBuffer.allocateDirect(chunkBytes + 64));
    }

    @Benchmark
    public int crc32c(Bytes counter) {
        counter.bytes += part.capacity();
        return Crc32c.finish(Crc32c.update(Crc32c.INITIAL, part, 0, part.capacity()));
    }

    @Benchmark
    public int chunkCrcAndCopy(Bytes counter) {
        final int chunkTokens = chunkBytes / rowBytes;
        int crc = Crc32c.INITIAL;
        for (int offset = 0; offset < TOKENS; offset += chunkTokens) {
            final int length = Math.min(chunkTokens, TOKENS - offset) * rowBytes;
            final int index = offset * rowBytes;
            crc = Crc32c.update(crc, part, index, length);
            frame.putBytes(32, part, index, length);
        }
        counter.bytes += part.capacity();
        return Crc32c.finish(crc);
    }
}
