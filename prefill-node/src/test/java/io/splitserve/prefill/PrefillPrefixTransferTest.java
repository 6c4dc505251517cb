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
import io.splitserve.kvtransfer.HostKvPageStore;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvPageStore;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.SamplingParams;
import io.splitserve.sbe.FirstTokenDecoder;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
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
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A prefill node told that its decode node holds a prompt's leading pages, over IPC with the test playing the router
 * and the decode node's receiver: it takes those pages from its own cache (filled by an earlier request of the same
 * prompt) and sends only the rows after them, which equal the engine's K for those positions; PrefillDone counts only
 * those bytes. When the decode node does not hold them after all (REJECTED_PREFIX_MISSING), the node prefills the prompt
 * again and sends it whole, and the router still hears exactly one FirstToken and one successful PrefillDone.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PrefillPrefixTransferTest {
    private static final int PAGE = 16;
    private static final int[] PROMPT = new int[40];

    static {
        for (int i = 0; i < PROMPT.length; i++) {
            PROMPT[i] = 5 + i;
        }
    }

    /** A decode node's store whose cache holds every prefix it is asked for: it reserves only the rows after it. */
    private static final class CachingStore implements KvPageStore {
        private final HostKvPageStore rows;

        CachingStore(HostKvPageStore rows) {
            this.rows = rows;
        }

        @Override
        public KvGeometry geometry() {
            return rows.geometry();
        }

        @Override
        public KvReservation reserve(int tokens) {
            return rows.reserve(tokens);
        }

        @Override
        public boolean holdsPrefix(int[] tokenIds, int cachedTokens) {
            return true;
        }

        @Override
        public KvReservation reserve(int tokens, int[] tokenIds, int cachedTokens) {
            return rows.reserve(tokens - cachedTokens);
        }

        @Override
        public void write(KvReservation r, int layer, KvPart part, long offset, DirectBuffer src, int index, int length) {
            rows.write(r, layer, part, offset, src, index, length);
        }

        @Override
        public void release(KvReservation reservation) {
            rows.release(reservation);
        }
    }

    /** What one run saw: the router's events for the second request, the rows admitted and the node's resends. */
    private record Run(List<String> routerEvents, int admittedRows, float[][] admittedK, long resends) {
    }

    @Test
    void onlyTheRowsAfterTheDecodeNodesPrefixTravel() throws Exception {
        final Run run = run(true);
        final float[][] expected = referenceK();
        assertEquals(PROMPT.length - 2 * PAGE, run.admittedRows(), "two whole pages stayed home");
        for (int layer = 0; layer < expected.length; layer++) {
            final int rowFloats = expected[layer].length / PROMPT.length;
            for (int i = 0; i < run.admittedK()[layer].length; i++) {
                assertEquals(expected[layer][2 * PAGE * rowFloats + i], run.admittedK()[layer][i], "layer " + layer);
            }
        }
        final long bytesPerToken = run.admittedK()[0].length * 4L * 2 * expected.length / run.admittedRows();
        assertEquals(List.of("first", "done OK " + (PROMPT.length - 2 * PAGE) * bytesPerToken), run.routerEvents());
        assertEquals(0, run.resends());
    }

    @Test
    void aDecodeNodeThatLostThePrefixGetsTheWholeKvWithoutASecondFirstTokenOrDone() throws Exception {
        final Run run = run(false);
        final float[][] expected = referenceK();
        assertEquals(PROMPT.length, run.admittedRows(), "sent whole the second time");
        for (int layer = 0; layer < expected.length; layer++) {
            for (int i = 0; i < expected[layer].length; i++) {
                assertEquals(expected[layer][i], run.admittedK()[layer][i], "layer " + layer + " K " + i);
            }
        }
        assertEquals(2, run.routerEvents().size(), "one FirstToken and one PrefillDone: " + run.routerEvents());
        assertEquals("first", run.routerEvents().get(0));
        assertTrue(run.routerEvents().get(1).startsWith("done OK "), run.routerEvents().toString());
        assertEquals(1, run.resends());
    }

    private static Path demo() throws Exception {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    private static float[][] referenceK() throws Exception {
        try (Engine reference = Engine.load(demo(), new EngineOptions().prefixCaching(false))) {
            final float[][] k = new float[reference.config().numLayers()][];
            reference.prefill(List.of(PROMPT), List.of(SamplingParams.greedy()),
                    (p, layer, keys, keyOffset, v, valueOffset, tokens) -> {
                        k[layer] = new float[tokens * reference.config().kvDim()];
                        for (int i = 0; i < k[layer].length; i++) {
                            k[layer][i] = keys.getFloat(keyOffset + i * Float.BYTES);
                        }
                    });
            return k;
        }
    }

    /**
     * Sends the prompt once with nothing cached (the prefill node caches it), then again saying the decode node holds
     * two pages, to a receiver whose store holds them ({@code decodeHolds}) or keeps no cache.
     */
    private static Run run(boolean decodeHolds) throws Exception {
        final Path demo = demo();
        final String dir = Path.of("target", "aeron", "prefix-" + System.nanoTime()).toAbsolutePath().toString();
        final MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(16 * 1024 * 1024));
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));
        PrefillNodeAgent agent = null;
        KvReceiver receiver = null;
        try {
            agent = new PrefillNodeAgent(new PrefillNodeContext().aeron(aeron).modelDir(demo).kvChunkBytes(1000)
                    .engineOptions(new EngineOptions().pageSize(PAGE)));
            final ModelConfig config = ModelConfig.load(demo);
            final KvGeometry geometry = new KvGeometry(config.numLayers(), config.numKvHeads(), config.headDim(),
                    KvDtype.F32);
            final HostKvPageStore rows = HostKvPageStore.allocate(geometry, 16, 5);
            final KvPageStore store = decodeHolds ? new CachingStore(rows) : rows;
            final List<KvReservation> admitted = new ArrayList<>();
            final List<KvTransferStatus> failures = new ArrayList<>();
            receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).channel("aeron:ipc").streamId(30101)
                    .ackChannel("aeron:ipc").ackStreamId(40101).modelFingerprint(ModelFingerprint.of(demo))
                    .pageStore(store).receiveListener(new KvReceiveListener() {
                        @Override
                        public void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken) {
                            admitted.add(reservation);
                        }

                        @Override
                        public void onTransferFailed(long requestId, KvTransferStatus status) {
                            failures.add(status);
                        }
                    }));
            final Subscription routerEvents = aeron.addSubscription("aeron:ipc",
                    PrefillNodeContext.DEFAULT_ROUTER_STREAM_ID);
            final List<String> events = new ArrayList<>();
            final FragmentAssembler router = new FragmentAssembler((buffer, offset, length, header) -> {
                final MessageHeaderDecoder h = new MessageHeaderDecoder().wrap(buffer, offset);
                if (h.templateId() == FirstTokenDecoder.TEMPLATE_ID
                        && new FirstTokenDecoder().wrapAndApplyHeader(buffer, offset, h).requestId() == 2) {
                    events.add("first");
                } else if (h.templateId() == PrefillDoneDecoder.TEMPLATE_ID) {
                    final PrefillDoneDecoder d = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, offset, h);
                    if (d.requestId() == 2) {
                        events.add("done " + d.kvStatus() + " " + d.kvBytes());
                    }
                }
            });
            final ExclusivePublication toNode = aeron.addExclusivePublication("aeron:ipc", 10001);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!toNode.isConnected()) {
                agent.doWork();
                assertTrue(System.nanoTime() < deadline, "the node's control stream did not connect");
            }
            offerPrefillRequest(toNode, 1, 0);
            while (admitted.isEmpty() && System.nanoTime() < deadline) {
                agent.doWork();
                receiver.doWork();
                routerEvents.poll(router, 10);
            }
            assertEquals(1, admitted.size(), "the first request's KV arrived whole");
            offerPrefillRequest(toNode, 2, 2 * PAGE);
            while ((admitted.size() < 2 || events.size() < 2) && System.nanoTime() < deadline) {
                agent.doWork();
                receiver.doWork();
                routerEvents.poll(router, 10);
            }
            assertEquals(2, admitted.size(), "the second request's KV arrived");
            assertEquals(decodeHolds ? List.of() : List.of(KvTransferStatus.REJECTED_PREFIX_MISSING), failures);
            final KvReservation second = admitted.get(1);
            final float[][] k = new float[geometry.layers()][];
            final UnsafeBuffer part = new UnsafeBuffer(ByteBuffer.allocateDirect(
                    (int) geometry.partBytes(second.tokens())));
            for (int layer = 0; layer < geometry.layers(); layer++) {
                rows.read(second, layer, KvPart.K, 0, part, 0, part.capacity());
                k[layer] = new float[part.capacity() / 4];
                for (int i = 0; i < k[layer].length; i++) {
                    k[layer][i] = part.getFloat(i * 4, ByteOrder.LITTLE_ENDIAN);
                }
            }
            return new Run(events, second.tokens(), k, agent.prefixResends());
        } finally {
            if (agent != null) {
                agent.onClose();
            }
            CloseHelper.closeAll(receiver, aeron, driver);
        }
    }

    private static void offerPrefillRequest(ExclusivePublication toNode, long requestId, int decodeCachedTokens) {
        final UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
        final UnsafeBuffer tokens = new UnsafeBuffer(ByteBuffer.allocateDirect(PROMPT.length * 4));
        for (int i = 0; i < PROMPT.length; i++) {
            tokens.putInt(i * 4, PROMPT[i], ByteOrder.LITTLE_ENDIAN);
        }
        final PrefillRequestEncoder request = new PrefillRequestEncoder().wrapAndApplyHeader(out, 0,
                new MessageHeaderEncoder()).requestId(requestId).decodeNodeId(101).maxNewTokens(4).temperature(0f)
                .topP(1f).topK(0).seed(0).decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(0)
                .decodeCachedTokens(decodeCachedTokens).decodeKvChannel("aeron:ipc")
                .putPromptTokens(tokens, 0, PROMPT.length * 4).decodeKvAckChannel("aeron:ipc");
        while (toNode.offer(out, 0, MessageHeaderEncoder.ENCODED_LENGTH + request.encodedLength()) < 0) {
            Thread.onSpinWait();
        }
    }
}
