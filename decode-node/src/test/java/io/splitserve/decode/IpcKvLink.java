package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.splitserve.engine.Engine;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvPageStore;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.kvtransfer.KvSender;
import io.splitserve.kvtransfer.KvSenderContext;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A KV sender and a KV receiver over IPC through an embedded media driver, driven from the test's thread: what a
 * prefill node and a decode node do with one request's KV, without the router. The receiver writes into the given
 * page store.
 */
final class IpcKvLink implements AutoCloseable {
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    /** How one transfer ended: admitted (with its reservation) or failed at the receiver, and the sender's lease. */
    record Outcome(int firstToken, KvReservation admitted, KvTransferStatus receiverFailure,
                   KvTransferStatus leaseStatus) {
    }

    private final MediaDriver driver;
    private final Aeron aeron;
    private final KvSender sender;
    private final KvReceiver receiver;
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private KvReservation admitted;
    private KvTransferStatus receiverFailure;
    private KvTransferStatus leaseStatus;
    private long nextRequestId = 1;

    IpcKvLink(Path model, KvPageStore store) throws ModelLoadException {
        final String dir = Path.of("target", "aeron", "kvlink-" + System.nanoTime()).toAbsolutePath().toString();
        driver = MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(16 * 1024 * 1024));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));
        final long fingerprint = ModelFingerprint.of(model);
        receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).channel("aeron:ipc").streamId(31001)
                .ackChannel("aeron:ipc").ackStreamId(41001).modelFingerprint(fingerprint).pageStore(store)
                .receiveListener(new KvReceiveListener() {
                    @Override
                    public void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken) {
                        admitted = reservation;
                    }

                    @Override
                    public void onTransferFailed(long requestId, KvTransferStatus status) {
                        receiverFailure = status;
                    }
                }));
        sender = new KvSender(new KvSenderContext().aeron(aeron).channel("aeron:ipc").streamId(31001)
                .ackChannel("aeron:ipc").ackStreamId(41001).modelFingerprint(fingerprint).maxChunkBytes(4096)
                .leaseListener((requestId, status) -> leaseStatus = status));
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        while (!sender.isConnected()) {
            receiver.doWork();
            sender.doWork();
            assertTrue(System.nanoTime() < deadline, "KV sender and receiver did not connect");
        }
    }

    /** Prefills {@code prompt} greedily on {@code prefill}, streaming its KV layer by layer as the node does. */
    Outcome prefillAndSend(Engine prefill, int[] prompt) {
        final long requestId = begin(geometryOf(prefill), prompt.length);
        final KvGeometry geometry = geometryOf(prefill);
        final int first = prefill.prefill(List.of(prompt), List.of(SamplingParams.greedy()),
                (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                    final int bytes = (int) geometry.partBytes(tokens);
                    view.wrap(keys, keyOffset, bytes);
                    if (sender.sendPart(requestId, layer, KvPart.K, view, 0)) {
                        view.wrap(values, valueOffset, bytes);
                        sender.sendPart(requestId, layer, KvPart.V, view, 0);
                    }
                })[0];
        return finish(requestId, first);
    }

    /** Sends {@code tokens} tokens of zero bytes announced as {@code geometry}. */
    Outcome sendZeros(KvGeometry geometry, int tokens) {
        final long requestId = begin(geometry, tokens);
        final UnsafeBuffer zeros = new UnsafeBuffer(ByteBuffer.allocateDirect((int) geometry.partBytes(tokens)));
        for (int layer = 0; layer < geometry.layers(); layer++) {
            if (!sender.sendLayer(requestId, layer, zeros, 0, zeros, 0)) {
                break;
            }
        }
        return finish(requestId, 1);
    }

    /** The wire geometry a prefill node announces for an engine's KV. */
    static KvGeometry geometryOf(Engine engine) {
        return new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(), engine.config().headDim(),
                KvDtype.valueOf(engine.kvWireType().name()));
    }

    private long begin(KvGeometry geometry, int tokens) {
        admitted = null;
        receiverFailure = null;
        leaseStatus = null;
        final long requestId = nextRequestId++;
        assertTrue(sender.begin(requestId, geometry, tokens), "Begin went out");
        return requestId;
    }

    private Outcome finish(long requestId, int firstToken) {
        sender.end(requestId, firstToken);
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        while ((admitted == null && receiverFailure == null || leaseStatus == null) && System.nanoTime() < deadline) {
            receiver.doWork();
            sender.doWork();
        }
        assertTrue(leaseStatus != null, "the transfer never ended");
        return new Outcome(firstToken, admitted, receiverFailure, leaseStatus);
    }

    @Override
    public void close() {
        CloseHelper.closeAll(sender, receiver, aeron, driver);
    }
}
