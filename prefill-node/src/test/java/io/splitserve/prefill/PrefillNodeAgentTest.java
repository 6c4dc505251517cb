package io.splitserve.prefill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.HostKvPageStore;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.FirstTokenDecoder;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferEndDecoder;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.PrefillDoneDecoder;
import io.splitserve.sbe.PrefillRequestEncoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A prefill node over IPC with the test playing the router: against a real KV receiver, the KV that arrives in the
 * receiver's pages is exactly the engine's K and V for the prompt, layer by layer, and PrefillDone reports the greedy
 * first token with status OK; against a receiver that never acks, every prompt of a batch has its FirstToken on the
 * router's stream ahead of all PrefillDones, though no transfer was acknowledged.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang fails, it does not spin on
class PrefillNodeAgentTest {
    @Test
    void streamsThePromptsKvAndReportsTheFirstToken() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        final int[] prompt = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        final List<float[]> expectedK = new ArrayList<>();
        final int expectedFirst;
        try (Engine reference = Engine.load(demo, new EngineOptions())) {
            expectedFirst = reference.prefill(List.of(prompt), List.of(SamplingParams.greedy()),
                    (p, layer, k, keyOffset, v, valueOffset, tokens) -> {
                        final float[] row = new float[tokens * reference.config().kvDim()];
                        for (int i = 0; i < row.length; i++) {
                            row[i] = k.getFloat(keyOffset + i * Float.BYTES);
                        }
                        expectedK.add(row);
                    })[0];
        }
        final String dir = Path.of("target", "aeron", "prefill-" + System.nanoTime()).toAbsolutePath().toString();
        final MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(16 * 1024 * 1024));
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));
        PrefillNodeAgent agent = null;
        KvReceiver receiver = null;
        try {
            agent = new PrefillNodeAgent(new PrefillNodeContext().aeron(aeron).modelDir(demo).kvChunkBytes(1000));
            final ModelConfig config = ModelConfig.load(demo);
            final KvGeometry geometry = new KvGeometry(config.numLayers(), config.numKvHeads(), config.headDim(),
                    KvDtype.F32);
            final HostKvPageStore store = HostKvPageStore.allocate(geometry, 8, 5);
            final KvReservation[] admitted = new KvReservation[1];
            receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).channel("aeron:ipc").streamId(30101)
                    .ackChannel("aeron:ipc").ackStreamId(40101).modelFingerprint(ModelFingerprint.of(demo))
                    .pageStore(store).receiveListener(new KvReceiveListener() {
                        @Override
                        public void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken) {
                            admitted[0] = reservation;
                        }

                        @Override
                        public void onTransferFailed(long requestId, KvTransferStatus status) {
                            throw new AssertionError("transfer failed: " + status);
                        }
                    }));
            final Subscription routerEvents = aeron.addSubscription("aeron:ipc", PrefillNodeContext.DEFAULT_ROUTER_STREAM_ID);
            final ExclusivePublication toNode = aeron.addExclusivePublication("aeron:ipc", 10001);
            final int[] done = {Integer.MIN_VALUE, -1};
            final FragmentAssembler router = new FragmentAssembler((buffer, offset, length, header) -> {
                final MessageHeaderDecoder h = new MessageHeaderDecoder().wrap(buffer, offset);
                if (h.templateId() == PrefillDoneDecoder.TEMPLATE_ID) {
                    final PrefillDoneDecoder d = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, offset, h);
                    done[0] = d.firstToken();
                    done[1] = d.kvStatus().value();
                }
            });
            final UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
            final UnsafeBuffer tokens = new UnsafeBuffer(ByteBuffer.allocateDirect(prompt.length * 4));
            for (int i = 0; i < prompt.length; i++) {
                tokens.putInt(i * 4, prompt[i], ByteOrder.LITTLE_ENDIAN);
            }
            final PrefillRequestEncoder request = new PrefillRequestEncoder().wrapAndApplyHeader(out, 0,
                    new MessageHeaderEncoder()).requestId(7).decodeNodeId(101).maxNewTokens(4).temperature(0f).topP(1f)
                    .topK(0).seed(0).decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(0)
                    .decodeKvChannel("aeron:ipc").putPromptTokens(tokens, 0, prompt.length * 4)
                    .decodeKvAckChannel("aeron:ipc");
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (toNode.offer(out, 0, MessageHeaderEncoder.ENCODED_LENGTH + request.encodedLength()) < 0) {
                agent.doWork();
                assertTrue(System.nanoTime() < deadline, "the node's control stream did not connect");
            }
            while ((done[0] == Integer.MIN_VALUE || admitted[0] == null) && System.nanoTime() < deadline) {
                agent.doWork();
                receiver.doWork();
                routerEvents.poll(router, 10);
            }
            assertEquals(expectedFirst, done[0], "PrefillDone carries the greedy first token");
            assertEquals(KvTransferStatus.OK.value(), done[1]);
            final UnsafeBuffer part = new UnsafeBuffer(ByteBuffer.allocateDirect((int) geometry.partBytes(prompt.length)));
            for (int layer = 0; layer < geometry.layers(); layer++) {
                store.read(admitted[0], layer, KvPart.K, 0, part, 0, part.capacity());
                final float[] k = expectedK.get(layer);
                for (int i = 0; i < k.length; i++) {
                    assertEquals(k[i], part.getFloat(i * 4, ByteOrder.LITTLE_ENDIAN), "layer " + layer + " K " + i);
                }
            }
        } finally {
            if (agent != null) {
                agent.onClose();
            }
            CloseHelper.closeAll(receiver, aeron, driver);
        }
    }

    @Test
    void firstTokenOfEveryPromptOfABatchPrecedesEveryPrefillDoneWhileNoTransferIsAcknowledged() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        final int[][] prompts = {{5, 6, 7, 8, 9, 10, 11}, {21, 22, 23, 24, 25}};
        final int[] expectedFirst;
        try (Engine reference = Engine.load(demo, new EngineOptions())) {
            expectedFirst = reference.prefill(List.of(prompts[0], prompts[1]),
                    List.of(SamplingParams.greedy(), SamplingParams.greedy()),
                    (p, layer, k, keyOffset, v, valueOffset, tokens) -> { });
        }
        final String dir = Path.of("target", "aeron", "prefill-" + System.nanoTime()).toAbsolutePath().toString();
        final MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(16 * 1024 * 1024));
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));
        PrefillNodeAgent agent = null;
        try {
            agent = new PrefillNodeAgent(new PrefillNodeContext().aeron(aeron).modelDir(demo)
                    .kvLeaseTimeoutNs(TimeUnit.MINUTES.toNanos(10))); // the withheld acks never time out here
            // the decode node's side: it takes the KV stream in and holds its ack stream open, but never acks
            final Subscription kvIn = aeron.addSubscription("aeron:ipc", 30102);
            final ExclusivePublication acks = aeron.addExclusivePublication("aeron:ipc", 40102);
            final List<Long> kvEnds = new ArrayList<>();
            final FragmentAssembler kv = new FragmentAssembler((buffer, offset, length, header) -> {
                final MessageHeaderDecoder h = new MessageHeaderDecoder().wrap(buffer, offset);
                if (h.templateId() == KvTransferEndDecoder.TEMPLATE_ID) {
                    kvEnds.add(new KvTransferEndDecoder().wrapAndApplyHeader(buffer, offset, h).requestId());
                }
            });
            final Subscription routerEvents = aeron.addSubscription("aeron:ipc",
                    PrefillNodeContext.DEFAULT_ROUTER_STREAM_ID);
            final List<String> events = new ArrayList<>();
            final FragmentAssembler router = new FragmentAssembler((buffer, offset, length, header) -> {
                final MessageHeaderDecoder h = new MessageHeaderDecoder().wrap(buffer, offset);
                if (h.templateId() == FirstTokenDecoder.TEMPLATE_ID) {
                    final FirstTokenDecoder d = new FirstTokenDecoder().wrapAndApplyHeader(buffer, offset, h);
                    events.add("first " + d.requestId() + " token " + d.tokenId() + " of " + d.promptTokens());
                    assertTrue(d.timestampNanos() > 0, "sampled at an epoch time");
                } else if (h.templateId() == PrefillDoneDecoder.TEMPLATE_ID) {
                    final PrefillDoneDecoder d = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, offset, h);
                    events.add("done " + d.requestId() + " token " + d.firstToken() + " " + d.kvStatus() + " "
                            + d.kvPath());
                }
            });
            final ExclusivePublication toNode = aeron.addExclusivePublication("aeron:ipc", 10001);
            while (!toNode.isConnected()) {
                Thread.onSpinWait();
            }
            for (int i = 0; i < prompts.length; i++) { // both arrive before the node's next duty cycle
                offerPrefillRequest(toNode, 7 + i, prompts[i], 30102, 40102, new byte[] {1, 2, 3});
            }
            while (events.stream().filter(e -> e.startsWith("done")).count() < prompts.length) {
                agent.doWork();
                kvIn.poll(kv, 10);
                routerEvents.poll(router, 10);
            }
            assertEquals(List.of(
                    "first 7 token " + expectedFirst[0] + " of " + prompts[0].length,
                    "first 8 token " + expectedFirst[1] + " of " + prompts[1].length,
                    "done 7 token " + expectedFirst[0] + " OK HOST",
                    "done 8 token " + expectedFirst[1] + " OK HOST"), events);
            while (kvEnds.size() < prompts.length) {
                kvIn.poll(kv, 10);
            }
            assertEquals(List.of(7L, 8L), kvEnds, "both transfers were sent in full and neither acknowledged");
        } finally {
            if (agent != null) {
                agent.onClose();
            }
            CloseHelper.closeAll(aeron, driver);
        }
    }

    private static void offerPrefillRequest(ExclusivePublication toNode, long requestId, int[] prompt, int kvStreamId,
                                            int kvAckStreamId, byte[] decodeKvEndpoint) {
        final UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
        final UnsafeBuffer tokens = new UnsafeBuffer(ByteBuffer.allocateDirect(prompt.length * 4));
        for (int i = 0; i < prompt.length; i++) {
            tokens.putInt(i * 4, prompt[i], ByteOrder.LITTLE_ENDIAN);
        }
        final PrefillRequestEncoder request = new PrefillRequestEncoder().wrapAndApplyHeader(out, 0,
                new MessageHeaderEncoder()).requestId(requestId).decodeNodeId(102).maxNewTokens(4).temperature(0f)
                .topP(1f).topK(0).seed(0).decodeKvStreamId(kvStreamId).decodeKvAckStreamId(kvAckStreamId)
                .sampledTokens(0).decodeKvChannel("aeron:ipc").putPromptTokens(tokens, 0, prompt.length * 4)
                .decodeKvAckChannel("aeron:ipc").putDecodeKvEndpoint(decodeKvEndpoint, 0, decodeKvEndpoint.length);
        while (toNode.offer(out, 0, MessageHeaderEncoder.ENCODED_LENGTH + request.encodedLength()) < 0) {
            Thread.onSpinWait();
        }
    }
}
