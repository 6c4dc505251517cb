package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * A node's door for router commands, stepped one message at a time: commands count only from the session of the latest
 * RouterHello whose proof holds for the session it came on; the same hello sent from another session, one signed with
 * another secret and commands from any other session are refused, counted, and logged once per session and kind;
 * without a secret every command passes.
 */
class RouterSessionGuardTest {
    private static final byte[] SECRET = "a-shared-secret-of-the-deployment".getBytes(StandardCharsets.UTF_8);
    private static final byte[] OTHER = "somebody-else's-secret-entirely".getBytes(StandardCharsets.UTF_8);

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
    private final List<String> log = new ArrayList<>();
    private final RouterSessionGuard door = new RouterSessionGuard(SECRET, log::add);

    /** Encodes a RouterHello for {@code session} signed with {@code secret}; returns its length. */
    private int routerHello(byte[] secret, int session) {
        final RouterHelloEncoder hello = new RouterHelloEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).controlSessionId(session);
        final byte[] proof = new byte[HelloProof.LENGTH];
        new HelloProof(secret).sign(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength(), proof, 0);
        hello.putProof(proof, 0, proof.length);
        return MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
    }

    @Test
    void commandsCountOnlyFromTheSessionTheLatestRouterHelloProved() {
        assertFalse(door.accepts(5, "DecodeAdmit"), "nothing proved yet");
        final int length = routerHello(SECRET, 5);
        assertFalse(door.onRouterHello(buffer, 0, length, 6), "the router's hello sent again from another session");
        assertFalse(door.accepts(6, "DecodeAdmit"));
        assertTrue(door.onRouterHello(buffer, 0, length, 5));
        assertTrue(door.accepts(5, "DecodeAdmit"));
        assertTrue(door.accepts(5, "CancelRequest"));
        assertFalse(door.accepts(6, "CancelRequest"), "a stranger's cancel");
        assertFalse(door.accepts(6, "CancelRequest"), "again: counted, not logged again");
        assertTrue(door.onRouterHello(buffer, 0, routerHello(SECRET, 9), 9), "a restarted router's new publication");
        assertTrue(door.accepts(9, "PrefillRequest"));
        assertFalse(door.accepts(5, "PrefillRequest"), "the earlier router's session speaks no more");
        assertEquals(6, door.refused());
        assertEquals(5, log.size(), "once per session and kind: " + log);
        assertTrue(log.get(1).contains("signed for session 5"), log.toString());
    }

    @Test
    void aRouterHelloUnderAnotherSecretOrCutShortProvesNothing() {
        final int length = routerHello(OTHER, 4);
        assertFalse(door.onRouterHello(buffer, 0, length, 4));
        assertFalse(door.onRouterHello(buffer, 0, length - 1, 4), "a fragment shorter than its message");
        assertFalse(door.accepts(4, "DecodeAdmit"));
        assertTrue(log.get(0).contains("does not match"), log.toString());
    }

    @Test
    void withoutASecretEveryCommandPasses() {
        final RouterSessionGuard open = new RouterSessionGuard(null, log::add);
        assertTrue(open.accepts(1, "DecodeAdmit"));
        assertTrue(open.accepts(2, "PrefillRequest"));
        assertEquals(0, open.refused());
        assertTrue(log.isEmpty());
    }
}
