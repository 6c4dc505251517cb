package io.splitserve.perf.engine;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.StepOutput;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The seeds' decode workload through the engine alone, as a serving node would drive it but with no network, router
 * or client: N random prompts of P tokens added at once, greedy, each stopped after exactly T new tokens (end of
 * sequence ignored), steps run until all finish. Prints the wall time, generated tokens per second over the whole
 * job (prefill included, the figure the served run is compared with) and over the steps after the last prefill.
 *
 * <p>Run as {@code splitserve bench engine MODEL_DIR} ({@code --help} lists the job's sizes, backend and rounds);
 * the last round is reported, earlier ones warm up.
 */
public final class EngineThroughput {
    private EngineThroughput() {}

    public static void run(Path model, int prompts, int promptTokens, int newTokens, Backend backend, int maxRunning,
                           int rounds) throws Exception {
        final EngineOptions options = new EngineOptions().backend(backend).maxRunningSequences(maxRunning);
        try (Engine engine = Engine.load(model, options)) {
            System.out.println("engine: " + engine.backend());
            for (int round = 1; round <= rounds; round++) {
                final SplittableRandom random = new SplittableRandom(round);
                final Map<Long, Integer> produced = new HashMap<>();
                final long t0 = System.nanoTime();
                for (int i = 0; i < prompts; i++) {
                    final int[] prompt = new int[promptTokens];
                    for (int t = 0; t < promptTokens; t++) {
                        prompt[t] = 4 + random.nextInt(Math.min(engine.config().vocabSize(), 32_000) - 4);
                    }
                    produced.put(engine.addSequence(prompt, SamplingParams.greedy()), 0);
                }
                long lastPrefillEnd = t0;
                long steps = 0;
                long tokens = 0;
                while (!produced.isEmpty()) {
                    final boolean prefilling = produced.containsValue(0);
                    for (StepOutput out : engine.step()) {
                        final int n = produced.merge(out.sequenceId(), 1, Integer::sum);
                        tokens++;
                        if (n == newTokens) {
                            produced.remove(out.sequenceId());
                            engine.release(out.sequenceId());
                        }
                    }
                    steps++;
                    if (prefilling) {
                        lastPrefillEnd = System.nanoTime();
                    }
                }
                final long t1 = System.nanoTime();
                final double wall = (t1 - t0) / 1e9;
                final double decodeWall = (t1 - lastPrefillEnd) / 1e9;
                System.out.printf(Locale.ROOT, "round %d: %d x %d prompt tokens, %d new tokens each: %d tokens in %d"
                        + " steps, wall %.3f s, %.0f generated tok/s overall, %.0f tok/s after the last prefill"
                        + " (%.3f s)%n", round, prompts, promptTokens, newTokens, tokens, steps, wall, tokens / wall,
                        (tokens - prompts) / Math.max(decodeWall, 1e-9), decodeWall);
            }
        }
    }
}
