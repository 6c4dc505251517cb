package io.splitserve.sbe;

import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;
import org.agrona.DirectBuffer;

/**
 * The proof a hello (NodeHello, ClientHello) carries that its sender holds the deployment's shared secret:
 * HMAC-SHA256 under the secret of every encoded byte of the message before its {@code proof} field, which is the
 * message's last field, so the MAC covers the header (schema, template, version), the identity and channels, the
 * proof's timestamp and its nonce. Changing any of them, or signing with another secret, fails {@link #verify}; a
 * replayed hello verifies, which is why the router also refuses a nonce seen twice and a timestamp out of its window.
 *
 * <p>A secret shorter than {@link #MIN_SECRET_BYTES} is refused. One instance per thread (a {@link Mac} is stateful);
 * signing and verifying allocate nothing after construction.
 */
public final class HelloProof {
    /** Bytes of a proof (HMAC-SHA256). */
    public static final int LENGTH = 32;
    /** The shortest secret accepted: 128 bits. */
    public static final int MIN_SECRET_BYTES = 16;
    private static final String ALGORITHM = "HmacSHA256";

    private final Mac mac;
    private final byte[] scratch = new byte[4096];
    private final byte[] expected = new byte[LENGTH];

    /**
     * @throws IllegalArgumentException when {@code secret} is shorter than {@link #MIN_SECRET_BYTES}.
     */
    public HelloProof(byte[] secret) {
        if (secret == null || secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("a shared secret must hold at least " + MIN_SECRET_BYTES + " bytes, got "
                    + (secret == null ? 0 : secret.length));
        }
        try {
            mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(secret, ALGORITHM));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("this JVM cannot compute " + ALGORITHM, e);
        }
    }

    /** Writes the proof of {@code buffer[offset, offset + length)} into {@code out[outOffset, outOffset + LENGTH)}. */
    public void sign(DirectBuffer buffer, int offset, int length, byte[] out, int outOffset) {
        update(buffer, offset, length);
        try {
            mac.doFinal(out, outOffset);
        } catch (ShortBufferException e) {
            throw new IllegalArgumentException("a proof needs " + LENGTH + " bytes at " + outOffset, e);
        }
    }

    /**
     * Whether {@code proof[0, proofLength)} is the proof of {@code buffer[offset, offset + length)}; compared in time
     * independent of where the bytes differ.
     */
    public boolean verify(DirectBuffer buffer, int offset, int length, byte[] proof, int proofLength) {
        if (proofLength != LENGTH) {
            return false;
        }
        sign(buffer, offset, length, expected, 0);
        return MessageDigest.isEqual(expected, proof);
    }

    private void update(DirectBuffer buffer, int offset, int length) {
        int done = 0;
        while (done < length) {
            final int n = Math.min(scratch.length, length - done);
            buffer.getBytes(offset + done, scratch, 0, n);
            mac.update(scratch, 0, n);
            done += n;
        }
    }
}
