package io.splitserve.client;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.splitserve.sbe.CancelRequestEncoder;
import io.splitserve.sbe.ClientHelloEncoder;
import io.splitserve.sbe.HelloSigner;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.GenerateRequestEncoder;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.PromptFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.CloseHelper;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;

/**
 * A Java client of the SplitServe router over Aeron (SBE): submit a request and receive its tokens through a
 * {@link TokenListener}, a {@link TokenStream} iterator, or a blocking {@link #generate}; cancel by request id.
 *
 * <p>Guarantees: each request gets its tokens in order and exactly once, then nothing, or exactly one
 * {@link SplitServeException} naming the failure (the router's error codes, plus TIMEOUT when no event came within
 * the request timeout, in which case the request is also cancelled at the router). Request ids are unique across
 * sessions of the same client id. Thread-safe: any thread may submit and cancel; listeners run on the client's one
 * receiving thread.
 *
 * <p>Across a router restart: when a new router's egress stream appears, the client says hello again, and the
 * router continues this client's unfinished requests, sending again the tokens its journal held as delivered. Each
 * token carries its index in the request, so a token already passed on (the journal may lag what was sent) is
 * dropped here, and a token past the next index (a gap, which the router never sends) fails the request with
 * INTERNAL rather than being passed on out of order.
 */
public final class SplitServeClient implements AutoCloseable {
    private static final long TIMEOUT_CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final ClientContext ctx;
    private final Aeron aeron;
    private final boolean ownsAeron;
    private final Publication ingress;
    private final Subscription egress;
    private final AgentRunner receiver;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong nextRequestId = new AtomicLong(System.currentTimeMillis() * 1000);
    private final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(4096);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final GenerateRequestEncoder generate = new GenerateRequestEncoder();
    private final CancelRequestEncoder cancel = new CancelRequestEncoder();
    private final ClientHelloEncoder hello = new ClientHelloEncoder();
    private final HelloSigner signer;
    /** Set when a router's egress image appears after the first hello: the receiving thread says hello again. */
    private final AtomicBoolean helloDue = new AtomicBoolean();

    private static final class Pending {
        final TokenListener listener;
        volatile long deadlineNs;
        /** The index of the next token to pass on; receiving thread only. */
        int nextIndex;

        Pending(TokenListener listener, long deadlineNs) {
            this.listener = listener;
            this.deadlineNs = deadlineNs;
        }
    }

    private SplitServeClient(ClientContext ctx, Aeron aeron, boolean ownsAeron) {
        this.ctx = ctx;
        this.signer = new HelloSigner(ctx.sharedSecret());
        this.aeron = aeron;
        this.ownsAeron = ownsAeron;
        this.egress = aeron.addSubscription(ctx.egressChannel(), ctx.egressStreamId(), image -> helloDue.set(true),
                image -> { });
        this.ingress = aeron.addPublication(ctx.ingressChannel(), ctx.ingressStreamId());
        final FragmentAssembler assembler = new FragmentAssembler(new EgressAdapter(ctx.clientId(), this));
        this.receiver = new AgentRunner(new BackoffIdleStrategy(1, 10, 1_000, 100_000), Throwable::printStackTrace,
                null, new Agent() {
                    private long nextCheckNs;

                    @Override
                    public int doWork() {
                        int work = 0;
                        if (helloDue.compareAndSet(true, false)) {
                            sayHello();
                            work++;
                        }
                        work += egress.poll(assembler, 64);
                        final long now = System.nanoTime();
                        if (now - nextCheckNs >= 0) {
                            nextCheckNs = now + TIMEOUT_CHECK_INTERVAL_NS;
                            work += expire(now);
                        }
                        return work;
                    }

                    @Override
                    public String roleName() {
                        return "splitserve-client-" + ctx.clientId();
                    }
                });
    }

    /**
     * Connects to the router through the media driver of {@code ctx}, waits until the router hears this client and
     * this client hears the router, and says hello (so the router reports any request an earlier session with this
     * client id left unfinished).
     *
     * @throws SplitServeException with TIMEOUT when the router is not reachable within the connect timeout.
     */
    public static SplitServeClient connect(ClientContext ctx) {
        final Aeron.Context aeronCtx = new Aeron.Context();
        if (ctx.aeronDirectoryName() != null) {
            aeronCtx.aeronDirectoryName(ctx.aeronDirectoryName());
        }
        return start(ctx, Aeron.connect(aeronCtx), true);
    }

    /** As {@link #connect(ClientContext)} over an existing Aeron client, which stays open when this one closes. */
    public static SplitServeClient connect(ClientContext ctx, Aeron aeron) {
        return start(ctx, aeron, false);
    }

    private static SplitServeClient start(ClientContext ctx, Aeron aeron, boolean ownsAeron) {
        final SplitServeClient client = new SplitServeClient(ctx, aeron, ownsAeron);
        final long deadline = System.nanoTime() + ctx.connectTimeoutNs();
        while (!(client.ingress.isConnected() && client.egress.isConnected())) {
            if (System.nanoTime() - deadline > 0) {
                client.close();
                throw new SplitServeException(ErrorCode.TIMEOUT, "no router answered on " + ctx.ingressChannel()
                        + " stream " + ctx.ingressStreamId() + " within " + TimeUnit.NANOSECONDS.toMillis(ctx.connectTimeoutNs())
                        + " ms");
            }
            sleepBriefly();
        }
        client.helloDue.set(false); // this router's image: the hello below is for it
        client.sayHello();
        AgentRunner.startOnThread(client.receiver);
        return client;
    }

    /** Tells the router this client id is here, so it continues the requests an earlier router left unfinished. */
    /** Says hello to the router, with a fresh proof of the shared secret when one is configured. */
    private void sayHello() {
        synchronized (this) {
            hello.wrapAndApplyHeader(buffer, 0, header).clientId(ctx.clientId())
                    .proofTimestampNanos(signer.timestampNanos()).proofNonce(signer.nonce());
            final byte[] proof = signer.proofOf(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
            hello.putProof(proof, 0, proof.length);
            offer(MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
        }
    }

    public long clientId() {
        return ctx.clientId();
    }

    /**
     * Sends a request; its events go to {@code listener}. Returns the request id. If the request cannot even be sent
     * (router gone), the listener gets the error before this returns.
     */
    public long submit(GenerateOptions options, TokenListener listener) {
        final long requestId = nextRequestId.incrementAndGet();
        pending.put(requestId, new Pending(listener, System.nanoTime() + ctx.requestTimeoutNs()));
        final boolean sent;
        synchronized (this) {
            generate.wrapAndApplyHeader(buffer, 0, header)
                    .requestId(requestId)
                    .maxNewTokens(options.maxTokens())
                    .temperature(options.temperature())
                    .topP(options.topP())
                    .topK(options.topK())
                    .seed(options.seed())
                    .promptFormat(options.chat() ? PromptFormat.CHAT_JSON : PromptFormat.TEXT)
                    .priority((byte) 0)
                    .clientId(ctx.clientId())
                    .ignoreEos((short) (options.ignoreEos() ? 1 : 0));
            final GenerateRequestEncoder.StopStringsEncoder stops = generate.stopStringsCount(options.stop().size());
            for (String s : options.stop()) {
                stops.next().text(s);
            }
            generate.model(options.model()).prompt(options.prompt());
            sent = offer(MessageHeaderEncoder.ENCODED_LENGTH + generate.encodedLength());
        }
        if (!sent) {
            onError(requestId, ErrorCode.NODE_FAILED, "the router is not reachable (request not sent)");
        }
        return requestId;
    }

    /** Sends a request and returns its events as a blocking iterator. */
    public TokenStream stream(GenerateOptions options) {
        final TokenStream stream = new TokenStream(this, ctx.requestTimeoutNs() + TimeUnit.SECONDS.toNanos(5));
        stream.start(submit(options, stream.listener()));
        return stream;
    }

    /** Sends a request and waits for its end. @throws SplitServeException when it ends in an error. */
    public Completion generate(GenerateOptions options) {
        final StringBuilder text = new StringBuilder();
        final IntArrayList ids = new IntArrayList();
        try (TokenStream stream = stream(options)) {
            while (stream.hasNext()) {
                final Token token = stream.next();
                text.append(token.text());
                if (token.tokenId() >= 0) {
                    ids.addInt(token.tokenId());
                }
                if (token.isLast()) {
                    return new Completion(text.toString(), ids.toIntArray(), token.finish(), token.promptTokens());
                }
            }
        }
        throw new IllegalStateException("the stream ended without a final token");
    }

    /** Asks the router to stop the request; it ends with a CANCELLED event (or nothing, if it had already ended). */
    public void cancel(long requestId) {
        synchronized (this) {
            cancel.wrapAndApplyHeader(buffer, 0, header).requestId(requestId).clientId(ctx.clientId());
            offer(MessageHeaderEncoder.ENCODED_LENGTH + cancel.encodedLength());
        }
    }

    /** Requests submitted and not yet ended. */
    public int inFlight() {
        return pending.size();
    }

    void onToken(Token token) {
        final Pending p = pending.get(token.requestId());
        if (p == null) {
            return;
        }
        p.deadlineNs = System.nanoTime() + ctx.requestTimeoutNs();
        if (token.index() < p.nextIndex) {
            return; // sent again by a router continuing the request after a restart
        }
        if (token.index() > p.nextIndex) {
            if (pending.remove(token.requestId(), p)) {
                cancel(token.requestId());
                p.listener.onError(new SplitServeException(ErrorCode.INTERNAL, "request " + token.requestId()
                        + " got token index " + token.index() + " when " + p.nextIndex + " was next"));
            }
            return;
        }
        p.nextIndex++;
        if (token.isLast()) {
            pending.remove(token.requestId(), p);
        }
        p.listener.onToken(token);
    }

    void onError(long requestId, ErrorCode code, String message) {
        final Pending p = pending.remove(requestId);
        final SplitServeException error = new SplitServeException(code, message);
        if (p != null) {
            p.listener.onError(error);
        } else {
            ctx.earlierSessionFailures().accept(requestId, error);
        }
    }

    private int expire(long now) {
        int expired = 0;
        for (Map.Entry<Long, Pending> e : pending.entrySet()) {
            if (now - e.getValue().deadlineNs > 0 && pending.remove(e.getKey(), e.getValue())) {
                cancel(e.getKey());
                e.getValue().listener.onError(new SplitServeException(ErrorCode.TIMEOUT, "no answer to request "
                        + e.getKey() + " within " + TimeUnit.NANOSECONDS.toMillis(ctx.requestTimeoutNs()) + " ms"));
                expired++;
            }
        }
        return expired;
    }

    private boolean offer(int length) {
        final long deadline = System.nanoTime() + ctx.connectTimeoutNs();
        while (true) {
            final long result = ingress.offer(buffer, 0, length);
            if (result > 0) {
                return true;
            }
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED
                    || System.nanoTime() - deadline > 0) {
                return false;
            }
            sleepBriefly();
        }
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Stops receiving; requests still running get no more events. */
    @Override
    public void close() {
        CloseHelper.closeAll(receiver, ingress, egress);
        if (ownsAeron) {
            CloseHelper.close(aeron);
        }
    }
}
