package io.splitserve.engine;

/**
 * Configuration of an {@link Engine}, as a context object with defaults: the CPU backend, KV page size 16 tokens, a
 * KV cache of 256 MiB on the CPU or 0.85 of the GPU memory left free after weights and activations on CUDA (the page
 * count follows from the model's size unless {@link #maxPages(int)} fixes it), a prefill budget of 2048 prompt tokens
 * per step, at most 256 sequences running at once, CUDA-graph decode steps; whole prompts per step (no chunking) and
 * running out of pages is an error (no preemption) unless those are switched on; prefix caching on; fused decode
 * kernels on unless the system property {@value #FUSED_DECODE_PROPERTY} is {@code false}.
 */
public final class EngineOptions {
    public static final int DEFAULT_PAGE_SIZE = 16;
    public static final long DEFAULT_KV_CACHE_BYTES = 256L << 20;
    public static final int DEFAULT_PREFILL_TOKEN_BUDGET = 2048;
    public static final int DEFAULT_MAX_RUNNING_SEQUENCES = 256;
    public static final double DEFAULT_MEM_FRACTION = 0.85;
    /** System property giving {@link #fusedDecode()}'s default: {@code true} (or unset) or {@code false}. */
    public static final String FUSED_DECODE_PROPERTY = "splitserve.fusedDecode";

    private Backend backend = Backend.CPU;
    private double memFraction = DEFAULT_MEM_FRACTION;
    private double kvExportFraction;
    private int gpu;
    private boolean cudaGraphs = true;
    private boolean deviceSampling = true;

    private int pageSize = DEFAULT_PAGE_SIZE;
    private int maxPages;
    private long kvCacheBytes = DEFAULT_KV_CACHE_BYTES;
    private int prefillTokenBudget = DEFAULT_PREFILL_TOKEN_BUDGET;
    private int maxRunningSequences = DEFAULT_MAX_RUNNING_SEQUENCES;
    private boolean chunkedPrefill;
    private boolean preemption;
    private boolean prefixCaching = true;
    private boolean fusedDecode = fusedDecodeDefault(System.getProperty(FUSED_DECODE_PROPERTY));

    /** Tokens per KV page; 1 gives token-level allocation. */
    public EngineOptions pageSize(int pageSize) {
        if (pageSize <= 0) {
            throw new IllegalArgumentException("page size must be positive, got " + pageSize);
        }
        this.pageSize = pageSize;
        return this;
    }

    public int pageSize() {
        return pageSize;
    }

    /** Fixes the number of KV pages; 0 (the default) derives it from {@link #kvCacheBytes()}. */
    public EngineOptions maxPages(int maxPages) {
        if (maxPages < 0) {
            throw new IllegalArgumentException("max pages must be >= 0, got " + maxPages);
        }
        this.maxPages = maxPages;
        return this;
    }

    public int maxPages() {
        return maxPages;
    }

    /** CPU backend: memory for K and V of all layers, used when {@link #maxPages()} is 0. */
    public EngineOptions kvCacheBytes(long kvCacheBytes) {
        if (kvCacheBytes <= 0) {
            throw new IllegalArgumentException("KV cache size must be positive, got " + kvCacheBytes);
        }
        this.kvCacheBytes = kvCacheBytes;
        return this;
    }

    public long kvCacheBytes() {
        return kvCacheBytes;
    }

    /**
     * Prompt tokens prefilled in one step; a single prompt longer than the budget still runs, alone, so no prompt
     * waits forever.
     */
    public EngineOptions prefillTokenBudget(int prefillTokenBudget) {
        if (prefillTokenBudget <= 0) {
            throw new IllegalArgumentException("prefill token budget must be positive, got " + prefillTokenBudget);
        }
        this.prefillTokenBudget = prefillTokenBudget;
        return this;
    }

    public int prefillTokenBudget() {
        return prefillTokenBudget;
    }

    public EngineOptions maxRunningSequences(int maxRunningSequences) {
        if (maxRunningSequences <= 0) {
            throw new IllegalArgumentException("max running sequences must be positive, got " + maxRunningSequences);
        }
        this.maxRunningSequences = maxRunningSequences;
        return this;
    }

    public int maxRunningSequences() {
        return maxRunningSequences;
    }

    public EngineOptions backend(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend is required");
        }
        this.backend = backend;
        return this;
    }

    public Backend backend() {
        return backend;
    }

    /** Ordinal of the GPU the CUDA backend runs on (0 = the first; CUDA_VISIBLE_DEVICES applies). */
    public EngineOptions gpu(int gpu) {
        if (gpu < 0) {
            throw new IllegalArgumentException("GPU ordinal must be 0 or more, got " + gpu);
        }
        this.gpu = gpu;
        return this;
    }

    public int gpu() {
        return gpu;
    }

    /**
     * Share of the GPU memory still free after weights and activation buffers that the CUDA backend gives to KV
     * pages, used when {@link #maxPages()} is 0.
     */
    public EngineOptions memFraction(double memFraction) {
        if (!(memFraction > 0 && memFraction < 1)) {
            throw new IllegalArgumentException("memory fraction must be between 0 and 1 (exclusive), got " + memFraction);
        }
        this.memFraction = memFraction;
        return this;
    }

    public double memFraction() {
        return memFraction;
    }

    /**
     * The share of the KV memory ({@link #memFraction()} of the GPU's free memory) set aside as an exportable arena
     * that prefill KV is copied into for decode engines on the same host to copy from (the GPU KV path); 0, the
     * default, keeps none. Only the CUDA backend has one; a prefill engine needs few pages of its own, as its pages
     * are only borrowed for the length of a prefill.
     */
    public EngineOptions kvExportFraction(double fraction) {
        if (!(fraction >= 0 && fraction < 1)) {
            throw new IllegalArgumentException("KV export fraction must be in [0, 1), got " + fraction);
        }
        this.kvExportFraction = fraction;
        return this;
    }

    public double kvExportFraction() {
        return kvExportFraction;
    }

    /** Whether the CUDA backend replays decode steps as captured graphs (true) or launches every kernel (false). */
    public EngineOptions cudaGraphs(boolean cudaGraphs) {
        this.cudaGraphs = cudaGraphs;
        return this;
    }

    public boolean cudaGraphs() {
        return cudaGraphs;
    }

    /**
     * Whether a step picks its tokens on the GPU, greedy and sampled sequences alike (true: one id per sequence comes
     * back instead of its logits; {@link Engine#copyLogits} then has nothing to copy) or copies the logits and samples
     * on the host (false). Both follow the same rule, so they pick the same tokens from the same logits.
     */
    public EngineOptions deviceSampling(boolean deviceSampling) {
        this.deviceSampling = deviceSampling;
        return this;
    }

    public boolean deviceSampling() {
        return deviceSampling;
    }

    /**
     * Splits prompts so that a step never prefills more than the token budget: a long prompt is computed over several
     * steps while running sequences keep decoding (the colocated baseline's way of bounding step time).
     */
    public EngineOptions chunkedPrefill(boolean chunkedPrefill) {
        this.chunkedPrefill = chunkedPrefill;
        return this;
    }

    public boolean chunkedPrefill() {
        return chunkedPrefill;
    }

    /**
     * When running sequences need more pages than are free, free the newest ones instead of failing the step; their
     * ids are reported by {@link Engine#takePreempted()} so the caller can start them again elsewhere.
     */
    public EngineOptions preemption(boolean preemption) {
        this.preemption = preemption;
        return this;
    }

    public boolean preemption() {
        return preemption;
    }

    /**
     * Whether prompts added with {@link Engine#addSequence} share the cached KV pages of a prefix computed before
     * (true, the default) instead of computing it again; off, every prompt is computed whole and nothing is cached.
     * KV imported from elsewhere and {@link Engine#prefill}'s borrowed pages are never cached either way.
     */
    public EngineOptions prefixCaching(boolean prefixCaching) {
        this.prefixCaching = prefixCaching;
        return this;
    }

    public boolean prefixCaching() {
        return prefixCaching;
    }

    /**
     * Whether the CUDA backend runs its fused kernels (true): RoPE and the KV write in one kernel, the few-row gate|up
     * projection with SiLU·up in one GEMV, and decode attention merging its splits in the same launch; false runs
     * the unfused sequence instead (RoPE, KV write, gate|up GEMV, SiLU-and-mul, attention then a reduce launch), so
     * one build can measure both and check they decode the same tokens. The CPU backend computes the same either
     * way. The default comes from the system property {@value #FUSED_DECODE_PROPERTY}.
     */
    public EngineOptions fusedDecode(boolean fusedDecode) {
        this.fusedDecode = fusedDecode;
        return this;
    }

    public boolean fusedDecode() {
        return fusedDecode;
    }

    /** {@code null} (unset) means true; anything but true or false is a configuration error. */
    static boolean fusedDecodeDefault(String property) {
        if (property == null || property.equalsIgnoreCase("true")) {
            return true;
        }
        if (property.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException("system property " + FUSED_DECODE_PROPERTY + " must be true or false, got '"
                + property + "'");
    }
}
