package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aeron.ExclusivePublication;
import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.router.RouterContext;
import io.splitserve.decode.DecodeNodeContext;
import io.splitserve.sbe.CancelRequestEncoder;
import io.splitserve.sbe.ClientHelloEncoder;
import io.splitserve.sbe.DecodeDoneEncoder;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.GenerateRequestEncoder;
import io.splitserve.sbe.HeartbeatEncoder;
import io.splitserve.sbe.HelloSigner;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.NodeHelloEncoder;
import io.splitserve.sbe.NodeRole;
import io.splitserve.sbe.PromptFormat;
import io.splitserve.sbe.TokenEventEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A system whose router, nodes and client share a secret serves as one without it (greedy output equals
 * {@code generate}), while strangers publishing straight to the router's streams get nothing in: a NodeHello without
 * a proof or with another secret's proof registers no node, a GenerateRequest from a session that never proved the
 * secret runs no request, a correctly signed ClientHello sent a second time (a replay) is refused, and heartbeats,
 * tokens and sequence ends sent for a real node from a stranger's session change nothing (the request they aim at
 * still equals {@code generate}, the node stays alive), nor do cancels a stranger sends into the decode node's control
 * stream (the node takes commands only from the session the router's RouterHello proved). Each refusal at the router
 * is counted in /metrics.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class AuthenticatedServingTest {
    private static final byte[] SECRET = "the-deployment's-shared-secret".getBytes(StandardCharsets.UTF_8);
    private static final byte[] OTHER = "somebody-else's-secret-entirely".getBytes(StandardCharsets.UTF_8);

    Path demo;
    ServingSystem system;
    SplitServeClient client;
    final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));

    @BeforeAll
    void start() throws Exception {
        demo = TestSystems.demoModel();
        system = ServingSystem.start(TestSystems.options("authenticated").sharedSecret(SECRET));
        client = SplitServeClient.connect(new ClientContext().sharedSecret(SECRET), system.aeron());
    }

    @AfterAll
    void stop() {
        if (client != null) {
            client.close();
        }
        if (system != null) {
            system.close();
        }
    }

    private Metrics metrics() throws Exception {
        return Metrics.parse(system.router().metricsText().get());
    }

    private double refused(String what) throws Exception {
        return metrics().value("splitserve_auth_refused_total", "what", what);
    }

    private ExclusivePublication stranger(int streamId) throws Exception {
        final ExclusivePublication publication = system.aeron().addExclusivePublication("aeron:ipc", streamId);
        Await.until("the stranger's stream connected", publication::isConnected);
        return publication;
    }

    private void send(ExclusivePublication publication, int length) throws Exception {
        Await.until("the stranger's message offered", () -> publication.offer(buffer, 0, length) > 0);
    }

    @Test
    void theRightSecretServesEndToEnd() throws Exception {
        final String prompt = "Once upon a time";
        final GenerationResult expected = Reference.generate(demo, prompt, 16);
        final Completion got = client.generate(GenerateOptions.greedy(prompt, 16));
        assertArrayEquals(expected.tokens(), got.tokenIds());
        assertEquals(expected.text(), got.text());
    }

    @Test
    void aNodeHelloWithoutTheSecretRegistersNoNode() throws Exception {
        Await.until("both nodes registered", () -> system.router().health().get()
                .equals(Map.of("prefill", 1, "decode", 1, "colocated", 0)));
        try (ExclusivePublication events = stranger(RouterContext.DEFAULT_NODE_EVENTS_STREAM_ID)) {
            send(events, nodeHello(7, null));
            Await.until("the unsigned hello refused", () -> refused("node_hello") == 1);
            send(events, nodeHello(8, OTHER));
            Await.until("the wrongly signed hello refused", () -> refused("node_hello") == 2);
        }
        assertEquals(Map.of("prefill", 1, "decode", 1, "colocated", 0), system.router().health().get(),
                "no stranger node joined");
    }

    @Test
    void requestsOfASessionThatNeverProvedTheSecretAreNotRun() throws Exception {
        final double acceptedBefore = metrics().value("splitserve_requests_accepted_total");
        final double hellosBefore = refused("client_hello");
        try (ExclusivePublication ingress = stranger(RouterContext.DEFAULT_INGRESS_STREAM_ID)) {
            send(ingress, unsignedClientHello(4242L));
            send(ingress, generate(4242L));
            Await.until("the stranger's request refused", () -> refused("client_request") == 1);
        }
        assertEquals(hellosBefore + 1, refused("client_hello"), "its hello carried no proof");
        assertEquals(acceptedBefore, metrics().value("splitserve_requests_accepted_total"), "no request accepted");
    }

    @Test
    void aReplayedClientHelloIsRefused() throws Exception {
        final double before = refused("client_hello");
        try (ExclusivePublication ingress = stranger(RouterContext.DEFAULT_INGRESS_STREAM_ID)) {
            final int length = signedClientHello(777L);
            send(ingress, length);
            send(ingress, length);
            Await.until("the replay refused", () -> refused("client_hello") == before + 1);
        }
    }

    @Test
    void nodeEventsFromAStrangersSessionAreRefusedAndChangeNothing() throws Exception {
        final String prompt = "The stranger speaks for a node";
        final int maxTokens = 400;
        final GenerationResult expected = Reference.generate(demo, prompt, maxTokens);
        final double before = refused("node_event");
        try (ExclusivePublication events = stranger(RouterContext.DEFAULT_NODE_EVENTS_STREAM_ID);
             TokenStream tokens = client.stream(GenerateOptions.greedy(prompt, maxTokens))) {
            final List<Integer> got = new ArrayList<>();
            got.add(tokens.next().tokenId()); // the request is decoding on node 101 now
            send(events, heartbeat(101));
            for (long attemptId = 1; attemptId <= 16; attemptId++) { // its attempt is among them; it is still running
                send(events, forgedToken(attemptId));
                send(events, forgedEnd(attemptId));
            }
            Await.until("the stranger's heartbeat, token and end refused", () -> refused("node_event") == before + 3);
            while (tokens.hasNext()) {
                final Token token = tokens.next();
                got.add(token.tokenId());
            }
            assertArrayEquals(expected.tokens(), got.stream().mapToInt(Integer::intValue).toArray(),
                    "no forged token or end reached the client");
            assertEquals(before + 3, refused("node_event"), "only the heartbeat, and the token and end of the running"
                    + " attempt (events of attempts not running are ignored, as any late event is)");
        }
        assertEquals(Map.of("prefill", 1, "decode", 1, "colocated", 0), system.router().health().get());
    }

    @Test
    void cancelsFromAStrangersSessionOnANodesControlStreamChangeNothing() throws Exception {
        final String prompt = "The stranger cancels";
        final int maxTokens = 400;
        final GenerationResult expected = Reference.generate(demo, prompt, maxTokens);
        try (ExclusivePublication control = stranger(DecodeNodeContext.CONTROL_STREAM_BASE + 101);
             TokenStream tokens = client.stream(GenerateOptions.greedy(prompt, maxTokens))) {
            final List<Integer> got = new ArrayList<>();
            got.add(tokens.next().tokenId()); // the request is decoding on node 101 now
            for (long attemptId = 1; attemptId <= 16; attemptId++) { // taken, one would stop its sequence for good
                send(control, cancel(attemptId));
            }
            while (tokens.hasNext()) {
                got.add(tokens.next().tokenId());
            }
            assertArrayEquals(expected.tokens(), got.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    private int cancel(long attemptId) {
        final CancelRequestEncoder cancel = new CancelRequestEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).requestId(attemptId).clientId(0L);
        return MessageHeaderEncoder.ENCODED_LENGTH + cancel.encodedLength();
    }

    private int heartbeat(int nodeId) {
        final HeartbeatEncoder heartbeat = new HeartbeatEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).nodeId(nodeId).timestampNanos(0L).freeKvPages(0).queuedTokens(0L)
                .runningSequences(0).stepNanosP50(0L).cachedPages(0).prefixLookupTokens(0L).prefixHitTokens(0L)
                .prefixEvictions(0L).prefixResends(0L).kvRefused(0L);
        return MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength();
    }

    /** A token of the attempt at index 1, of the stranger's choosing. */
    private int forgedToken(long attemptId) {
        final TokenEventEncoder token = new TokenEventEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).requestId(attemptId).index(1).tokenId(3).finishReason(FinishReason.STOP)
                .timestampNanos(0L).logprob(Float.NaN).clientId(0L).promptTokens(0).text("");
        return MessageHeaderEncoder.ENCODED_LENGTH + token.encodedLength();
    }

    /** An end of the attempt's sequence with a reason the router does not know: taken, it fails the request. */
    private int forgedEnd(long attemptId) {
        final DecodeDoneEncoder done = new DecodeDoneEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
                .requestId(attemptId).nodeId(101).generatedTokens(1).finishReason(FinishReason.NULL_VAL);
        return MessageHeaderEncoder.ENCODED_LENGTH + done.encodedLength();
    }

    private int nodeHello(int nodeId, byte[] secret) {
        final HelloSigner signer = new HelloSigner(secret);
        final NodeHelloEncoder hello = new NodeHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
                .nodeId(nodeId).role(NodeRole.PREFILL).modelFingerprint(0L).totalKvPages(64).pageSize(16)
                .maxBatchTokens(256).controlStreamId(10_000 + nodeId).kvStreamId(0).kvAckStreamId(0)
                .proofTimestampNanos(signer.timestampNanos()).proofNonce(signer.nonce())
                .modelName(system.router().modelName()).controlChannel("aeron:ipc").kvChannel("").kvAckChannel("")
                .putKvEndpoint(new byte[0], 0, 0);
        final byte[] proof = signer.proofOf(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
        hello.putProof(proof, 0, proof.length);
        return MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
    }

    private int unsignedClientHello(long clientId) {
        final ClientHelloEncoder hello = new ClientHelloEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).clientId(clientId).proofTimestampNanos(0L).proofNonce(0L)
                .putProof(new byte[0], 0, 0);
        return MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
    }

    private int signedClientHello(long clientId) {
        final HelloSigner signer = new HelloSigner(SECRET);
        final ClientHelloEncoder hello = new ClientHelloEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).clientId(clientId).proofTimestampNanos(signer.timestampNanos())
                .proofNonce(signer.nonce());
        final byte[] proof = signer.proofOf(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
        hello.putProof(proof, 0, proof.length);
        return MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
    }

    private int generate(long clientId) {
        final GenerateRequestEncoder request = new GenerateRequestEncoder().wrapAndApplyHeader(buffer, 0,
                new MessageHeaderEncoder()).requestId(1L).maxNewTokens(4).temperature(0f).topP(1f).topK(0).seed(0L)
                .promptFormat(PromptFormat.TEXT).priority((byte) 0).clientId(clientId).ignoreEos((short) 0);
        request.stopStringsCount(0);
        request.model("").prompt("Hello there");
        return MessageHeaderEncoder.ENCODED_LENGTH + request.encodedLength();
    }
}
