package io.splitserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The parameters' defaults, builders and refusals: each bad value gets an IllegalArgumentException naming it. */
class SamplingParamsTest {

    @Test
    void theFiveArgumentFormTurnsEveryAdditionOff() {
        final SamplingParams p = new SamplingParams(0.7, 40, 0.9, 0.05, 7);
        assertEquals(1, p.repetitionPenalty());
        assertEquals(0, p.frequencyPenalty());
        assertEquals(0, p.presencePenalty());
        assertEquals(LogitBias.NONE, p.logitBias());
        assertEquals(0, p.logprobs());
        assertFalse(p.hasPenalties());
        assertFalse(p.processesLogits());
        assertEquals(SamplingParams.greedy(), new SamplingParams(0, 0, 1, 0, 0));
    }

    @Test
    void buildersChangeOnlyTheirComponents() {
        final SamplingParams base = new SamplingParams(0.7, 40, 0.9, 0.05, 7);
        final SamplingParams p = base.withPenalties(1.3, 0.5, -0.25).withLogitBias(LogitBias.of(Map.of(5, 2.5)))
                .withLogprobs(3);
        assertEquals(new SamplingParams(0.7, 40, 0.9, 0.05, 7, 1.3, 0.5, -0.25, LogitBias.of(Map.of(5, 2.5)), 3), p);
        assertTrue(p.hasPenalties());
        assertTrue(base.withPenalties(1, 0, 0.1).hasPenalties());
        assertFalse(base.withPenalties(1, 0, 0).hasPenalties());
        assertTrue(base.withLogitBias(LogitBias.of(Map.of(1, -1))).processesLogits());
        assertFalse(base.withLogprobs(20).processesLogits());
    }

    @Test
    void logitBiasIsSortedAndHeldAsFloats() {
        final Map<Integer, Double> map = new HashMap<>();
        map.put(90, -100.0);
        map.put(3, 0.1);
        map.put(17, 100.0);
        final LogitBias bias = LogitBias.of(map);
        assertEquals(3, bias.size());
        assertEquals(3, bias.token(0));
        assertEquals(17, bias.token(1));
        assertEquals(90, bias.token(2));
        assertEquals(0.1f, bias.bias(0));
        assertEquals(-100f, bias.bias(2));
        assertEquals(90, bias.maxToken());
        assertEquals(LogitBias.NONE, LogitBias.of(Map.of()));
    }

    @Test
    void badValuesAreRefusedNamingThem() {
        final SamplingParams base = SamplingParams.greedy();
        refused("repetition penalty", () -> base.withPenalties(0, 0, 0));          // 0 divides by zero
        refused("repetition penalty", () -> base.withPenalties(-1.2, 0, 0));       // negative flips signs
        refused("repetition penalty", () -> base.withPenalties(Double.NaN, 0, 0)); // NaN
        refused("repetition penalty", () -> base.withPenalties(Double.POSITIVE_INFINITY, 0, 0));
        refused("frequency penalty", () -> base.withPenalties(1, 2.01, 0));       // above 2
        refused("frequency penalty", () -> base.withPenalties(1, Double.NaN, 0));
        refused("presence penalty", () -> base.withPenalties(1, 0, -2.5));        // below -2
        refused("logprobs", () -> base.withLogprobs(21));                         // above 20
        refused("logprobs", () -> base.withLogprobs(-1));
        refused("must be in [-100, 100]", () -> LogitBias.of(Map.of(4, 100.5)));   // bias too large
        refused("must be in [-100, 100]", () -> LogitBias.of(Map.of(4, Double.NaN)));
        refused("token id must be >= 0", () -> LogitBias.of(Map.of(-1, 1.0)));    // negative id
        final SamplingParams biased = base.withLogitBias(LogitBias.of(Map.of(3, 1.0, 99, 1.0)));
        biased.checkVocabulary(100);
        refused("logit bias token id 99 is outside the vocabulary of 99", () -> biased.checkVocabulary(99));
    }

    private static void refused(String expected, Executable call) {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
