package io.splitserve.kvtransfer;

import io.aeron.Aeron;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * Configuration of a {@link KvSender}, with defaults for everything except the Aeron client and the lease
 * listener. The lease timeout should exceed the receiver's transfer timeout, so that a live receiver's
 * FAILED_TIMEOUT verdict normally arrives before the sender gives up on its own.
 */
public final class KvSenderContext
{
    public static final String DEFAULT_CHANNEL = "aeron:ipc";
    public static final int DEFAULT_STREAM_ID = 1001;
    public static final int DEFAULT_ACK_STREAM_ID = 1002;
    public static final int DEFAULT_MAX_CHUNK_BYTES = 1024 * 1024;
    /**
     * The IPC MTU a media driver carrying KV should use: with Aeron's default of 1408 bytes a 256 KiB chunk is 190
     * fragments, so a receiver that polls a bounded number of fragments between decode steps moves only a few
     * hundred kilobytes per step; at 32 KiB it moves megabytes.
     */
    public static final int RECOMMENDED_IPC_MTU_LENGTH = 32 * 1024;
    public static final long DEFAULT_LEASE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);
    public static final long DEFAULT_OFFER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(1);

    private Aeron aeron;
    private String channel = DEFAULT_CHANNEL;
    private int streamId = DEFAULT_STREAM_ID;
    private String ackChannel = DEFAULT_CHANNEL;
    private int ackStreamId = DEFAULT_ACK_STREAM_ID;
    private long modelFingerprint;
    private int senderNodeId;
    private int maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES;
    private long leaseTimeoutNs = DEFAULT_LEASE_TIMEOUT_NS;
    private long offerTimeoutNs = DEFAULT_OFFER_TIMEOUT_NS;
    private IdleStrategy backPressureIdleStrategy = new BackoffIdleStrategy();
    private NanoClock nanoClock = SystemNanoClock.INSTANCE;
    private KvLeaseListener leaseListener;

    /**
     * Check the configuration before use.
     *
     * @throws IllegalStateException naming the first missing or invalid setting.
     */
    KvSenderContext conclude()
    {
        if (aeron == null)
        {
            throw new IllegalStateException("KV sender needs an Aeron client");
        }
        if (leaseListener == null)
        {
            throw new IllegalStateException("KV sender needs a lease listener to release KV when a lease ends");
        }
        if (channel == null || ackChannel == null)
        {
            throw new IllegalStateException("KV sender needs a data channel and an ack channel");
        }
        if (maxChunkBytes <= 0 || leaseTimeoutNs <= 0 || offerTimeoutNs <= 0)
        {
            throw new IllegalStateException("KV sender chunk size and timeouts must be positive");
        }
        return this;
    }

    public Aeron aeron()
    {
        return aeron;
    }

    public KvSenderContext aeron(final Aeron aeron)
    {
        this.aeron = aeron;
        return this;
    }

    /** Aeron channel of the KV data stream, e.g. {@code aeron:udp?endpoint=decode-host:40124}. */
    public String channel()
    {
        return channel;
    }

    public KvSenderContext channel(final String channel)
    {
        this.channel = channel;
        return this;
    }

    public int streamId()
    {
        return streamId;
    }

    public KvSenderContext streamId(final int streamId)
    {
        this.streamId = streamId;
        return this;
    }

    /** Aeron channel the receiver's acks arrive on (subscribed by this sender). */
    public String ackChannel()
    {
        return ackChannel;
    }

    public KvSenderContext ackChannel(final String ackChannel)
    {
        this.ackChannel = ackChannel;
        return this;
    }

    public int ackStreamId()
    {
        return ackStreamId;
    }

    public KvSenderContext ackStreamId(final int ackStreamId)
    {
        this.ackStreamId = ackStreamId;
        return this;
    }

    /**
     * This sender's node id, carried in every Begin so the receiver can check it against the prefill node its
     * admission names; 0 (the default) sends none, for senders with no router behind them.
     */
    public int senderNodeId()
    {
        return senderNodeId;
    }

    public KvSenderContext senderNodeId(final int senderNodeId)
    {
        this.senderNodeId = senderNodeId;
        return this;
    }

    /** Identifies the model weights the KV was computed with; the receiver refuses any other. */
    public long modelFingerprint()
    {
        return modelFingerprint;
    }

    public KvSenderContext modelFingerprint(final long modelFingerprint)
    {
        this.modelFingerprint = modelFingerprint;
        return this;
    }

    /** Upper bound of one chunk's payload; must fit the publication's max message length with the chunk header. */
    public int maxChunkBytes()
    {
        return maxChunkBytes;
    }

    public KvSenderContext maxChunkBytes(final int maxChunkBytes)
    {
        this.maxChunkBytes = maxChunkBytes;
        return this;
    }

    /**
     * How long a transfer's lease lasts after its End (or a later send) without an ack before it ends with
     * FAILED_TIMEOUT; before End the lease ends only by ack or by a failing stream.
     */
    public long leaseTimeoutNs()
    {
        return leaseTimeoutNs;
    }

    public KvSenderContext leaseTimeoutNs(final long leaseTimeoutNs)
    {
        this.leaseTimeoutNs = leaseTimeoutNs;
        return this;
    }

    /** How long one message may stay back-pressured before its transfer fails with FAILED_TIMEOUT. */
    public long offerTimeoutNs()
    {
        return offerTimeoutNs;
    }

    public KvSenderContext offerTimeoutNs(final long offerTimeoutNs)
    {
        this.offerTimeoutNs = offerTimeoutNs;
        return this;
    }

    public IdleStrategy backPressureIdleStrategy()
    {
        return backPressureIdleStrategy;
    }

    public KvSenderContext backPressureIdleStrategy(final IdleStrategy backPressureIdleStrategy)
    {
        this.backPressureIdleStrategy = backPressureIdleStrategy;
        return this;
    }

    public NanoClock nanoClock()
    {
        return nanoClock;
    }

    public KvSenderContext nanoClock(final NanoClock nanoClock)
    {
        this.nanoClock = nanoClock;
        return this;
    }

    public KvLeaseListener leaseListener()
    {
        return leaseListener;
    }

    public KvSenderContext leaseListener(final KvLeaseListener leaseListener)
    {
        this.leaseListener = leaseListener;
        return this;
    }
}
