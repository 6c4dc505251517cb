package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.sbe.HelloProof;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.NodeHelloDecoder;
import io.splitserve.sbe.NodeHelloEncoder;
import io.splitserve.sbe.NodeRole;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * The router's door, stepped one hello at a time with a wall clock the test sets: a hello signed with the shared
 * secret passes once; the same bytes again (a replay), a proof made outside the window, no proof or another secret's
 * proof are refused, counted, and logged once per session; a client's requests count only from the session that
 * proved its id, and a node's heartbeats and events only from the sessions its proved hello named; without a secret
 * everything passes.
 */
class PeerAuthenticatorTest {
    private static final byte[] SECRET = "a-shared-secret-of-the-deployment".getBytes(StandardCharsets.UTF_8);
    private static final long NOW = 1_700_000_000_000_000_000L;

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
    private final List<String> log = new ArrayList<>();
    private final PeerAuthenticator door = new PeerAuthenticator(SECRET, log::add);

    /** Encodes a NodeHello signed with {@code secret} (none: an empty proof). */
    private void hello(byte[] secret, long timestamp, long nonce) {
        final NodeHelloEncoder hello = new NodeHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
                .nodeId(101).role(NodeRole.DECODE).modelFingerprint(1L).totalKvPages(8).pageSize(16)
                .maxBatchTokens(4).controlStreamId(1).kvStreamId(2).kvAckStreamId(3)
                .proofTimestampNanos(timestamp).proofNonce(nonce)
                .modelName("demo").controlChannel("aeron:ipc").kvChannel("aeron:ipc").kvAckChannel("aeron:ipc")
                .putKvEndpoint(new byte[0], 0, 0);
        final byte[] proof = new byte[secret == null ? 0 : HelloProof.LENGTH];
        if (secret != null) {
            new HelloProof(secret).sign(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength(), proof, 0);
        }
        hello.putProof(proof, 0, proof.length);
    }

    /** Offers the hello in the buffer to {@code authenticator} as the router's adapter does. */
    private static boolean offer(PeerAuthenticator authenticator, UnsafeBuffer buffer, int session, long now) {
        final NodeHelloDecoder hello = new NodeHelloDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        final long timestamp = hello.proofTimestampNanos();
        final long nonce = hello.proofNonce();
        hello.skipModelName();
        hello.skipControlChannel();
        hello.skipKvChannel();
        hello.skipKvAckChannel();
        hello.skipKvEndpoint();
        return authenticator.acceptHello(PeerAuthenticator.Refused.NODE_HELLO, session, "hello", buffer, 0,
                hello.limit(), timestamp, nonce, hello.proofLength(), into -> hello.getProof(into, 0, into.length), now);
    }

    @Test
    void aSignedHelloPassesOnceAndItsReplayIsRefused() {
        hello(SECRET, NOW, 11L);
        assertTrue(offer(door, buffer, 7, NOW));
        assertFalse(offer(door, buffer, 8, NOW + 1_000_000_000L), "the same hello again, from another session");
        assertEquals(1, door.refused(PeerAuthenticator.Refused.NODE_HELLO));
        assertTrue(log.get(0).contains("replay"), log.toString());
        hello(SECRET, NOW + 2_000_000_000L, 12L);
        assertTrue(offer(door, buffer, 7, NOW + 2_000_000_000L), "the next hello has a fresh nonce");
    }

    @Test
    void helloesWithoutTheSecretAreRefusedAndLoggedOncePerSession() {
        hello(null, NOW, 1L);
        assertFalse(offer(door, buffer, 5, NOW));
        assertFalse(offer(door, buffer, 5, NOW));
        hello("another-secret-entirely-123".getBytes(StandardCharsets.UTF_8), NOW, 2L);
        assertFalse(offer(door, buffer, 5, NOW));
        assertEquals(3, door.refused(PeerAuthenticator.Refused.NODE_HELLO));
        assertEquals(1, log.size(), "once for session 5: " + log);
        assertTrue(log.get(0).contains("no proof"), log.toString());
        assertFalse(offer(door, buffer, 6, NOW));
        assertEquals(2, log.size(), "and once for session 6");
        assertTrue(log.get(1).contains("does not match"), log.toString());
    }

    @Test
    void aProofOutsideTheWindowIsRefusedEvenWhenNeverSeen() {
        hello(SECRET, NOW - PeerAuthenticator.WINDOW_NS - 1, 21L);
        assertFalse(offer(door, buffer, 1, NOW));
        hello(SECRET, NOW + PeerAuthenticator.WINDOW_NS + 1, 22L);
        assertFalse(offer(door, buffer, 2, NOW));
        hello(SECRET, NOW - PeerAuthenticator.WINDOW_NS, 23L);
        assertTrue(offer(door, buffer, 3, NOW), "the window's edge still passes");
        assertTrue(log.get(0).contains("outside"), log.toString());
    }

    @Test
    void aNonceIsRememberedForTheWholeWindow() {
        hello(SECRET, NOW, 31L);
        assertTrue(offer(door, buffer, 1, NOW));
        hello(SECRET, NOW + 1, 32L); // accepting later hellos purges only what the window no longer admits
        assertTrue(offer(door, buffer, 1, NOW + PeerAuthenticator.WINDOW_NS));
        hello(SECRET, NOW, 31L);
        assertFalse(offer(door, buffer, 2, NOW + PeerAuthenticator.WINDOW_NS), "still within the window: a replay");
    }

    @Test
    void clientMessagesCountOnlyFromTheSessionThatProvedTheirClient() {
        assertFalse(door.acceptClientMessage(9, 1234L), "no hello on session 9");
        door.clientProved(9, 1234L);
        assertTrue(door.acceptClientMessage(9, 1234L));
        assertFalse(door.acceptClientMessage(9, 99L), "session 9 proved another client");
        assertFalse(door.acceptClientMessage(10, 1234L), "another session claiming client 1234");
        door.sessionClosed(9);
        assertFalse(door.acceptClientMessage(9, 1234L), "a closed session proves nothing");
        assertEquals(4, door.refused(PeerAuthenticator.Refused.CLIENT_REQUEST));
        assertEquals(2, log.size(), "once per session: " + log);
    }

    @Test
    void nodeMessagesCountOnlyFromTheSessionsItsProvedHelloNamed() {
        assertFalse(door.acceptNodeMessage(7, "Heartbeat", 101), "no hello bound session 7 yet");
        door.nodeProved(7, 8, 101);
        assertTrue(door.acceptNodeMessage(7, "TokenEvent", 101), "the hello's own session");
        assertTrue(door.acceptNodeMessage(8, "Heartbeat", 101), "the heartbeat session the hello named");
        assertFalse(door.acceptNodeMessage(9, "Heartbeat", 101), "a stranger's session claiming node 101");
        assertFalse(door.acceptNodeMessage(9, "Heartbeat", 101), "again: counted, not logged again");
        assertFalse(door.acceptNodeMessage(9, "DecodeDone", 101), "another kind from the same stranger");
        assertFalse(door.acceptNodeMessage(7, "PrefillDone", 102), "session 7 speaks for node 101 alone");
        door.nodeSessionClosed(8);
        assertFalse(door.acceptNodeMessage(8, "Heartbeat", 101), "a closed session speaks for nobody");
        assertTrue(door.acceptNodeMessage(7, "Heartbeat", 101), "the other session still does");
        assertEquals(6, door.refused(PeerAuthenticator.Refused.NODE_EVENT));
        assertEquals(0, door.refused(PeerAuthenticator.Refused.NODE_HELLO));
        assertEquals(5, log.size(), "once per session and kind: " + log);
        assertTrue(log.get(1).contains("never proved"), log.toString());
        assertTrue(log.get(3).contains("proved node 101, not this one"), log.toString());
    }

    @Test
    void aHelloNamingNoHeartbeatSessionBindsItsOwnAlone() {
        door.nodeProved(3, PeerAuthenticator.NO_SESSION, 5);
        assertTrue(door.acceptNodeMessage(3, "Heartbeat", 5));
        assertFalse(door.acceptNodeMessage(PeerAuthenticator.NO_SESSION, "Heartbeat", 5));
        door.nodeProved(3, 4, 6); // the session now speaks for a node that said hello on it since
        assertFalse(door.acceptNodeMessage(3, "Heartbeat", 5));
        assertTrue(door.acceptNodeMessage(4, "Heartbeat", 6));
    }

    @Test
    void withoutASecretEverythingPasses() {
        final PeerAuthenticator open = new PeerAuthenticator(null, log::add);
        hello(null, 0L, 0L);
        assertTrue(offer(open, buffer, 1, NOW));
        assertTrue(offer(open, buffer, 1, NOW));
        assertTrue(open.acceptClientMessage(3, 4L));
        assertTrue(open.acceptNodeMessage(3, "Heartbeat", 101), "node events by node id, from any session");
        assertTrue(log.isEmpty());
    }
}
