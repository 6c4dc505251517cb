package io.splitserve.sbe;

import java.security.SecureRandom;
import org.agrona.DirectBuffer;

/**
 * The sending side of a hello's proof (nodes and Aeron clients): a fresh random nonce and the wall-clock time for each
 * hello, and its {@link HelloProof} once the bytes before the proof field are encoded. Without a secret the proof is
 * empty, which a router without a secret accepts and a router with one refuses. One instance per sending thread.
 */
public final class HelloSigner {
    private static final byte[] NO_PROOF = new byte[0];

    private final HelloProof proof;
    private final SecureRandom random = new SecureRandom();
    private final byte[] proofBytes = new byte[HelloProof.LENGTH];

    /** {@code secret} null: hellos carry no proof. */
    public HelloSigner(byte[] secret) {
        this.proof = secret == null ? null : new HelloProof(secret);
    }

    /** A nonce for the next hello: random, so a router that saw it before is looking at a replay. */
    public long nonce() {
        return random.nextLong();
    }

    /** The proof's timestamp: epoch nanoseconds now. */
    public long timestampNanos() {
        final java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /**
     * The proof of {@code buffer[offset, offset + length)} (every byte before the proof field), in an array reused by
     * the next call; empty without a secret.
     */
    public byte[] proofOf(DirectBuffer buffer, int offset, int length) {
        if (proof == null) {
            return NO_PROOF;
        }
        proof.sign(buffer, offset, length, proofBytes, 0);
        return proofBytes;
    }
}
