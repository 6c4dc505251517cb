package io.splitserve.prefill;

import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.splitserve.engine.Engine;
import io.splitserve.engine.FirstTokenListener;
import io.splitserve.engine.forward.DeviceKvArena;
import io.splitserve.engine.forward.DeviceLayerListener;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.GpuKvExport;
import io.splitserve.kvtransfer.KvEndpoint;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvKeepAlivePublisher;
import io.splitserve.kvtransfer.KvLeaseListener;
import io.splitserve.kvtransfer.KvSender;
import io.splitserve.kvtransfer.KvPathMode;
import io.splitserve.kvtransfer.KvPathSelector;
import io.splitserve.kvtransfer.KvSenderContext;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.RouterSessionGuard;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.agrona.CloseHelper;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The prefill node as one Agrona agent: it takes PrefillRequests from its control stream, lets {@link PrefillBatcher}
 * form batches of waiting prompts (first come first served up to the token budget and the free pages), runs each batch's prefill on its own engine, streams every
 * prompt's KV layer by layer to the decode node the router named (rows {@code [tokens][kvHeads][headDim]} of the
 * engine's element type, F32 on the CPU backend and BF16 on CUDA, K then V) while later layers compute, sends each
 * prompt's first sampled token to the router in FirstToken before its transfer ends, and reports the transfer's
 * outcome (with the first token again, for routers that predate FirstToken) in PrefillDone.
 *
 * <p>Guarantees: every accepted request gets a PrefillDone; a FirstToken, when sent, comes before it on the same
 * stream (one that cannot be offered is not fatal: PrefillDone still carries the token); a failed KV transfer (not
 * connected, rejected, timed out, checksum) is reported with its status, after the successful PrefillDone if the
 * failure came later. A request this engine can never compute (bad sampling parameters, no KV channel, a prompt the
 * engine refuses) is answered FAILED_INCOMPATIBLE at once; a batch whose prefill throws is reported with its cause
 * ({@link PrefillFailure}: REJECTED_NO_MEMORY only for a lack of pages, otherwise FAILED_PREFILL). A request
 * whose decode node never connects fails after the connect timeout instead of waiting forever. Requests whose
 * decode node is not yet connected do not hold back those behind them. The agent's thread owns the engine and every
 * KV sender; heartbeats and KV keep-alives leave from {@link PrefillLiveness}'s thread, which reports the load this
 * agent last published and never waits for a prefill, so a long prefill neither looks like a dead node to the router
 * nor like a dead sender to a decode node.
 *
 * <p>Prefix caching: the engine caches the pages each prefill computes. A request names how many leading prompt tokens
 * its decode node likely holds in its own cache (the router's word); the prefill takes at most that many from this
 * engine's cache, computes the rest and sends only what it computed, telling the decode node to take the leading
 * tokens from its cache (the node never reads KV back out of pages, so it cannot send more than it computed, and it
 * skips no more than the decode node holds). A decode node that no longer holds them (evicted meanwhile) answers
 * REJECTED_PREFIX_MISSING; the request then heads the queue again and is prefilled and sent in full, without a second
 * FirstToken or a second successful PrefillDone (the router's byte count keeps the first transfer's figure).
 */
public final class PrefillNodeAgent implements Agent, KvLeaseListener {
    private static final int FRAGMENT_LIMIT = 16;
    private static final long HELLO_INTERVAL_NS = 1_000_000_000L;

    private final PrefillNodeContext ctx;
    private final Engine engine;
    private final long fingerprint;
    private final KvGeometry geometry;
    private final Subscription control;
    private final FragmentAssembler assembler;
    private final RouterProxy router;
    private final Map<String, KvSender> senders = new HashMap<>();
    private final PrefillBatcher batcher;
    /** Decode nodes found unconnected while the current batch forms: their later requests wait too, in order. */
    private final Set<KvSender> unconnected = Collections.newSetFromMap(new IdentityHashMap<>());
    // a stream may connect while a batch forms; a decode node's requests must not then be taken out of order
    private final Predicate<PendingPrefill> kvConnected = p -> {
        if (unconnected.contains(p.sender)) {
            return false;
        }
        if (p.sender.isConnected()) {
            return true;
        }
        unconnected.add(p.sender);
        return false;
    };
    private final Long2ObjectHashMap<PendingPrefill> streaming = new Long2ObjectHashMap<>();
    private final List<PendingPrefill> batch = new ArrayList<>();
    private final List<PendingPrefill> expired = new ArrayList<>();
    private final List<int[]> prompts = new ArrayList<>();
    private final List<SamplingParams> params = new ArrayList<>();
    private final UnsafeBuffer kvView = new UnsafeBuffer(0, 0);
    private final DeviceKvArena arena;
    private final byte[] arenaHandle;
    private final KvPathSelector paths;
    private final Long2ObjectHashMap<ExportedBatch> exports = new Long2ObjectHashMap<>();
    private final DeviceLayerListener announceLayer = this::announceLayer;
    private final FirstTokenListener firstTokens = this::onFirstTokens;
    private boolean arenaFullSaid;
    private volatile long prefixResends;
    private final EpochNanoClock epochClock = new SystemEpochNanoClock();
    private long lastBatchNanos;
    private final PrefillLiveness liveness;
    private final AgentRunner livenessRunner;
    private long nextHeartbeatNs;
    private long nextHelloNs;

    /** Loads the model and opens this node's streams; the agent starts working when its runner starts it. */
    public PrefillNodeAgent(PrefillNodeContext context) throws ModelLoadException {
        this.ctx = context.conclude();
        if (ctx.kvPathMode() != KvPathMode.HOST) {
            ctx.engineOptions().kvExportFraction(ctx.kvExportFraction()); // used by the CUDA backend only
        }
        this.engine = Engine.load(ctx.modelDir(), ctx.engineOptions());
        this.arena = engine.deviceKvArena();
        this.arenaHandle = arena == null ? new byte[0] : arena.ipcHandle();
        final KvEndpoint local = arena == null ? KvEndpoint.UNKNOWN : new KvEndpoint(arena.hostId(), arena.deviceUuid());
        try {
            this.paths = new KvPathSelector(ctx.kvPathMode(), local,
                    uuid -> KvPathSelector.Reach.valueOf(arena.reach(uuid).name()),
                    line -> ctx.log().accept("prefill-node-" + ctx.nodeId() + ": " + line));
        } catch (IllegalArgumentException e) {
            engine.close();
            throw e;
        }
        this.fingerprint = ModelFingerprint.of(ctx.modelDir());
        this.geometry = new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(),
                engine.config().headDim(), KvDtype.valueOf(engine.kvWireType().name()));
        this.control = ctx.aeron().addSubscription(ctx.controlChannel(), ctx.controlStreamId());
        final ExclusivePublication toRouter = ctx.aeron().addExclusivePublication(ctx.routerChannel(), ctx.routerStreamId());
        this.router = new RouterProxy(toRouter, ctx.sharedSecret());
        final RouterSessionGuard routerSession = new RouterSessionGuard(ctx.sharedSecret(),
                line -> System.err.println(roleName() + ": " + line));
        this.assembler = new FragmentAssembler(new PrefillRequestAdapter(this, routerSession));
        this.batcher = new PrefillBatcher(ctx.prefillTokenBudget(), engine.options().pageSize(), ctx.connectTimeoutNs());
        this.liveness = new PrefillLiveness(ctx.nodeId(), ctx.heartbeatIntervalNs(),
                ctx.aeron().addExclusivePublication(ctx.routerChannel(), ctx.routerStreamId()), load());
        this.livenessRunner = new AgentRunner(new SleepingMillisIdleStrategy(1), Throwable::printStackTrace, null, liveness);
    }

    @Override
    public String roleName() {
        return "prefill-node-" + ctx.nodeId();
    }

    /** Prompt tokens waiting for a batch. */
    public long queuedTokens() {
        return batcher.queuedTokens();
    }

    /** Transfers sent again in full since the node started, their decode node having lost the prefix they left out. */
    public long prefixResends() {
        return prefixResends;
    }

    @Override
    public int doWork() {
        int work = control.poll(assembler, FRAGMENT_LIMIT);
        for (KvSender sender : senders.values()) {
            work += sender.doWork();
        }
        final long now = System.nanoTime();
        if (now - nextHelloNs >= 0 && router.isConnected()) {
            if (router.hello(ctx, fingerprint, engine.totalPages(), engine.options().pageSize(),
                    liveness.sessionId())) {
                nextHelloNs = now + HELLO_INTERVAL_NS;
            }
        }
        if (now - nextHeartbeatNs >= 0) {
            nextHeartbeatNs = now + ctx.heartbeatIntervalNs();
            liveness.publish(load());
            work++;
        }
        if (!batcher.isEmpty()) {
            work += runBatch(now);
        }
        return work;
    }

    void onPrefillRequest(long requestId, int[] tokens, int maxNewTokens, float temperature, float topP, int topK,
                          long seed, int sampledTokens, String kvChannel, int kvStreamId, String kvAckChannel,
                          int kvAckStreamId, byte[] decodeKvEndpoint, int decodeCachedTokens, long attemptToken) {
        final SamplingParams sampling;
        try {
            sampling = new SamplingParams(temperature, topK, topP, 0, seed);
        } catch (IllegalArgumentException e) {
            router.prefillDone(requestId, ctx.nodeId(), -1, tokens.length, 0, KvTransferStatus.FAILED_INCOMPATIBLE, 0,
                    KvPath.HOST);
            return;
        }
        if (kvChannel.isEmpty()) {
            router.prefillDone(requestId, ctx.nodeId(), -1, tokens.length, 0, KvTransferStatus.FAILED_INCOMPATIBLE, 0,
                    KvPath.HOST);
            return;
        }
        try {
            engine.validatePrompt(tokens);
        } catch (IllegalArgumentException e) {
            // empty, too long for the model or the KV cache, or a token outside the vocabulary: never computable here
            router.prefillDone(requestId, ctx.nodeId(), -1, tokens.length, 0, KvTransferStatus.FAILED_INCOMPATIBLE, 0,
                    KvPath.HOST);
            return;
        }
        final String peerKey = kvChannel + '#' + kvStreamId + '|' + kvAckChannel + '#' + kvAckStreamId;
        final PendingPrefill pending = new PendingPrefill(requestId, tokens, sampling, sampledTokens,
                senderFor(peerKey, kvChannel, kvStreamId, kvAckChannel, kvAckStreamId), decodeKvEndpoint,
                System.nanoTime());
        pending.peerKey = peerKey;
        pending.kvPath = paths.choose(peerKey, KvEndpoint.fromBytes(decodeKvEndpoint));
        pending.decodeCachedTokens = decodeCachedTokens;
        pending.attemptToken = attemptToken;
        batcher.add(pending);
    }

    private KvSender senderFor(String key, String channel, int streamId, String ackChannel, int ackStreamId) {
        KvSender sender = senders.get(key);
        if (sender == null) {
            sender = new KvSender(new KvSenderContext()
                    .aeron(ctx.aeron())
                    .channel(channel)
                    .streamId(streamId)
                    .ackChannel(ackChannel)
                    .ackStreamId(ackStreamId)
                    .modelFingerprint(fingerprint)
                    .senderNodeId(ctx.nodeId())
                    .maxChunkBytes(ctx.kvChunkBytes())
                    .leaseTimeoutNs(ctx.kvLeaseTimeoutNs())
                    .leaseListener(this));
            senders.put(key, sender);
            liveness.add(new KvKeepAlivePublisher(ctx.aeron(), sender));
        }
        return sender;
    }

    private int runBatch(long now) {
        unconnected.clear();
        batcher.nextBatch(now, engine.freePages(), kvConnected, batch, expired);
        for (PendingPrefill p : expired) {
            router.prefillDone(p.requestId, ctx.nodeId(), -1, p.promptTokens.length, 0,
                    KvTransferStatus.FAILED_DISCONNECTED, 0, KvPath.HOST);
        }
        if (batch.isEmpty()) {
            return 0;
        }
        final long start = System.nanoTime();
        prompts.clear();
        params.clear();
        final int[] sampledBefore = new int[batch.size()];
        final int[] cached = new int[batch.size()];
        int batchTokens = 0;
        for (int i = 0; i < batch.size(); i++) {
            final PendingPrefill p = batch.get(i);
            p.cachedTokens = engine.cachedPrefixTokens(p.promptTokens, p.decodeCachedTokens);
            cached[i] = p.cachedTokens;
            batchTokens += p.promptTokens.length - p.cachedTokens;
        }
        final ExportedBatch export = exportRange(batchTokens);
        int rowStart = 0;
        for (int i = 0; i < batch.size(); i++) {
            final PendingPrefill p = batch.get(i);
            streaming.put(p.requestId, p);
            if (export != null) {
                p.kvPath = KvPath.GPU;
                exports.put(p.requestId, export); // before begin, whose failure ends the lease (and releases) at once
                p.streaming = p.sender.begin(p.requestId, p.attemptToken, geometry, p.promptTokens.length,
                        p.cachedTokens, new GpuKvExport(arena.hostId(), arena.deviceUuid(), arena.processId(),
                                arena.arenaId(), arenaHandle, export.offset() + (long) rowStart * geometry.rowBytes(),
                                (long) batchTokens * geometry.rowBytes()), p.promptTokens);
            } else {
                p.kvPath = KvPath.HOST;
                p.streaming = p.sender.begin(p.requestId, p.attemptToken, geometry, p.promptTokens.length,
                        p.cachedTokens, null, p.promptTokens);
            }
            rowStart += p.promptTokens.length - p.cachedTokens;
            prompts.add(p.promptTokens);
            params.add(p.params);
            sampledBefore[i] = p.sampledTokens;
        }
        final int[] first;
        try {
            first = export != null
                    ? engine.prefillToDevice(prompts, params, sampledBefore, cached, export.offset(), announceLayer,
                            firstTokens)
                    : engine.prefill(prompts, params, sampledBefore, cached, this::sendLayer, firstTokens);
        } catch (RuntimeException e) {
            final KvTransferStatus status = PrefillFailure.statusOf(e);
            for (PendingPrefill p : batch) {
                failIfStreaming(p, status);
            }
            return 1;
        }
        lastBatchNanos = System.nanoTime() - start;
        for (int i = 0; i < batch.size(); i++) {
            final PendingPrefill p = batch.get(i);
            if (p.streaming && p.sender.end(p.requestId, first[i]) && !p.doneSent) {
                p.doneSent = true;
                router.prefillDone(p.requestId, ctx.nodeId(), first[i], p.promptTokens.length, lastBatchNanos,
                        KvTransferStatus.OK, geometry.totalBytes(p.promptTokens.length - p.cachedTokens), p.kvPath);
            }
        }
        return batch.size();
    }

    /**
     * The arena range a batch's KV is exported into when its prompts take the GPU path (the batcher keeps a batch to
     * one path), or null for the host path: a batch the arena has no room for now goes the host way too (said once
     * per run of such batches).
     */
    private ExportedBatch exportRange(int batchTokens) {
        if (arena == null) {
            return null;
        }
        for (PendingPrefill p : batch) {
            if (p.kvPath != KvPath.GPU) {
                return null;
            }
        }
        final long offset = arena.allocate(engine.deviceExportBytes(batchTokens));
        if (offset < 0) {
            if (!arenaFullSaid) {
                arenaFullSaid = true;
                ctx.log().accept(roleName() + ": the KV export arena (" + arena.capacity() / (1 << 20)
                        + " MiB) has no room for a batch of " + batchTokens + " tokens now; such batches take the host"
                        + " path until room returns");
            }
            return null;
        }
        arenaFullSaid = false;
        return new ExportedBatch(arena, offset, batch.size());
    }

    /** GPU path: a layer of the batch lies in the export arena; each prompt's decode node hears of it with its checksums. */
    private void announceLayer(int layer, int[] crcs) {
        for (int i = 0; i < batch.size(); i++) {
            final PendingPrefill p = batch.get(i);
            if (p.streaming) {
                p.sender.layerReady(p.requestId, layer, crcs[2 * i], crcs[2 * i + 1]);
            }
        }
    }

    /** The batch's first tokens are sampled (maybe before its last layer was handed over): the router gets each now. */
    private void onFirstTokens(int[] tokens) {
        for (int i = 0; i < batch.size(); i++) {
            onFirstToken(batch.get(i), tokens[i]);
        }
    }

    /**
     * A prompt's first token is sampled: the router gets it at once, while the prompt's KV may still be streaming. A
     * prompt whose transfer already failed sends none (its failing PrefillDone is on the way or already sent).
     */
    private void onFirstToken(PendingPrefill p, int token) {
        if (p.streaming && !p.firstTokenSent) {
            p.firstTokenSent = true;
            router.firstToken(p.requestId, ctx.nodeId(), token, p.promptTokens.length, epochClock.nanoTime());
        }
    }

    /** Sends a prompt's layer straight from the engine's buffers (pinned staging on the GPU), already wire bytes. */
    private void sendLayer(int prompt, int layer, ByteBuffer keys, int keyOffset, ByteBuffer values, int valueOffset,
                           int tokens) {
        final PendingPrefill p = batch.get(prompt);
        if (!p.streaming) {
            return;
        }
        final int bytes = (int) geometry.partBytes(tokens);
        kvView.wrap(keys, keyOffset, bytes);
        if (!p.sender.sendPart(p.requestId, layer, KvPart.K, kvView, 0)) {
            return;
        }
        kvView.wrap(values, valueOffset, bytes);
        p.sender.sendPart(p.requestId, layer, KvPart.V, kvView, 0);
    }

    private void failIfStreaming(PendingPrefill p, KvTransferStatus status) {
        if (streaming.remove(p.requestId) != null) {
            router.prefillDone(p.requestId, ctx.nodeId(), -1, p.promptTokens.length, 0, status, 0, p.kvPath);
        }
    }

    /**
     * The KV sender's lease on a request ended: its hold on an export range ends with it; OK needs nothing more; any
     * failure is reported to the router, and a peer's refusal of the GPU path may move that peer to the host path.
     */
    @Override
    public void onLeaseEnded(long requestId, KvTransferStatus status) {
        final ExportedBatch export = exports.remove(requestId);
        if (export != null) {
            export.release();
        }
        final PendingPrefill p = streaming.remove(requestId);
        if (p == null) {
            return;
        }
        p.streaming = false;
        if (status == KvTransferStatus.REJECTED_PREFIX_MISSING && p.cachedTokens > 0) {
            prefixResends++;
            p.decodeCachedTokens = 0; // send it whole: the decode node's cache no longer has its prefix
            batcher.addFirst(p);
            return;
        }
        if (status != KvTransferStatus.OK) {
            paths.onTransferFailed(p.peerKey, status);
            router.prefillDone(requestId, ctx.nodeId(), -1, p.promptTokens.length, 0, status, 0, p.kvPath);
        }
    }

    private PrefillLiveness.Load load() {
        return new PrefillLiveness.Load(engine.freePages(), batcher.queuedTokens(), batcher.queued(), lastBatchNanos,
                engine.prefixCacheStats(), prefixResends);
    }

    /** The agent's thread drives the engine from here on; heartbeats and keep-alives leave from their own thread. */
    @Override
    public void onStart() {
        engine.bindToCurrentThread();
        AgentRunner.startOnThread(livenessRunner);
    }

    @Override
    public void onClose() {
        CloseHelper.close(livenessRunner); // stops the keep-alives before their senders close
        CloseHelper.closeAll(senders.values());
        CloseHelper.closeAll(control, router);
        engine.close();
    }
}
