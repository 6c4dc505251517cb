package io.splitserve.kvtransfer;

import static io.splitserve.kvtransfer.KvTestData.SMALL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.splitserve.sbe.KvChunkEncoder;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferBeginEncoder;
import io.splitserve.sbe.KvTransferEndEncoder;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderEncoder;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A receiver opens a transfer only for an admission it holds, from the sender and with the attempt token that admission
 * names, and only that Begin's publication session may feed the transfer. A stranger publication on the same stream
 * (wrong token, wrong sender, an unknown request, a real transfer's id from its own session) is refused: nothing
 * reserved, nothing acked, the real transfer untouched and equal to its source. A Begin that overtakes its admission is
 * held and opens once the admission comes. The test thread runs the receiver's duty cycle, and the receiver's clock
 * moves only when the test moves it, so "held" and "held past the hold timeout" are exact.
 */
class KvTransferAdmissionTest
{
    private static final long FINGERPRINT = 0x5EED;
    private static final int TOKENS = 100;
    private static final int PREFILL_NODE = 7;
    private static final long HOLD_NS = TimeUnit.MILLISECONDS.toNanos(250);

    /** Request id -> {attempt token, prefill node id}: the admissions the receiving node holds. */
    private final Map<Long, long[]> admissions = new ConcurrentHashMap<>();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final CachedNanoClock receiverClock = new CachedNanoClock();
    private final Recorders.Leases leases = new Recorders.Leases();
    private final Recorders.Receipts receipts = new Recorders.Receipts();
    private final UnsafeBuffer source = KvTestData.random(SMALL.totalBytes(TOKENS), 21);
    private final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();

    private TestMediaDriver driver;
    private Aeron aeron;
    private HostKvPageStore store;
    private KvSender sender;
    private KvReceiver receiver;
    private ExclusivePublication stranger;

    @BeforeEach
    void connect()
    {
        driver = TestMediaDriver.launch("admission");
        aeron = driver.connect();
        store = HostKvPageStore.allocate(SMALL, 16, 16);
        sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(FINGERPRINT).senderNodeId(PREFILL_NODE)
            .streamId(5001).ackStreamId(5002).maxChunkBytes(4096).leaseListener(leases));
        receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).modelFingerprint(FINGERPRINT).pageStore(store)
            .receiveListener(receipts).streamId(5001).ackStreamId(5002).nanoClock(receiverClock)
            .transferTimeoutNs(TimeUnit.DAYS.toNanos(30)).beginHoldTimeoutNs(HOLD_NS).log(log::add)
            .admissions((requestId, token, senderNodeId) ->
            {
                final long[] admission = admissions.get(requestId);
                return admission == null ? KvBeginCheck.NOT_ADMITTED :
                    KvBeginCheck.match(admission[0], (int)admission[1], token, senderNodeId, true);
            }));
        stranger = aeron.addExclusivePublication("aeron:ipc", 5001);
        KvTestData.awaitConnected(sender, receiver);
        KvTestData.await(stranger::isConnected, 10_000, "the stranger's publication", Thread::yield);
    }

    @AfterEach
    void close()
    {
        CloseHelper.closeAll(stranger, sender, receiver);
        driver.close();
        assertEquals(0, leases.duplicates.get() + receipts.duplicates.get(), "an outcome was reported twice");
    }

    @Test
    void aStrangersBeginsAndChunksAreRefusedAndTheRealTransferCompletesIntact()
    {
        admissions.put(1L, new long[] {0x1111L, PREFILL_NODE});
        admissions.put(2L, new long[] {0x2222L, PREFILL_NODE});
        assertTrue(sender.begin(1, 0x1111L, SMALL, TOKENS, 0, null, null));
        sendLayers(1, 0, 2);
        pollUntil(() -> receiver.openTransfers() == 1, "the real transfer to open");
        final int realPages = store.freePages();
        assertTrue(realPages < 16, "the real transfer reserved its pages");

        strangerBegin(2, 0x2223L, PREFILL_NODE); // admitted request, wrong token
        strangerBegin(2, 0x2222L, PREFILL_NODE + 1); // admitted request and token, another sender
        strangerBegin(1, 0x1111L, PREFILL_NODE); // the real transfer's id and token, from another session
        strangerChunk(1, 0, KvPart.K);
        strangerChunk(1, 3, KvPart.V);
        strangerEnd(1);
        strangerBegin(3, 0x3333L, PREFILL_NODE); // no admission: held, then refused
        pollUntil(() -> receiver.refused(KvRefusal.FOREIGN_SESSION) == 4, "the stranger's messages of transfer 1");

        assertEquals(1, receiver.refused(KvRefusal.WRONG_TOKEN));
        assertEquals(1, receiver.refused(KvRefusal.WRONG_SENDER));
        assertEquals(0, receiver.refused(KvRefusal.UNKNOWN_REQUEST), "a Begin is held for its hold timeout");
        receiverClock.advance(HOLD_NS);
        pollUntil(() -> receiver.refused(KvRefusal.UNKNOWN_REQUEST) == 1, "the held Begin to be refused");
        assertEquals(realPages, store.freePages(), "nothing reserved for a stranger");
        assertEquals(1, receiver.openTransfers());
        assertTrue(receipts.failed.isEmpty(), "no verdict for a refused message: " + receipts.failed);

        sendLayers(1, 2, SMALL.layers());
        assertTrue(sender.end(1, 42));
        KvTestData.await(() -> leases.ended.containsKey(1L), 10_000, "the real transfer's ack", () ->
        {
            receiver.doWork();
            sender.doWork();
        });
        assertEquals(KvTransferStatus.OK, leases.ended.get(1L));
        KvTestData.assertStored(store, receipts.admitted.get(1L), SMALL, TOKENS, source);
        assertEquals(42, receipts.firstTokens.get(1L));
        assertEquals(1, log.size(), "one line per source session: " + log);
        assertTrue(log.get(0).contains("wrong_token"), log.get(0));
    }

    @Test
    void aBeginBeforeItsAdmissionIsHeldAndOpensOnceTheAdmissionComes()
    {
        assertTrue(sender.begin(5, 0x5555L, SMALL, TOKENS, 0, null, null));
        sendLayers(5, 0, SMALL.layers());
        assertTrue(sender.end(5, 9));
        for (int i = 0; i < 100; i++)
        {
            receiver.doWork();
        }
        assertEquals(0, receiver.openTransfers(), "no transfer opens before its admission");
        assertEquals(16, store.freePages());
        assertTrue(receipts.admitted.isEmpty() && receipts.failed.isEmpty(), "the session waits behind its Begin");

        receiverClock.advance(HOLD_NS - 1); // still within the hold
        admissions.put(5L, new long[] {0x5555L, PREFILL_NODE});
        pollUntil(() -> receipts.admitted.containsKey(5L), "the held transfer to be admitted");
        KvTestData.assertStored(store, receipts.admitted.get(5L), SMALL, TOKENS, source);
        for (final KvRefusal why : KvRefusal.values())
        {
            assertEquals(0, receiver.refused(why), why.label());
        }
        assertTrue(log.isEmpty(), log.toString());
    }

    @Test
    void theMatchingRuleComparesWhatBothSidesCarryAndRequiresTokensWithASecret()
    {
        assertEquals(KvBeginCheck.ADMITTED, KvBeginCheck.match(9, 7, 9, 7, true));
        assertEquals(KvBeginCheck.WRONG_TOKEN, KvBeginCheck.match(9, 7, 8, 7, true));
        assertEquals(KvBeginCheck.WRONG_SENDER, KvBeginCheck.match(9, 7, 9, 6, true));
        assertEquals(KvBeginCheck.MISSING_TOKEN, KvBeginCheck.match(9, 7, 0, 0, true), "a version-4 sender");
        assertEquals(KvBeginCheck.MISSING_TOKEN, KvBeginCheck.match(0, 7, 9, 7, true), "a version-4 router");
        assertEquals(KvBeginCheck.ADMITTED, KvBeginCheck.match(9, 7, 0, 0, false), "a version-4 sender, no secret");
        assertEquals(KvBeginCheck.ADMITTED, KvBeginCheck.match(0, 7, 9, 7, false), "a version-4 router, no secret");
        assertEquals(KvBeginCheck.WRONG_TOKEN, KvBeginCheck.match(9, 7, 8, 7, false), "no secret still compares");
        assertEquals(KvBeginCheck.WRONG_SENDER, KvBeginCheck.match(0, 7, 0, 6, false));
    }

    private void pollUntil(final java.util.function.BooleanSupplier condition, final String what)
    {
        KvTestData.await(condition, 10_000, what, receiver::doWork);
    }

    private void sendLayers(final long requestId, final int fromLayer, final int toLayer)
    {
        for (int layer = fromLayer; layer < toLayer; layer++)
        {
            assertTrue(sender.sendLayer(requestId, layer,
                source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.K),
                source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.V)));
        }
    }

    private void strangerBegin(final long requestId, final long token, final int senderNodeId)
    {
        final KvTransferBeginEncoder begin = new KvTransferBeginEncoder().wrapAndApplyHeader(message, 0, header)
            .requestId(requestId).modelFingerprint(FINGERPRINT).layers(SMALL.layers()).tokens(TOKENS)
            .kvHeads(SMALL.kvHeads()).headDim(SMALL.headDim()).dtype(SMALL.dtype()).totalBytes(SMALL.totalBytes(TOKENS))
            .path(KvPath.HOST).cachedTokens(0).attemptToken(token).senderNodeId(senderNodeId)
            .putGpuExport(new byte[0], 0, 0).putTokenIds(new byte[0], 0, 0);
        offer(MessageHeaderEncoder.ENCODED_LENGTH + begin.encodedLength());
    }

    // rows 0..9 of a layer part, all zeros: were they written, the stored KV would differ from the source
    private void strangerChunk(final long requestId, final int layer, final KvPart part)
    {
        final int rows = 10;
        final KvChunkEncoder chunk = new KvChunkEncoder().wrapAndApplyHeader(message, 0, header)
            .requestId(requestId).layer(layer).part(part).tokenOffset(0).tokenCount(rows)
            .putPayload(new byte[(int)SMALL.partBytes(rows)], 0, (int)SMALL.partBytes(rows));
        offer(MessageHeaderEncoder.ENCODED_LENGTH + chunk.encodedLength());
    }

    private void strangerEnd(final long requestId)
    {
        final KvTransferEndEncoder end = new KvTransferEndEncoder().wrapAndApplyHeader(message, 0, header)
            .requestId(requestId).crc32c(0).firstToken(1);
        offer(MessageHeaderEncoder.ENCODED_LENGTH + end.encodedLength());
    }

    private void offer(final int length)
    {
        KvTestData.await(() -> stranger.offer(message, 0, length) > 0, 5_000, "the stranger's offer", Thread::yield);
        assertFalse(stranger.isClosed());
    }
}
