package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

/**
 * How closely served bf16 greedy output must follow an independent single CUDA engine on the same prompts, and the
 * check itself. Every request given to {@link #compare} is compared; {@link #assertAgreement} then requires all of
 * them to have been.
 *
 * <p>Why these thresholds: the prefill node computes the prompt's KV exactly as the single engine does and streams it
 * as bf16 without conversion, so the decode node starts from the same KV and runs the same kernels. Its steps may
 * still sum in another order (a decode graph padded to its batch and context bucket against the reference's own
 * steps), which moves a logit by about one bf16 ulp; greedy decoding of the random-weight demo model then changes its
 * argmax only at a near-tie, and after such a divergence the two continuations are unrelated, so counting identical
 * tokens past it means nothing. Hence: every request agrees exactly on its first {@link #MIN_EXACT_PREFIX} tokens
 * (a broken KV stream, a wrong position or a stale page changes the very first decode step, so this catches them),
 * and at least {@link #MIN_IDENTICAL_SHARE} of the requests agree on every token (one near-tie among the requests is
 * allowed, a systematic drift is not).
 */
final class GreedyAgreement {
    static final int MIN_EXACT_PREFIX = 8;
    static final double MIN_IDENTICAL_SHARE = 0.75;

    private final StringBuilder report = new StringBuilder();
    private int compared;
    private int identical;

    /** Compares one request's served tokens with the reference's; a too short common prefix fails at once. */
    void compare(String prompt, int[] reference, int[] served) {
        compared++;
        int same = 0;
        while (same < Math.min(reference.length, served.length) && reference[same] == served[same]) {
            same++;
        }
        final boolean whole = Arrays.equals(reference, served);
        if (whole) {
            identical++;
        }
        report.append(String.format("  '%s': %d of %d tokens equal before the first difference%s%n", prompt, same,
                reference.length, whole ? " (identical)" : ""));
        assertTrue(served.length > 0, "'" + prompt + "': tokens came back");
        assertEquals(reference[0], served[0], "'" + prompt + "': the prefill node's first token");
        assertTrue(same >= Math.min(MIN_EXACT_PREFIX, reference.length), "'" + prompt + "': served "
                + Arrays.toString(served) + " leaves the reference " + Arrays.toString(reference) + " after " + same
                + " tokens (at least " + MIN_EXACT_PREFIX + " must agree)");
    }

    /** Every one of {@code requests} was compared and enough of them agree on every token. */
    void assertAgreement(int requests) {
        System.out.print("served vs one CUDA engine:\n" + report);
        assertEquals(requests, compared, "every request is compared");
        assertTrue(identical >= Math.ceil(MIN_IDENTICAL_SHARE * requests), identical + " of " + requests
                + " requests identical to the reference, fewer than " + MIN_IDENTICAL_SHARE + ":\n" + report);
    }
}
