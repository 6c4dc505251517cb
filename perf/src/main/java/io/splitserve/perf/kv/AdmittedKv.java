package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.splitserve.decode.EngineKvPageStore;
import io.splitserve.engine.ImportedKv;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvTransferStatus;
import java.util.concurrent.TimeUnit;

/**
 * The decode side of the KV benchmarks' KV path, set up once for both ({@link KvStreamRig} in-process,
 * {@link KvPathDecodeProcess} in a process of its own): a {@link KvReceiver} into the decode node's
 * {@link EngineKvPageStore}, and the last transfer it admitted, held until the thread polling the receiver takes
 * its KV for the engine. Refused transfers go to the {@link FailureListener}.
 *
 * <p>Owned by the thread that polls the receiver; the receiver calls back on it.
 */
final class AdmittedKv implements KvReceiveListener {
    // a CPU prefill of a long prompt may take seconds per layer: the timeout guards against loss, not slowness
    private static final long TRANSFER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    /** Told of each transfer the receiver refused or lost. */
    @FunctionalInterface
    interface FailureListener {
        void onTransferFailed(long requestId, KvTransferStatus status);
    }

    private final EngineKvPageStore store;
    private final FailureListener failures;
    private long requestId = -1;
    private KvReservation reservation;
    private int firstToken;

    AdmittedKv(EngineKvPageStore store, FailureListener failures) {
        this.store = store;
        this.failures = failures;
    }

    /** A receiver on {@code aeron} for a model of {@code fingerprint}, scattering into the store, reporting here. */
    KvReceiver receiver(Aeron aeron, long fingerprint) {
        return new KvReceiver(new KvReceiverContext().aeron(aeron).modelFingerprint(fingerprint).pageStore(store)
                .transferTimeoutNs(TRANSFER_TIMEOUT_NS).receiveListener(this));
    }

    @Override
    public void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken) {
        this.requestId = requestId;
        this.reservation = reservation;
        this.firstToken = firstToken;
    }

    @Override
    public void onTransferFailed(long requestId, KvTransferStatus status) {
        failures.onTransferFailed(requestId, status);
    }

    /** Whether an admitted transfer's KV waits to be taken. */
    boolean waiting() {
        return reservation != null;
    }

    /** The request id of the last admitted transfer, -1 before the first. */
    long requestId() {
        return requestId;
    }

    /** The first token the prefill engine sampled for the last admitted transfer. */
    int firstToken() {
        return firstToken;
    }

    /** The waiting transfer's KV, out of the store for the engine to admit; nothing waits afterwards. */
    ImportedKv take() {
        if (reservation == null) {
            throw new IllegalStateException("no admitted KV waits to be taken");
        }
        final ImportedKv kv = store.take(reservation);
        reservation = null;
        return kv;
    }
}
