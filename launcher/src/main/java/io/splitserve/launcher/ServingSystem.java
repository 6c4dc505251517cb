package io.splitserve.launcher;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.splitserve.decode.DecodeNodeAgent;
import io.splitserve.decode.DecodeNodeContext;
import io.splitserve.engine.Backend;
import io.splitserve.engine.EngineOptions;
import io.splitserve.kvtransfer.KvPathMode;
import io.splitserve.model.ModelLoadException;
import io.splitserve.kvtransfer.KvSenderContext;
import io.splitserve.prefill.PrefillNodeAgent;
import io.splitserve.prefill.PrefillNodeContext;
import io.splitserve.router.RouterAgent;
import io.splitserve.router.RouterContext;
import io.splitserve.router.ServedModel;
import io.splitserve.tokenizer.TokenizerException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * A whole SplitServe in one JVM over an embedded media driver (IPC): a router, N prefill nodes and M decode nodes
 * (or M colocated nodes), each an agent on its own thread. The setup behind {@code splitserve serve} and the
 * end-to-end tests. Node ids are 1..N for prefill and 101..100+M for decode/colocated nodes. On the CUDA backend the
 * prefill nodes take their GPUs in turn from one list and the decode nodes from another (lists may overlap),
 * nodes sharing a GPU splitting its KV memory evenly. Closing it stops every agent and the driver and deletes the driver's directory.
 */
public final class ServingSystem implements AutoCloseable {
    /** What to start; defaults: the given model, 1 prefill + 1 decode node, default engine settings. */
    public static final class Options {
        Path modelDir;
        String modelName;
        String aeronDir;
        int prefillNodes = 1;
        int decodeNodes = 1;
        boolean colocated;
        int pageSize = EngineOptions.DEFAULT_PAGE_SIZE;
        long kvCacheBytes = EngineOptions.DEFAULT_KV_CACHE_BYTES;
        int decodePages;
        int maxBatchSize = DecodeNodeContext.DEFAULT_MAX_BATCH_SIZE;
        int prefillTokenBudget = PrefillNodeContext.DEFAULT_PREFILL_TOKEN_BUDGET;
        Backend backend = Backend.CPU;
        int[] prefillGpus = {0};
        int[] decodeGpus = {0};
        double gpuMemFraction = EngineOptions.DEFAULT_MEM_FRACTION;
        boolean kvLayerImport = true;
        KvPathMode kvPath = KvPathMode.AUTO;
        long heartbeatTimeoutNs = RouterContext.DEFAULT_HEARTBEAT_TIMEOUT_NS;
        boolean prefixCaching = true;
        Consumer<RouterContext> routerSettings = ctx -> { };
        byte[] sharedSecret;

        public Options modelDir(Path dir) { this.modelDir = dir; return this; }
        public Options modelName(String name) { this.modelName = name; return this; }
        /** The embedded driver's directory (must be unique per system); a fresh one under the temp dir if unset. */
        public Options aeronDir(String dir) { this.aeronDir = dir; return this; }
        public Options prefillNodes(int n) { this.prefillNodes = n; return this; }
        public Options decodeNodes(int n) { this.decodeNodes = n; return this; }
        public Options colocated(boolean colocated) { this.colocated = colocated; return this; }
        public Options pageSize(int tokens) { this.pageSize = tokens; return this; }
        public Options kvCacheBytes(long bytes) { this.kvCacheBytes = bytes; return this; }
        /** Fixes each decode node's page count (0: derived from the KV cache size). */
        public Options decodePages(int pages) { this.decodePages = pages; return this; }
        public Options maxBatchSize(int n) { this.maxBatchSize = n; return this; }
        public Options prefillTokenBudget(int tokens) { this.prefillTokenBudget = tokens; return this; }
        public Options backend(Backend backend) { this.backend = backend; return this; }
        /** GPU ordinals the prefill nodes take in turn on the CUDA backend. */
        public Options prefillGpu(int... gpus) { this.prefillGpus = gpus.clone(); return this; }
        /** GPU ordinals the decode (or colocated) nodes take in turn on the CUDA backend; may include prefill GPUs. */
        public Options decodeGpu(int... gpus) { this.decodeGpus = gpus.clone(); return this; }
        /** Share of each GPU's free memory its nodes' KV pools take together. */
        public Options gpuMemFraction(double fraction) { this.gpuMemFraction = fraction; return this; }
        /** Decode nodes import each arriving KV layer at once (true) or a prompt's whole KV at admission. */
        public Options kvLayerImport(boolean layers) { this.kvLayerImport = layers; return this; }
        /** How prefill nodes move KV to decode nodes (GPU to GPU where possible by default). */
        public Options kvPath(KvPathMode mode) { this.kvPath = mode; return this; }
        public Options heartbeatTimeoutNs(long ns) { this.heartbeatTimeoutNs = ns; return this; }
        /** Whether nodes cache prompt prefixes, and so whether the router places by them (on by default). */
        public Options prefixCaching(boolean enabled) { this.prefixCaching = enabled; return this; }
        /** Further router settings (lengths, queue bound, journal). */
        public Options routerSettings(Consumer<RouterContext> settings) { this.routerSettings = settings; return this; }
        /** The shared secret every node proves to the router (and Aeron clients must prove); null for none. */
        public Options sharedSecret(byte[] secret) { this.sharedSecret = secret; return this; }
    }

    private final MediaDriver driver;
    private final Aeron aeron;
    private final Options options;
    private RouterAgent router;
    private AgentRunner routerRunner;
    private final List<AgentRunner> nodeRunners = new ArrayList<>();
    private final List<DecodeNodeAgent> decodeAgents = new ArrayList<>();

    private ServingSystem(Options o) throws ModelLoadException, TokenizerException {
        this.options = o;
        final String dir = o.aeronDir != null ? o.aeronDir
                : Path.of(System.getProperty("java.io.tmpdir"), "splitserve-" + ProcessHandle.current().pid() + "-"
                + System.nanoTime()).toString();
        driver = MediaDriver.launchEmbedded(ipcDriver(dir));
        try {
            aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
            router = new RouterAgent(routerContext());
            routerRunner = start(new AgentRunner(routerIdle(), Throwable::printStackTrace, null, router));
            final int prefillNodes = o.colocated ? 0 : o.prefillNodes;
            final GpuPlacement placement = new GpuPlacement(o.prefillGpus, prefillNodes, o.decodeGpus, o.decodeNodes);
            for (int i = 1; i <= prefillNodes; i++) {
                final PrefillNodeAgent agent = new PrefillNodeAgent(new PrefillNodeContext().aeron(aeron).nodeId(i)
                        .modelDir(o.modelDir).modelName(o.modelName).prefillTokenBudget(o.prefillTokenBudget)
                        .sharedSecret(o.sharedSecret)
                        .kvPathMode(o.kvPath).engineOptions(engineOptions(o, placement.prefill(i - 1))));
                nodeRunners.add(start(new AgentRunner(idle(), Throwable::printStackTrace, null, agent)));
            }
            for (int i = 1; i <= o.decodeNodes; i++) {
                final DecodeNodeAgent agent = new DecodeNodeAgent(new DecodeNodeContext().aeron(aeron).nodeId(100 + i)
                        .modelDir(o.modelDir).modelName(o.modelName).colocated(o.colocated).maxBatchSize(o.maxBatchSize)
                        .sharedSecret(o.sharedSecret)
                        .kvLayerImport(o.kvLayerImport)
                        .engineOptions(engineOptions(o, placement.decode(i - 1))
                                .maxPages(o.decodePages).prefillTokenBudget(o.prefillTokenBudget)));
                decodeAgents.add(agent);
                nodeRunners.add(start(new AgentRunner(idle(), Throwable::printStackTrace, null, agent)));
            }
        } catch (RuntimeException | ModelLoadException | TokenizerException e) {
            close();
            throw e;
        }
    }

    private RouterContext routerContext() throws ModelLoadException, TokenizerException {
        final RouterContext routerCtx = new RouterContext().aeron(aeron)
                .model(ServedModel.load(options.modelDir, options.modelName))
                .heartbeatTimeoutNs(options.heartbeatTimeoutNs).prefixCaching(options.prefixCaching)
                .sharedSecret(options.sharedSecret);
        options.routerSettings.accept(routerCtx);
        return routerCtx;
    }

    /**
     * Stops the router as if it crashed (its agent stops and closes its streams and journal; the nodes, the driver and
     * connected clients stay) and starts a new one with the same settings, which reads the same journal.
     */
    public void restartRouter() throws ModelLoadException, TokenizerException {
        CloseHelper.close(routerRunner);
        router = new RouterAgent(routerContext());
        routerRunner = start(new AgentRunner(routerIdle(), Throwable::printStackTrace, null, router));
    }

    /**
     * A node's engine settings on its GPU, its KV memory share following its place among that GPU's nodes, and the
     * prefix-caching switch the router shares.
     */
    private static EngineOptions engineOptions(Options o, GpuPlacement.Slot slot) {
        return new EngineOptions().backend(o.backend).gpu(slot.gpu()).pageSize(o.pageSize).kvCacheBytes(o.kvCacheBytes)
                .memFraction(ModelOptions.gpuShare(o.gpuMemFraction, slot.position(), slot.sharing()))
                .prefixCaching(o.prefixCaching);
    }

    public static ServingSystem start(Options options) throws ModelLoadException, TokenizerException {
        return new ServingSystem(options);
    }

    /**
     * An embedded driver for one JVM: IPC terms of 16 MiB (KV chunks up to 2 MiB) in fragments of 32 KiB (so the
     * decode node's bounded poll between steps moves megabytes of KV, not kilobytes) and prompt dead-peer detection
     * (image liveness). Client liveness is generous: a client's conductor that a long pause (loading gigabytes of
     * weights, a full collection on a busy machine) keeps from its duty for a few seconds must not be declared dead.
     */
    static MediaDriver.Context ipcDriver(String dir) {
        return new MediaDriver.Context()
                .aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .ipcTermBufferLength(16 * 1024 * 1024)
                .ipcMtuLength(KvSenderContext.RECOMMENDED_IPC_MTU_LENGTH)
                .publicationTermBufferLength(16 * 1024 * 1024)
                .imageLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(2))
                .publicationConnectionTimeoutNs(TimeUnit.SECONDS.toNanos(2))
                .clientLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(20))
                .publicationUnblockTimeoutNs(TimeUnit.SECONDS.toNanos(30)); // must exceed client liveness
    }

    /** Spins briefly, then backs off to 1 ms sleeps: the machine may have fewer cores than agents. */
    static IdleStrategy idle() {
        return new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));
    }

    /** The router forwards every token, so it parks for at most 100 us between polls. */
    static IdleStrategy routerIdle() {
        return new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
    }

    private static AgentRunner start(AgentRunner runner) {
        AgentRunner.startOnThread(runner);
        return runner;
    }

    public String aeronDirectoryName() {
        return driver.aeronDirectoryName();
    }

    public Aeron aeron() {
        return aeron;
    }

    public RouterAgent router() {
        return router;
    }

    /** The decode (or colocated) node agents, in node id order (ids 101, 102, ...). */
    public List<DecodeNodeAgent> decodeAgents() {
        return decodeAgents;
    }

    /**
     * Stops node {@code index} (prefill nodes first, then decode nodes, in id order) as if it crashed: its agent stops
     * and closes its streams, so it falls silent to the router.
     */
    public void killNode(int index) {
        CloseHelper.close(nodeRunners.get(index));
    }

    @Override
    public void close() {
        for (int i = nodeRunners.size() - 1; i >= 0; i--) {
            CloseHelper.quietClose(nodeRunners.get(i));
        }
        CloseHelper.quietCloseAll(routerRunner, aeron, driver);
    }
}
