package io.splitserve.engine.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.engine.weights.DecoderWeights;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The model definition both runners call, stepped against ops that record each call: the exact op sequence of a
 * Llama-shaped model (no q/k norm) and of a Qwen3-shaped one (q/k head norms after the QKV projection), which
 * weight each op gets, the KV-export hook right after each layer's KV write, and no final norm or LM head for a
 * step without logit rows.
 */
class DecoderModelTest {

    private record Named(String name) implements Linear {
        @Override
        public int inFeatures() {
            return 1;
        }

        @Override
        public int outFeatures() {
            return 1;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Writes one line per op: its name, then its slots and weights. */
    private static final class RecordingOps implements DecoderOps<String, String, Named> {
        final List<String> calls = new ArrayList<>();
        int logitRows = 1;

        @Override
        public void embed(Act out, String table) {
            calls.add("embed " + out + " " + table);
        }

        @Override
        public void rmsNorm(Act out, Act in, String weight) {
            calls.add("rmsNorm " + out + " " + in + " " + weight);
        }

        @Override
        public void addRmsNorm(Act out, Act residual, Act x, String weight) {
            calls.add("addRmsNorm " + out + " " + residual + " " + x + " " + weight);
        }

        @Override
        public void linear(Act out, Act in, Named linear) {
            calls.add("linear " + out + " " + in + " " + linear);
        }

        @Override
        public void qkNorm(Act qkv, String q, String k) {
            calls.add("qkNorm " + qkv + " " + q + " " + k);
        }

        @Override
        public void ropeAndWriteKv(int layer, Act qkv) {
            calls.add("ropeAndWriteKv " + layer + " " + qkv);
        }

        @Override
        public void kvWritten(int layer) {
            calls.add("kvWritten " + layer);
        }

        @Override
        public void attention(int layer, Act out, Act qkv) {
            calls.add("attention " + layer + " " + out + " " + qkv);
        }

        @Override
        public void gateUpSiluMul(Act out, Act in, Named gateUp) {
            calls.add("gateUpSiluMul " + out + " " + in + " " + gateUp);
        }

        @Override
        public int logitRows() {
            return logitRows;
        }

        @Override
        public void logits(Act hidden, Named lmHead) {
            calls.add("logits " + hidden + " " + lmHead);
        }
    }

    private static DecoderWeights<String, String, Named> weights(int layers, boolean qkNorm) {
        final List<DecoderWeights.Layer<String, Named>> built = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            built.add(new DecoderWeights.Layer<>("in" + l, new Named("qkv" + l), new Named("o" + l),
                    qkNorm ? "qn" + l : null, qkNorm ? "kn" + l : null, "post" + l, new Named("gateUp" + l),
                    new Named("down" + l)));
        }
        return new DecoderWeights<>("table", built, "final", new Named("head"));
    }

    private static List<String> layer(int l, boolean qkNorm) {
        final List<String> calls = new ArrayList<>();
        calls.add(l == 0 ? "rmsNorm NORMED RESIDUAL in0" : "addRmsNorm NORMED RESIDUAL X in" + l);
        calls.add("linear QKV NORMED qkv" + l);
        if (qkNorm) {
            calls.add("qkNorm QKV qn" + l + " kn" + l);
        }
        calls.addAll(List.of("ropeAndWriteKv " + l + " QKV", "kvWritten " + l,
                "attention " + l + " ATTENTION QKV", "linear X ATTENTION o" + l,
                "addRmsNorm NORMED RESIDUAL X post" + l, "gateUpSiluMul ACTIVATION NORMED gateUp" + l,
                "linear X ACTIVATION down" + l));
        return calls;
    }

    private static List<String> expected(int layers, boolean qkNorm) {
        final List<String> calls = new ArrayList<>();
        calls.add("embed RESIDUAL table");
        for (int l = 0; l < layers; l++) {
            calls.addAll(layer(l, qkNorm));
        }
        calls.add("addRmsNorm NORMED RESIDUAL X final");
        calls.add("logits NORMED head");
        return calls;
    }

    @Test
    void llamaLayersRunWithoutHeadNorms() {
        final RecordingOps ops = new RecordingOps();
        new DecoderModel<>(weights(3, false)).forward(ops);
        assertEquals(expected(3, false), ops.calls);
    }

    @Test
    void qwen3LayersNormQAndKHeadsBeforeRope() {
        final RecordingOps ops = new RecordingOps();
        new DecoderModel<>(weights(2, true)).forward(ops);
        assertEquals(expected(2, true), ops.calls);
    }

    @Test
    void aStepWithoutLogitRowsStopsAfterTheLastLayer() {
        final RecordingOps ops = new RecordingOps();
        ops.logitRows = 0;
        new DecoderModel<>(weights(2, false)).forward(ops);
        final List<String> expected = expected(2, false);
        assertEquals(expected.subList(0, expected.size() - 2), ops.calls);
    }
}
