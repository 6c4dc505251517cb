package io.splitserve.engine;

import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Compares the engine with a golden model directory made by make_model_fixtures.py (expected.json and
 * expected.safetensors beside the model) and prints what it measured: max abs logit error per prompt, whether the
 * greedy continuation is equal, and load, prefill and decode times. For checkpoints too large to commit (the
 * script's --scale mode builds one past 2 GiB); the committed fixtures are checked by GoldenModelTest.
 *
 * <p>Usage: {@code GoldenCheckMain MODEL_DIR [PAGE_SIZE]}; exits 1 when a check fails.
 */
public final class GoldenCheckMain {
    private GoldenCheckMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: GoldenCheckMain MODEL_DIR [PAGE_SIZE]");
            System.exit(2);
        }
        final Path dir = Path.of(args[0]);
        final int pageSize = args.length > 1 ? Integer.parseInt(args[1]) : EngineOptions.DEFAULT_PAGE_SIZE;
        final GoldenFixture fixture = new GoldenFixture(dir.getFileName().toString(), dir);
        boolean ok = true;
        final long loadStart = System.nanoTime();
        try (Engine engine = Engine.load(dir, new EngineOptions().pageSize(pageSize))) {
            System.out.printf("loaded %s (%s, %d layers, hidden %d, vocab %d) in %.2f s%n", dir,
                    engine.config().architecture().hfName(), engine.config().numLayers(),
                    engine.config().hiddenSize(), engine.config().vocabSize(), seconds(loadStart));
            for (int p = 0; p < fixture.prompts.length; p++) {
                final int[] prompt = fixture.prompts[p];
                final long prefillStart = System.nanoTime();
                final float[][] logits = engine.promptLogits(prompt);
                final double prefillSeconds = seconds(prefillStart);
                float maxError = 0;
                float maxLogit = 0;
                for (int t = 0; t < logits.length; t++) {
                    for (int v = 0; v < logits[t].length; v++) {
                        maxError = Math.max(maxError, Math.abs(logits[t][v] - fixture.logits[p][t][v]));
                        maxLogit = Math.max(maxLogit, Math.abs(fixture.logits[p][t][v]));
                    }
                }
                final int[] expected = fixture.greedy[p];
                final long id = engine.addSequence(prompt, SamplingParams.greedy());
                final int[] generated = new int[expected.length];
                generated[0] = onlyToken(engine.step(), id); // prefill and first token
                final long decodeStart = System.nanoTime();
                for (int i = 1; i < generated.length; i++) {
                    generated[i] = onlyToken(engine.step(), id);
                }
                final double decodeSeconds = seconds(decodeStart);
                engine.release(id);
                final boolean equal = Arrays.equals(expected, generated);
                // 1e-4 absolute as for the committed fixtures, relative once logits exceed 1 in magnitude
                ok &= maxError < 1e-4 * Math.max(1, maxLogit) && equal;
                System.out.printf("prompt %d: %d tokens, max abs logit error %.3e (max |logit| %.3f), greedy %d "
                                + "tokens %s; prefill %.1f tokens/s, decode %.2f tokens/s%n", p, prompt.length,
                        maxError, maxLogit, expected.length, equal ? "EQUAL" : "DIFFERENT",
                        prompt.length / prefillSeconds, (generated.length - 1) / decodeSeconds);
            }
        }
        System.out.println(ok ? "golden check passed" : "golden check FAILED");
        System.exit(ok ? 0 : 1);
    }

    private static int onlyToken(List<StepOutput> outputs, long id) {
        if (outputs.size() != 1 || outputs.get(0).sequenceId() != id) {
            throw new IllegalStateException("expected one token for sequence " + id + ", got " + outputs);
        }
        return outputs.get(0).token();
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
