package io.splitserve.kvtransfer;

import static io.splitserve.kvtransfer.KvTestData.LLAMA3_8B;
import static io.splitserve.kvtransfer.KvTestData.SMALL;
import static io.splitserve.kvtransfer.KvTestData.TINY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole transfers over IPC and UDP loopback, from 1 KiB to 256 MiB, arrive byte-exact in receiver pages whose size
 * matches neither the sender's chunks nor Aeron's frames; and 64 transfers interleaved on one stream all verify.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KvTransferRoundTripTest
{
    enum Transport
    {
        IPC, UDP
    }

    private static final AtomicInteger NEXT_PORT = new AtomicInteger(42100);
    private static final int FIRST_TOKEN = 4242;

    private TestMediaDriver driver;
    private Aeron aeron;
    private UnsafeBuffer llamaSource;
    private HostKvPageStore llamaStore;
    private int nextStreamId = 2000;

    @BeforeAll
    void launch()
    {
        driver = TestMediaDriver.launch("round-trip");
        aeron = driver.connect();
        // 2048 tokens of Llama-3-8B KV are 256 MiB; smaller transfers use a prefix of the same bytes
        llamaSource = KvTestData.random(LLAMA3_8B.totalBytes(2048), 7);
        llamaStore = HostKvPageStore.allocate(LLAMA3_8B, 44, 48);
    }

    @AfterAll
    void shutdown()
    {
        driver.close();
        llamaSource = null;
        llamaStore = null;
    }

    static Stream<Arguments> sizes()
    {
        return Stream.of(Transport.values()).flatMap(transport -> Stream.of(
            Arguments.of(transport, "1 KiB", TINY, 2),
            Arguments.of(transport, "1 MiB", LLAMA3_8B, 8),
            Arguments.of(transport, "16 MiB", LLAMA3_8B, 128),
            Arguments.of(transport, "256 MiB", LLAMA3_8B, 2048)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("sizes")
    void transferArrivesByteExactInPagesOfAnotherSize(
        final Transport transport, final String label, final KvGeometry geometry, final int tokens)
    {
        final HostKvPageStore store = geometry == TINY ? HostKvPageStore.allocate(TINY, 4, 3) : llamaStore;
        final UnsafeBuffer source = geometry == TINY ? KvTestData.random(TINY.totalBytes(tokens), 3) : llamaSource;
        final Recorders.Leases leases = new Recorders.Leases();
        final Recorders.Receipts receipts = new Recorders.Receipts();
        final String[] channels = channels(transport);
        final int streamId = nextStreamId += 2;

        try (KvSender sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(99)
                .channel(channels[0]).streamId(streamId).ackChannel(channels[1]).ackStreamId(streamId + 1)
                .leaseListener(leases));
            ReceiverThread receiver = new ReceiverThread(startReceiver(store, receipts, channels, streamId)))
        {
            KvTestData.awaitConnected(sender, receiver.receiver());
            final long requestId = 1000 + tokens;
            KvTestData.sendAll(sender, requestId, geometry, tokens, source, FIRST_TOKEN);
            KvTestData.await(() -> leases.ended.containsKey(requestId), 60_000, "the ack of " + label, sender::doWork);

            assertEquals(KvTransferStatus.OK, leases.ended.get(requestId));
            assertEquals(0, sender.openTransfers());
            final KvReservation reservation = receipts.admitted.get(requestId);
            assertEquals(FIRST_TOKEN, receipts.firstTokens.get(requestId));
            KvTestData.assertStored(store, reservation, geometry, tokens, source);
            store.release(reservation);
            assertEquals(store.pageCount(), store.freePages());
            assertEquals(0, leases.duplicates.get() + receipts.duplicates.get());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void sixtyFourTransfersInterleavedOnOneStreamAllVerify(final Transport transport)
    {
        final int transfers = 64;
        final int tokens = 100;
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, transfers * 7, 16);
        final UnsafeBuffer[] sources = new UnsafeBuffer[transfers];
        for (int i = 0; i < transfers; i++)
        {
            sources[i] = KvTestData.random(SMALL.totalBytes(tokens), 100 + i);
        }
        final Recorders.Leases leases = new Recorders.Leases();
        final Recorders.Receipts receipts = new Recorders.Receipts();
        final String[] channels = channels(transport);
        final int streamId = nextStreamId += 2;

        try (KvSender sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(99).maxChunkBytes(8192)
                .channel(channels[0]).streamId(streamId).ackChannel(channels[1]).ackStreamId(streamId + 1)
                .leaseListener(leases));
            ReceiverThread receiver = new ReceiverThread(startReceiver(store, receipts, channels, streamId)))
        {
            KvTestData.awaitConnected(sender, receiver.receiver());
            for (int i = 0; i < transfers; i++)
            {
                assertTrue(sender.begin(i, SMALL, tokens));
            }
            assertEquals(transfers, sender.openTransfers());
            // layer by layer across all transfers, as a batched prefill finishes layers for every sequence at once
            for (int layer = 0; layer < SMALL.layers(); layer++)
            {
                for (int i = 0; i < transfers; i++)
                {
                    assertTrue(sender.sendLayer(i, layer,
                        sources[i], KvTestData.partIndex(SMALL, tokens, layer, KvPart.K),
                        sources[i], KvTestData.partIndex(SMALL, tokens, layer, KvPart.V)));
                }
            }
            for (int i = 0; i < transfers; i++)
            {
                assertTrue(sender.end(i, i));
            }
            KvTestData.await(() -> leases.ended.size() == transfers, 30_000, "64 acks", sender::doWork);

            for (int i = 0; i < transfers; i++)
            {
                assertEquals(KvTransferStatus.OK, leases.ended.get((long)i), "transfer " + i);
                assertEquals(i, receipts.firstTokens.get((long)i));
                KvTestData.assertStored(store, receipts.admitted.get((long)i), SMALL, tokens, sources[i]);
                store.release(receipts.admitted.get((long)i));
            }
            assertEquals(store.pageCount(), store.freePages());
            assertEquals(0, leases.duplicates.get() + receipts.duplicates.get());
        }
    }

    private KvReceiver startReceiver(
        final KvPageStore store, final Recorders.Receipts receipts, final String[] channels, final int streamId)
    {
        return new KvReceiver(new KvReceiverContext().aeron(aeron).modelFingerprint(99).pageStore(store)
            .receiveListener(receipts).channel(channels[0]).streamId(streamId).ackChannel(channels[1])
            .ackStreamId(streamId + 1));
    }

    private static String[] channels(final Transport transport)
    {
        if (transport == Transport.IPC)
        {
            return new String[] {"aeron:ipc", "aeron:ipc"};
        }
        final int port = NEXT_PORT.getAndAdd(2);
        return new String[] {"aeron:udp?endpoint=localhost:" + port, "aeron:udp?endpoint=localhost:" + (port + 1)};
    }
}
