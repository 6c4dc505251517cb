package io.splitserve.perf.jmh;

import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
 * Tokenizer encode throughput on the real Qwen3 and Llama 3 vocabularies (151k and 128k tokens) over English prose
 * of about 4 KiB: the router encodes every prompt, so this bounds its prompt intake. Reported as encodes per second
 * and, through the {@code tokens} counter, tokens per second. The tokenizer files come from
 * {@code tokenizer/scripts/fetch-tokenizers.sh}; their directory is the system property
 * {@code splitserve.tokenizers} (default {@code tokenizer/target/hf-tokenizers}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TokenizerBenchmark {
    private static final String PARAGRAPH = "The quick brown fox jumps over the lazy dog, while serving systems split "
            + "prefill from decode so that long prompts no longer stall running generations. Each request's KV cache "
            + "streams layer by layer over Aeron; tokens return as SBE-encoded events, 42 times per second or more. ";

    @Param({"qwen3", "llama3"})
    public String vocabulary;

    private Tokenizer tokenizer;
    private String text;

    /** Tokens encoded, reported per second beside the encode rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Tokens {
        public long tokens;

        @Setup(Level.Iteration)
        public void reset() {
            tokens = 0;
        }
    }

    @Setup
    public void load() throws Exception {
        final Path dir = Path.of(System.getProperty("splitserve.tokenizers", "tokenizer/target/hf-tokenizers"));
        final Path json = dir.resolve(vocabulary).resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new IllegalStateException("no " + json + ": run tokenizer/scripts/fetch-tokenizers.sh " + dir);
        }
        tokenizer = Tokenizer.load(json);
        text = PARAGRAPH.repeat(4096 / PARAGRAPH.length() + 1);
    }

    @Benchmark
    public int encode(Tokens counter) {
        final int n = tokenizer.encode(text, true).length;
        counter.tokens += n;
        return n;
    }
}
