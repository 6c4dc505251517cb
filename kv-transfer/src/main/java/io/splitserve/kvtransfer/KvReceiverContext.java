package io.splitserve.kvtransfer;

import io.aeron.Aeron;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * Configuration of a {@link KvReceiver}, with defaults for everything except the Aeron client, the page store and
 * the receive listener. Acks go to one channel; with several prefill nodes that channel is a multi-destination or
 * multicast channel every sender subscribes to, and each sender keeps only the acks of its own requests.
 */
public final class KvReceiverContext
{
    /**
     * Silence after which a transfer fails FAILED_TIMEOUT: a sender keeps its open transfers audible with KvKeepAlive
     * at its heartbeat interval (100 ms by default) however long a layer computes, so 2 s is twenty missed keep-alives.
     */
    public static final long DEFAULT_TRANSFER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(2);
    public static final long DEFAULT_ACK_OFFER_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(100);
    public static final int DEFAULT_FRAGMENT_LIMIT = 256;
    /**
     * How long a Begin no admission waits for is held (its sender's session not read past it) before it is refused: the
     * router sends DecodeAdmit before PrefillRequest, so over UDP a Begin overtakes its admission by a retransmission at
     * most, while a session held longer would back-pressure that sender's other transfers.
     */
    public static final long DEFAULT_BEGIN_HOLD_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(250);
    /** Sessions that may each hold one Begin at a time; a Begin beyond them is refused at once. */
    public static final int DEFAULT_MAX_HELD_BEGINS = 16;

    private Aeron aeron;
    private String channel = KvSenderContext.DEFAULT_CHANNEL;
    private int streamId = KvSenderContext.DEFAULT_STREAM_ID;
    private String ackChannel = KvSenderContext.DEFAULT_CHANNEL;
    private int ackStreamId = KvSenderContext.DEFAULT_ACK_STREAM_ID;
    private long modelFingerprint;
    private KvPageStore pageStore;
    private KvReceiveListener receiveListener;
    private long transferTimeoutNs = DEFAULT_TRANSFER_TIMEOUT_NS;
    private long ackOfferTimeoutNs = DEFAULT_ACK_OFFER_TIMEOUT_NS;
    private int fragmentLimit = DEFAULT_FRAGMENT_LIMIT;
    private IdleStrategy backPressureIdleStrategy = new BackoffIdleStrategy();
    private NanoClock nanoClock = SystemNanoClock.INSTANCE;
    private KvAdmissions admissions = KvAdmissions.ANY;
    private long beginHoldTimeoutNs = DEFAULT_BEGIN_HOLD_TIMEOUT_NS;
    private int maxHeldBegins = DEFAULT_MAX_HELD_BEGINS;
    private Consumer<String> log = System.err::println;

    /**
     * Check the configuration before use.
     *
     * @throws IllegalStateException naming the first missing or invalid setting.
     */
    KvReceiverContext conclude()
    {
        if (aeron == null)
        {
            throw new IllegalStateException("KV receiver needs an Aeron client");
        }
        if (pageStore == null)
        {
            throw new IllegalStateException("KV receiver needs a page store to scatter into");
        }
        if (receiveListener == null)
        {
            throw new IllegalStateException("KV receiver needs a receive listener to hand verified sequences to");
        }
        if (channel == null || ackChannel == null)
        {
            throw new IllegalStateException("KV receiver needs a data channel and an ack channel");
        }
        if (transferTimeoutNs <= 0 || ackOfferTimeoutNs <= 0 || fragmentLimit <= 0 || beginHoldTimeoutNs < 0 ||
            maxHeldBegins < 0)
        {
            throw new IllegalStateException("KV receiver timeouts and fragment limit must be positive, the Begin hold" +
                " timeout and held Begins not negative");
        }
        if (admissions == null || log == null)
        {
            throw new IllegalStateException("KV receiver needs admissions (KvAdmissions.ANY takes every Begin) and a log");
        }
        return this;
    }

    public Aeron aeron()
    {
        return aeron;
    }

    public KvReceiverContext aeron(final Aeron aeron)
    {
        this.aeron = aeron;
        return this;
    }

    /** Aeron channel of the KV data stream this receiver subscribes to. */
    public String channel()
    {
        return channel;
    }

    public KvReceiverContext channel(final String channel)
    {
        this.channel = channel;
        return this;
    }

    public int streamId()
    {
        return streamId;
    }

    public KvReceiverContext streamId(final int streamId)
    {
        this.streamId = streamId;
        return this;
    }

    /** Aeron channel acks are published on. */
    public String ackChannel()
    {
        return ackChannel;
    }

    public KvReceiverContext ackChannel(final String ackChannel)
    {
        this.ackChannel = ackChannel;
        return this;
    }

    public int ackStreamId()
    {
        return ackStreamId;
    }

    public KvReceiverContext ackStreamId(final int ackStreamId)
    {
        this.ackStreamId = ackStreamId;
        return this;
    }

    /** The only model fingerprint whose KV this receiver accepts. */
    public long modelFingerprint()
    {
        return modelFingerprint;
    }

    public KvReceiverContext modelFingerprint(final long modelFingerprint)
    {
        this.modelFingerprint = modelFingerprint;
        return this;
    }

    public KvPageStore pageStore()
    {
        return pageStore;
    }

    public KvReceiverContext pageStore(final KvPageStore pageStore)
    {
        this.pageStore = pageStore;
        return this;
    }

    public KvReceiveListener receiveListener()
    {
        return receiveListener;
    }

    public KvReceiverContext receiveListener(final KvReceiveListener receiveListener)
    {
        this.receiveListener = receiveListener;
        return this;
    }

    /**
     * How long a transfer may go without any of its messages and without a KvKeepAlive naming it before it fails with
     * FAILED_TIMEOUT (silence only: the time a sender spends computing does not count while it sends keep-alives).
     */
    public long transferTimeoutNs()
    {
        return transferTimeoutNs;
    }

    public KvReceiverContext transferTimeoutNs(final long transferTimeoutNs)
    {
        this.transferTimeoutNs = transferTimeoutNs;
        return this;
    }

    /** How long one ack may stay back-pressured before it is dropped (the sender's lease timeout then ends it). */
    public long ackOfferTimeoutNs()
    {
        return ackOfferTimeoutNs;
    }

    public KvReceiverContext ackOfferTimeoutNs(final long ackOfferTimeoutNs)
    {
        this.ackOfferTimeoutNs = ackOfferTimeoutNs;
        return this;
    }

    /** Fragments read per duty cycle. */
    public int fragmentLimit()
    {
        return fragmentLimit;
    }

    public KvReceiverContext fragmentLimit(final int fragmentLimit)
    {
        this.fragmentLimit = fragmentLimit;
        return this;
    }

    public IdleStrategy backPressureIdleStrategy()
    {
        return backPressureIdleStrategy;
    }

    public KvReceiverContext backPressureIdleStrategy(final IdleStrategy backPressureIdleStrategy)
    {
        this.backPressureIdleStrategy = backPressureIdleStrategy;
        return this;
    }

    public NanoClock nanoClock()
    {
        return nanoClock;
    }

    public KvReceiverContext nanoClock(final NanoClock nanoClock)
    {
        this.nanoClock = nanoClock;
        return this;
    }

    /** Which transfers this node expects, asked at each Begin; {@link KvAdmissions#ANY} (the default) takes every one. */
    public KvAdmissions admissions()
    {
        return admissions;
    }

    public KvReceiverContext admissions(final KvAdmissions admissions)
    {
        this.admissions = admissions;
        return this;
    }

    /** How long a Begin that no admission waits for yet is held before it is refused (0: refused at once). */
    public long beginHoldTimeoutNs()
    {
        return beginHoldTimeoutNs;
    }

    public KvReceiverContext beginHoldTimeoutNs(final long beginHoldTimeoutNs)
    {
        this.beginHoldTimeoutNs = beginHoldTimeoutNs;
        return this;
    }

    /** How many sessions may hold a Begin at once; a Begin beyond them is refused at once. */
    public int maxHeldBegins()
    {
        return maxHeldBegins;
    }

    public KvReceiverContext maxHeldBegins(final int maxHeldBegins)
    {
        this.maxHeldBegins = maxHeldBegins;
        return this;
    }

    /** Where refusals are said, once per source session (standard error by default). */
    public Consumer<String> log()
    {
        return log;
    }

    public KvReceiverContext log(final Consumer<String> log)
    {
        this.log = log;
        return this;
    }
}
