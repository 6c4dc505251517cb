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
import java.util.Set;
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
 * router continues this client's unfinished requests, sending again the tokens its journal held as delivered. The
 * client then sends every request it still waits on again, marked with the index of the next token it lacks
 * ({@code GenerateRequest.resumeFromIndex}): the router continues one it runs (sending again its tokens from that
 * index), serves afresh one of which the client saw nothing (a request lost in the dead router's ingress, never
 * journaled), and answers ROUTER_RESTARTED for one it cannot continue. So every request ends exactly once, with its
 * tokens or one error, through a router restart. Each token carries its index in the request, so a token already
 * passed on is dropped here, and a token past the next index (a gap, which the router never sends) fails the request
 * with INTERNAL rather than being passed on out of order.
 *
 * <p>A client object that replaces one that is gone (its media driver died with the router) takes over the earlier
 * object's unfinished requests through {@link ClientContext#resume}: they are registered before the hello and sent
 * again as above, so their continuation reaches the new object's listeners instead of being dropped as unknown.
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
    /**
     * Requests this object sent again to a router: an answer about one of them after its end (the router may answer
     * a send that crossed the request's last token) is dropped rather than reported as an earlier session's.
     */
    private final Set<Long> sentAgain = ConcurrentHashMap.newKeySet();

    private static final class Pending {
        final GenerateOptions options;
        final TokenListener listener;
        volatile long deadlineNs;
        /** The index of the next token to pass on; receiving thread only (or the connecting thread before it runs). */
        int nextIndex;

        Pending(GenerateOptions options, TokenListener listener, long deadlineNs, int nextIndex) {
            this.options = options;
            this.listener = listener;
            this.deadlineNs = deadlineNs;
            this.nextIndex = nextIndex;
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
                        if (helloDue.compareAndSet(true, false)) { // a new router: it may not hold our requests
                            sayHello();
                            sendPendingAgain();
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
        final long deadlineNs = System.nanoTime() + ctx.requestTimeoutNs();
        for (ClientContext.Resumed r : ctx.resumed()) { // before the hello, so its replies find their listeners
            client.pending.put(r.requestId(), new Pending(r.options(), r.listener(), deadlineNs, r.nextIndex()));
        }
        client.sayHello();
        client.sendPendingAgain();
        AgentRunner.startOnThread(client.receiver);
        return client;
    }

    /**
     * Sends every request this client waits on again, each marked with the next index it lacks: a router that runs it
     * continues it from there, one that never had it and whose tokens the client never saw serves it afresh, and one
     * that cannot continue it answers ROUTER_RESTARTED. Receiving thread (or the connecting thread before it runs).
     */
    private void sendPendingAgain() {
        synchronized (this) { // a submit's put and send happen together, so no request is sent twice fresh
            for (Map.Entry<Long, Pending> e : pending.entrySet()) {
                sentAgain.add(e.getKey());
                if (!send(e.getKey(), e.getValue().options, e.getValue().nextIndex)) {
                    onError(e.getKey(), ErrorCode.NODE_FAILED, "the router is not reachable (request not sent again)");
                }
            }
        }
    }

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
        final boolean sent;
        synchronized (this) {
            pending.put(requestId, new Pending(options, listener, System.nanoTime() + ctx.requestTimeoutNs(), 0));
            sent = send(requestId, options, GenerateRequestEncoder.resumeFromIndexNullValue());
        }
        if (!sent) {
            onError(requestId, ErrorCode.NODE_FAILED, "the router is not reachable (request not sent)");
        }
        return requestId;
    }

    /** Encodes and offers one GenerateRequest; {@code resumeFromIndex} is the null value for a first send. */
    private boolean send(long requestId, GenerateOptions options, int resumeFromIndex) {
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
                    .ignoreEos((short) (options.ignoreEos() ? 1 : 0))
                    .resumeFromIndex(resumeFromIndex);
            final GenerateRequestEncoder.StopStringsEncoder stops = generate.stopStringsCount(options.stop().size());
            for (String s : options.stop()) {
                stops.next().text(s);
            }
            generate.model(options.model()).prompt(options.prompt());
            return offer(MessageHeaderEncoder.ENCODED_LENGTH + generate.encodedLength());
        }
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
        } else if (!sentAgain.remove(requestId)) { // an answer to a send again that crossed the request's end
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
