package io.splitserve.router;

import java.security.SecureRandom;

/**
 * Draws each attempt's KV token: 64 random bits from a {@link SecureRandom}, never 0 (which nodes read as "no token")
 * and never {@link Long#MIN_VALUE} (the wire's null value for it). The router sends the token to the attempt's prefill
 * node and decode node alone, so a decode node that takes KV only with it takes only what this router placed there.
 * Router-thread only.
 */
final class AttemptTokens {
    private final SecureRandom random = new SecureRandom();

    long next() {
        long token;
        do {
            token = random.nextLong();
        } while (token == 0 || token == Long.MIN_VALUE);
        return token;
    }
}
