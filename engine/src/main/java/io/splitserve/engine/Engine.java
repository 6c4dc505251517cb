package io.splitserve.engine;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.forward.DeviceKvArena;
import io.splitserve.engine.forward.DeviceLayerListener;
import io.splitserve.engine.forward.PeerArena;
import io.splitserve.engine.forward.PeerAttachment;
import io.splitserve.kernels.cuda.HostIdentity;
import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.engine.forward.KvWireType;
import io.splitserve.engine.forward.LayerKvListener;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.engine.schedule.BatchScheduler;
import io.splitserve.engine.schedule.Sequence;
import io.splitserve.engine.schedule.StepPlan;
import io.splitserve.model.GenerationConfig;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.engine.sampling.Sampler;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.engine.sampling.TokenHistory;
import io.splitserve.engine.sampling.TokenLogprobs;
import io.splitserve.model.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A loaded model plus its paged KV cache, run with continuous batching: each {@link #step()} prefills waiting
 * prompts (up to the prefill token budget) and advances every running sequence by one token, all in one ragged
 * batch, and returns one sampled token per sequence in it. Deciding when a sequence is finished (stop tokens, stop
 * strings, max tokens) belongs to the caller, who then calls {@link #release(long)}.
 *
 * <p>The facade over the parts that do the work: {@link BatchScheduler} decides each step's composition and owns the
 * sequences and their pages, {@link KvImporter} keeps the books of KV imported from elsewhere, and the
 * {@link ModelRunner} computes; the engine checks input against the model, packs each plan into a {@link BatchStep},
 * runs it and samples.
 *
 * <p>With {@link EngineOptions#prefixCaching} on (the default), a prompt added by {@link #addSequence} shares the cached
 * pages of a prefix computed before and prefills only the rest (see {@link BatchScheduler}); the output is the same as
 * without the cache. The pages a disaggregated {@link #prefill} computes join the cache too, and a prefill may take a
 * prompt's leading tokens from it ({@link #cachedPrefixTokens}), computing and handing over only the rest. Imported KV
 * whose token ids are known joins the cache at admission, and an import may begin with tokens the cache holds, so only
 * the rest crosses the wire ({@link #reserveImported(int, int[], int)}).
 *
 * <p>Sampling hand-off: each sampled row goes to the sampler with its sequence's {@link SamplingParams}, the counter of
 * its draw and, when a penalty is on, its {@link TokenHistory} (kept by the sequence as it grows); the sampler (host
 * {@code Sampler}, or the runner's device kernels) applies bias and penalties, picks the token and, for a sequence
 * that asks for logprobs, fills the {@link TokenLogprobs} returned in its {@link StepOutput} (a holder refilled at the
 * next step).
 *
 * <p>Not thread-safe: one thread drives an engine. A sequence's output does not depend on what it is batched with.
 */
public final class Engine implements AutoCloseable {
    private final Path modelDir;
    private final ModelConfig config;
    private final GenerationConfig generationConfig;
    private final EngineOptions options;
    private final BlockManager blocks;
    private final ModelRunner runner;
    private final String backend;
    private final Sampler sampler;
    private final BatchStep step = new BatchStep();
    private final SamplingBatch stepSampling = new SamplingBatch();
    private final BatchScheduler scheduler;
    private final KvImporter importer;
    private float[] logits = new float[0];
    private int[] sampledTokens = new int[0];
    private TokenLogprobs[] prefillLogprobHolders = new TokenLogprobs[0];
    private TokenLogprobs[] prefillLogprobs = new TokenLogprobs[0];
    private boolean logitsOnHost;

    private Engine(Path modelDir, ModelConfig config, GenerationConfig generationConfig, RunnerFactory.Choice choice,
                   EngineOptions options) {
        this.modelDir = modelDir;
        this.config = config;
        this.generationConfig = generationConfig;
        this.options = options;
        this.runner = choice.runner();
        this.backend = choice.description();
        this.blocks = new BlockManager(runner.pageCount(), options.pageSize());
        this.sampler = new Sampler(config.vocabSize());
        this.scheduler = new BatchScheduler(blocks, options);
        this.importer = new KvImporter(blocks, runner, config.kvDim() * runner.kvWireType().elementBytes(),
                config.numLayers(), config.maxPositionEmbeddings());
    }

    public static Engine load(Path modelDir, EngineOptions options) throws ModelLoadException {
        if (!Files.isDirectory(modelDir)) {
            throw new ModelLoadException(modelDir + ": model directory not found");
        }
        final ModelConfig config = ModelConfig.load(modelDir);
        final GenerationConfig generationConfig = GenerationConfig.load(modelDir);
        return new Engine(modelDir, config, generationConfig, RunnerFactory.open(modelDir, config, options), options);
    }

    public ModelConfig config() {
        return config;
    }

    public GenerationConfig generationConfig() {
        return generationConfig;
    }

    public Path modelDir() {
        return modelDir;
    }

    public EngineOptions options() {
        return options;
    }

    /** The backend that runs the forward pass, in one line (and, for {@link Backend#AUTO}, why it was picked). */
    public String backend() {
        return backend;
    }

    /** End-of-sequence ids from config.json and generation_config.json together, in that order. */
    public int[] stopTokenIds() {
        final Set<Integer> ids = new LinkedHashSet<>();
        for (int id : config.eosTokenIds()) {
            ids.add(id);
        }
        for (int id : generationConfig.eosTokenIds()) {
            ids.add(id);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The element type of the KV this engine exports ({@link #prefill}) and imports ({@link #reserveImported}). */
    public KvWireType kvWireType() {
        return runner.kvWireType();
    }

    /**
     * Makes the calling thread the one that drives this engine from now on; an agent calls it when it starts on its
     * own thread (the CUDA backend binds its context there).
     */
    public void bindToCurrentThread() {
        runner.bindToCurrentThread();
    }

    public int totalPages() {
        return blocks.pageCount();
    }

    /** Pages a request can take now: the free ones and the idle cached ones it may evict. */
    public int freePages() {
        return blocks.freePages();
    }

    /** The prefix cache's counters: prompt tokens looked up and found cached, pages cached now, evictions. */
    public PrefixCacheStats prefixCacheStats() {
        return blocks.prefixCacheStats();
    }

    /** Queues a prompt; it is prefilled by a later {@link #step()}. Returns the sequence id. */
    public long addSequence(int[] promptTokens, SamplingParams params) {
        return addSequence(promptTokens, params, 0);
    }

    /**
     * As {@link #addSequence(int[], SamplingParams)} for a prompt that continues a generation whose request already
     * sampled {@code sampledBefore} tokens (its prompt ends with them), so seeded sampling continues the same stream.
     */
    public long addSequence(int[] promptTokens, SamplingParams params, int sampledBefore) {
        validatePrompt(promptTokens);
        validateSampling(params);
        if (sampledBefore < 0) {
            throw new IllegalArgumentException("tokens sampled before must be >= 0, got " + sampledBefore);
        }
        return scheduler.addWaiting(promptTokens, params, sampledBefore);
    }

    /**
     * Throws IllegalArgumentException naming the reason when {@code tokens} can never be prefilled by this engine:
     * empty, as long as the model's context or longer, longer than the whole KV cache, or a token id outside the
     * vocabulary. {@link #addSequence} and {@link #prefill} check every prompt so; a caller may check earlier.
     */
    public void validatePrompt(int[] tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("prompt is empty");
        }
        if (tokens.length >= config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("prompt of " + tokens.length + " tokens is too long: the model's context"
                    + " is " + config.maxPositionEmbeddings() + " tokens");
        }
        if (blocks.pagesFor(tokens.length) > blocks.pageCount()) {
            throw new IllegalArgumentException("prompt of " + tokens.length + " tokens is too long: the KV cache holds "
                    + (long) blocks.pageCount() * blocks.pageSize() + " tokens");
        }
        for (int token : tokens) {
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("prompt token id " + token + " is outside the vocabulary of "
                        + config.vocabSize());
            }
        }
    }

    /**
     * Throws IllegalArgumentException naming the reason when {@code params} cannot sample this model's rows: missing,
     * or a logit bias token outside the vocabulary. Every method taking parameters checks them so.
     */
    public void validateSampling(SamplingParams params) {
        if (params == null) {
            throw new IllegalArgumentException("sampling parameters are required");
        }
        params.checkVocabulary(config.vocabSize());
    }

    public boolean hasWork() {
        return scheduler.hasWork();
    }

    /**
     * One batch step as {@link BatchScheduler} composes it: every running sequence decodes one token, then waiting
     * prompts are prefilled in arrival order while the prefill budget, the running-sequence limit and free pages allow
     * (with chunked prefill a prompt may be computed over several steps, only its last chunk yielding a token).
     * Returns the sampled token of each sequence that produced one, running ones first. Throws
     * {@link OutOfPagesException} when a running sequence cannot get a page for its next token (unless preemption is
     * on), or a prompt can never fit because nothing else holds pages.
     */
    public List<StepOutput> step() {
        return step(null);
    }

    /**
     * As {@link #step()}, running {@code whileComputing} on this thread once during the step: while the device
     * computes it where the backend samples on the device (CUDA with {@link EngineOptions#deviceSampling}), otherwise
     * after it. The
     * task may reserve, fill, import and release imported KV ({@link #reserveImported} and the rest), which touch no
     * sequence of the step; it must not add, admit, release or step sequences.
     */
    public List<StepOutput> step(Runnable whileComputing) {
        final StepPlan plan = scheduler.schedule();
        if (plan.isEmpty()) {
            if (whileComputing != null) {
                whileComputing.run();
            }
            return List.of();
        }
        step.clear();
        stepSampling.clear();
        for (int i = 0; i < plan.size(); i++) {
            final Sequence sequence = plan.sequence(i);
            step.addSequence(sequence.tokens(), plan.start(i), plan.count(i), plan.start(i), sequence.table(), blocks,
                    plan.samples(i) ? BatchStep.Logits.LAST : BatchStep.Logits.NONE);
            if (plan.samples(i)) {
                stepSampling.add(sequence.params(), sequence.sampledCount(), sequence.history());
            }
        }
        for (int c = 0; c < plan.copies(); c++) {
            step.addPageCopy(plan.copySource(c), plan.copyDestination(c), plan.copyRows(c));
        }
        if (sampledTokens.length < plan.sampled()) {
            sampledTokens = new int[Math.max(plan.sampled(), 2 * sampledTokens.length)];
        }
        final boolean onDevice = options.deviceSampling() && runner.samplesOnDevice();
        if (onDevice) {
            logitsOnHost = false;
            runner.forwardSampled(step, stepSampling, sampledTokens, whileComputing);
        } else {
            runStep(null);
            if (whileComputing != null) {
                whileComputing.run();
            }
        }
        final int vocab = config.vocabSize();
        final List<StepOutput> outputs = new ArrayList<>(plan.sampled());
        int row = 0;
        for (int i = 0; i < plan.size(); i++) {
            if (plan.samples(i)) {
                final Sequence sequence = plan.sequence(i);
                final TokenLogprobs logprobs = stepSampling.logprobs(row);
                if (!onDevice) {
                    sampledTokens[row] = sampler.sample(logits, row * vocab, vocab, sequence.params(),
                            sequence.sampledCount(), sequence.history());
                    if (logprobs != null) {
                        sampler.logprobs(logits, row * vocab, vocab, sampledTokens[row], sequence.params().logprobs(),
                                logprobs);
                    }
                }
                outputs.add(new StepOutput(sequence.id(), sampledTokens[row], logprobs));
                row++;
            }
        }
        scheduler.completeStep(sampledTokens);
        return outputs;
    }

    /**
     * Ids of the sequences preempted since the last call, oldest preemption first; they are already forgotten and
     * their pages free. Empty unless {@link EngineOptions#preemption(boolean)} is on.
     */
    public List<Long> takePreempted() {
        return scheduler.takePreempted();
    }

    /**
     * Prefills a batch of prompts on pages borrowed for the call and returned before it returns, handing each
     * prompt's K and V to {@code listener} layer by layer as soon as each layer is computed, and returns each
     * prompt's first sampled token. The prefill half of a disaggregated engine: the KV lives on elsewhere.
     *
     * @throws OutOfPagesException when the batch does not fit the free pages (nothing is taken).
     */
    public int[] prefill(List<int[]> prompts, List<SamplingParams> params, PrefillKvListener listener) {
        return prefill(prompts, params, new int[prompts.size()], listener);
    }

    /**
     * As {@link #prefill(List, List, PrefillKvListener)} for prompts that continue a generation: prompt {@code i}
     * already sampled {@code sampledBefore[i]} tokens (its prompt ends with them), so seeded sampling continues the
     * same random stream.
     */
    public int[] prefill(List<int[]> prompts, List<SamplingParams> params, int[] sampledBefore,
                         PrefillKvListener listener) {
        return prefill(prompts, params, sampledBefore, listener, FirstTokenListener.NONE);
    }

    /**
     * As {@link #prefill(List, List, int[], PrefillKvListener)}, handing the first tokens to {@code firstTokens} as
     * soon as they are sampled, which may be before the last layers reached {@code listener}.
     */
    public int[] prefill(List<int[]> prompts, List<SamplingParams> params, int[] sampledBefore,
                         PrefillKvListener listener, FirstTokenListener firstTokens) {
        return prefill(prompts, params, sampledBefore, new int[prompts.size()], listener, firstTokens);
    }

    /**
     * As {@link #prefill(List, List, int[], PrefillKvListener, FirstTokenListener)} for prompts whose first
     * {@code cachedTokens[i]} tokens are taken from this engine's prefix cache ({@link #cachedPrefixTokens} said it holds
     * them, and nothing changed the cache since): only the rest is computed, attending to the cached pages, and only
     * the computed tokens' K and V reach {@code listener} (prompt {@code i}'s rows begin at token
     * {@code cachedTokens[i]}). With prefix caching on, the full pages computed here join the cache.
     *
     * @throws IllegalStateException when the cache does not hold a prompt's cached tokens (nothing is taken).
     */
    public int[] prefill(List<int[]> prompts, List<SamplingParams> params, int[] sampledBefore, int[] cachedTokens,
                         PrefillKvListener listener, FirstTokenListener firstTokens) {
        final BlockTable[] tables = borrowPages(prompts, params, cachedTokens);
        final int[] first = new int[prompts.size()];
        try {
            final int rowBytes = config.kvDim() * runner.kvWireType().elementBytes();
            final int[] rowStarts = step.queryStarts();
            runStep((layer, keys, keyOffset, values, valueOffset) -> {
                for (int i = 0; i < tables.length; i++) {
                    final int skip = rowStarts[i] * rowBytes;
                    listener.onLayerKv(i, layer, keys, keyOffset + skip, values, valueOffset + skip,
                            rowStarts[i + 1] - rowStarts[i]);
                }
            }, () -> sampleFirst(prompts, params, sampledBefore, first, firstTokens));
            cacheComputed(prompts, tables);
        } finally {
            returnPages(tables);
        }
        return first;
    }

    /**
     * The device memory this engine exports prefill KV from ({@link #prefillToDevice}), or null when it has none (the
     * CPU backend, or {@link EngineOptions#kvExportFraction} 0).
     */
    public DeviceKvArena deviceKvArena() {
        return runner.deviceKvArena();
    }

    /** Bytes of the {@link #deviceKvArena()} a {@link #prefillToDevice} batch computing {@code tokens} tokens needs. */
    public long deviceExportBytes(int tokens) {
        return 2L * config.numLayers() * tokens * config.kvDim() * runner.kvWireType().elementBytes();
    }

    /**
     * As {@link #prefill(List, List, int[], int[], PrefillKvListener, FirstTokenListener)} with the computed tokens' KV
     * copied into the {@link #deviceKvArena()} at {@code exportOffset} instead of host memory: layout
     * {@code [layers][K, V][batchTokens][kvHeads][headDim]}, where {@code batchTokens} counts the computed tokens of the
     * batch and prompt {@code i}'s rows start at the sum of the earlier prompts' computed tokens, so its layer {@code l}
     * K lies at {@code exportOffset + (2l * batchTokens + rowStart) * rowBytes}. Each layer is reported with the
     * CRC32C of every prompt's K and V rows ({@code crcs[2i]}, {@code crcs[2i + 1]}) once it landed. The range must
     * hold {@link #deviceExportBytes} of the batch and stay untouched until the importers are done with it.
     */
    public int[] prefillToDevice(List<int[]> prompts, List<SamplingParams> params, int[] sampledBefore,
                                 int[] cachedTokens, long exportOffset, DeviceLayerListener listener,
                                 FirstTokenListener firstTokens) {
        final BlockTable[] tables = borrowPages(prompts, params, cachedTokens);
        final int[] first = new int[prompts.size()];
        try {
            ensureLogits();
            runner.forwardToDevice(step, logits, exportOffset, listener,
                    () -> sampleFirst(prompts, params, sampledBefore, first, firstTokens));
            logitsOnHost = true;
            cacheComputed(prompts, tables);
        } finally {
            returnPages(tables);
        }
        return first;
    }

    /** With prefix caching on, a prefilled batch's full pages join the cache before the pages go back. */
    private void cacheComputed(List<int[]> prompts, BlockTable[] tables) {
        if (options.prefixCaching()) {
            for (int i = 0; i < tables.length; i++) {
                blocks.register(tables[i], prompts.get(i), prompts.get(i).length);
            }
        }
    }

    private void sampleFirst(List<int[]> prompts, List<SamplingParams> params, int[] sampledBefore, int[] first,
                             FirstTokenListener firstTokens) {
        final int vocab = config.vocabSize();
        if (prefillLogprobHolders.length < first.length) {
            prefillLogprobHolders = Arrays.copyOf(prefillLogprobHolders, first.length);
            prefillLogprobs = new TokenLogprobs[first.length];
        }
        Arrays.fill(prefillLogprobs, null);
        for (int i = 0; i < first.length; i++) {
            final SamplingParams p = params.get(i);
            final int[] prompt = prompts.get(i);
            final TokenHistory history = p.hasPenalties()
                    ? TokenHistory.of(prompt, prompt.length, sampledBefore[i]) : null;
            first[i] = sampler.sample(logits, i * vocab, vocab, p, sampledBefore[i], history);
            if (p.logprobs() > 0) {
                if (prefillLogprobHolders[i] == null) {
                    prefillLogprobHolders[i] = new TokenLogprobs();
                }
                prefillLogprobs[i] = prefillLogprobHolders[i];
                sampler.logprobs(logits, i * vocab, vocab, first[i], p.logprobs(), prefillLogprobs[i]);
            }
        }
        firstTokens.onFirstTokens(first);
    }

    /**
     * The logprobs of prompt {@code prompt}'s first token in the last {@link #prefill} or {@link #prefillToDevice}
     * batch, or null when its parameters did not ask for them; refilled by the next prefill.
     */
    public TokenLogprobs prefillLogprobs(int prompt) {
        return prompt < prefillLogprobs.length ? prefillLogprobs[prompt] : null;
    }

    /**
     * Checks a prefill batch and lays it out in the step: each prompt shares the cached pages of its first
     * {@code cachedTokens[i]} tokens and computes the rest on pages borrowed from the pool (nothing taken on failure).
     */
    private BlockTable[] borrowPages(List<int[]> prompts, List<SamplingParams> params, int[] cachedTokens) {
        if (prompts.isEmpty() || prompts.size() != params.size() || cachedTokens.length != prompts.size()) {
            throw new IllegalArgumentException("prefill needs one sampling setting and one cached length per prompt, got "
                    + prompts.size() + " prompts, " + params.size() + " settings and " + cachedTokens.length
                    + " cached lengths");
        }
        for (int[] prompt : prompts) {
            validatePrompt(prompt);
        }
        for (SamplingParams p : params) {
            validateSampling(p);
        }
        final BlockTable[] tables = new BlockTable[prompts.size()];
        try {
            int pagesNeeded = 0;
            for (int i = 0; i < tables.length; i++) {
                final int[] prompt = prompts.get(i);
                tables[i] = new BlockTable();
                if (options.prefixCaching() || cachedTokens[i] != 0) {
                    // referenced now, so no later take evicts them; throws (and the catch returns the pages shared so
                    // far) when the cache does not hold them, which with caching off it never does
                    importer.shareCached(prompt, cachedTokens[i], tables[i]);
                }
                pagesNeeded += blocks.missingPages(tables[i], prompt.length);
            }
            if (pagesNeeded > blocks.freePages()) {
                throw new OutOfPagesException(pagesNeeded, blocks.freePages(), blocks.pageCount());
            }
            step.clear();
            for (int i = 0; i < tables.length; i++) {
                final int[] prompt = prompts.get(i);
                blocks.ensureCapacity(tables[i], prompt.length);
                step.addSequence(prompt, cachedTokens[i], prompt.length - cachedTokens[i], cachedTokens[i], tables[i],
                        blocks, BatchStep.Logits.LAST);
            }
        } catch (RuntimeException e) {
            returnPages(tables);
            throw e;
        }
        return tables;
    }

    private void returnPages(BlockTable[] tables) {
        for (BlockTable table : tables) {
            if (table != null) {
                blocks.release(table);
            }
        }
    }

    /**
     * Reserves pages for {@code tokens} tokens of KV that will be written in from elsewhere, or returns null (taking
     * nothing) when they are not free.
     */
    public ImportedKv reserveImported(int tokens) {
        return importer.reserve(tokens, null, 0, false);
    }

    /**
     * As {@link #reserveImported(int)}, for KV of the tokens {@code tokenIds} (as many as {@code tokens}): once admitted,
     * its full pages join the prefix cache (when it is on), as a prompt prefilled here would.
     */
    public ImportedKv reserveImported(int tokens, int[] tokenIds) {
        return importer.reserve(tokens, tokenIds, 0, false);
    }

    /**
     * As {@link #reserveImported(int, int[])} for KV whose first {@code cachedTokens} tokens this engine holds in its
     * prefix cache ({@link #cachedPrefixTokens} said so, and nothing changed the cache since): their pages are shared and
     * only the {@link ImportedKv#importedTokens()} after them are written in.
     *
     * @throws IllegalStateException when the cache does not hold them (check first).
     */
    public ImportedKv reserveImported(int tokens, int[] tokenIds, int cachedTokens) {
        return importer.reserve(tokens, tokenIds, cachedTokens, false);
    }

    /**
     * Leading tokens of {@code tokenIds} whose KV this engine's prefix cache holds now, in whole pages: at most
     * {@code maxTokens}, and never the last token (a prefill must compute it for its logits). 0 with prefix caching off.
     */
    public int cachedPrefixTokens(int[] tokenIds, int maxTokens) {
        return options.prefixCaching() && tokenIds.length > 0
                ? importer.cachedPrefix(tokenIds, tokenIds.length, maxTokens) : 0;
    }

    /** Whether this engine can take KV straight from another engine's exported device memory (the CUDA backend). */
    public boolean importsFromDevice() {
        return runner.importsFromDevice();
    }

    /**
     * The identity of this machine's running boot: equal for every engine on it, so a node can tell a peer whose GPU
     * memory it might map (the GPU KV path) from one on another host.
     */
    public static String hostId() {
        return HostIdentity.current();
    }

    /** The UUID of the GPU holding this engine's KV, or "" on the CPU backend. */
    public String deviceUuid() {
        return runner.deviceUuid();
    }

    /**
     * Reserves pages for {@code tokens} tokens of KV that will be copied in from another engine's exported device memory
     * ({@link #importLayerFromDevice}), or returns null (taking nothing) when they are not free.
     */
    public ImportedKv reserveImportedFromDevice(int tokens) {
        return importer.reserve(tokens, null, 0, true);
    }

    /** As {@link #reserveImportedFromDevice(int)}, for KV of the tokens {@code tokenIds} (cached once admitted). */
    public ImportedKv reserveImportedFromDevice(int tokens, int[] tokenIds) {
        return importer.reserve(tokens, tokenIds, 0, true);
    }

    /** As {@link #reserveImported(int, int[], int)}, for KV copied in from another engine's device memory. */
    public ImportedKv reserveImportedFromDevice(int tokens, int[] tokenIds, int cachedTokens) {
        return importer.reserve(tokens, tokenIds, cachedTokens, true);
    }

    /** Maps another engine's export arena so its KV can be imported, once per arena; says why not when it cannot. */
    public PeerAttachment attachPeerArena(PeerArena peer) {
        return runner.attachPeerArena(peer);
    }

    /** Unmaps a peer's export arena once no import reads from it (after its exporter went away). */
    public void detachPeerArena(long arenaId) {
        runner.detachPeerArena(arenaId);
    }

    /**
     * Queues the copy of layer {@code layer} of a device import from the mapped arena {@code arenaId} (its K at
     * {@code keyOffset}, its V at {@code valueOffset}) into its pages, with the checksum of what landed; does not wait.
     */
    public void importLayerFromDevice(ImportedKv kv, int layer, long arenaId, long keyOffset, long valueOffset) {
        importer.importLayerFromDevice(kv, layer, arenaId, keyOffset, valueOffset);
    }

    /** Waits for a device import's copies and writes the CRC32C of each layer part as it landed into {@code crcs}. */
    public void importedChecksums(ImportedKv kv, int[] crcs) {
        importer.checksums(kv, crcs);
    }

    /**
     * Starts copying layer {@code layer} of an import from its host memory into its pages, ahead of admission; call it
     * once all of that layer's K and V bytes are written. On the GPU the copy runs on a side stream beside the decode
     * steps (the pages are the import's alone), so by the time the last layer arrives only that layer is left to copy.
     * Importing a layer again copies its bytes as they are then.
     */
    public void importLayer(ImportedKv kv, int layer) {
        importer.importLayer(kv, layer);
    }

    /** Returns an import's pages to the pool without admitting it, once no layer copy into them is still running. */
    public void releaseImported(ImportedKv kv) {
        importer.release(kv);
    }

    /**
     * Adds a running sequence whose prompt KV is {@code kv} (complete) and whose first token, sampled where the
     * prompt was prefilled, is {@code firstToken}; the next {@link #step()} decodes its second token. The pages
     * become the sequence's. {@code sampledTokens} counts the tokens the request sampled so far, the first token
     * included (1 for a fresh request), so seeded sampling continues the same random stream. Every layer not already
     * imported by {@link #importLayer} is copied into the pages here, and this returns once all layer copies have
     * landed. Returns the sequence id.
     */
    public long admitImported(ImportedKv kv, int firstToken, SamplingParams params, int sampledTokens) {
        kv.checkOpen();
        if (firstToken < 0 || firstToken >= config.vocabSize()) {
            throw new IllegalArgumentException("first token " + firstToken + " is outside the vocabulary of "
                    + config.vocabSize());
        }
        validateSampling(params);
        if (params.hasPenalties() && kv.tokenIds == null) {
            throw new IllegalArgumentException("penalties read the prompt's token ids: reserve the import with them"
                    + " (reserveImported(tokens, tokenIds))");
        }
        if (sampledTokens < 1) {
            throw new IllegalArgumentException("an admitted sequence sampled at least its first token, got "
                    + sampledTokens + " tokens sampled");
        }
        importer.settleForAdmission(kv);
        return scheduler.addRunning(kv.table, kv.tokenIds, kv.tokens(), firstToken, params, sampledTokens);
    }

    /** Sequences admitted and not yet released (waiting or running). */
    public int sequenceCount() {
        return scheduler.sequenceCount();
    }

    private void runStep(LayerKvListener kvListener) {
        runStep(kvListener, null);
    }

    /** Runs the step with logits to the host; {@code logitsReady}, when given, runs as soon as they are there. */
    private void runStep(LayerKvListener kvListener, Runnable logitsReady) {
        ensureLogits();
        if (kvListener == null) {
            runner.forward(step, logits);
        } else if (logitsReady == null) {
            runner.forward(step, logits, kvListener);
        } else {
            runner.forward(step, logits, kvListener, logitsReady);
        }
        logitsOnHost = true;
    }

    private void ensureLogits() {
        final long needed = (long) step.numLogitRows() * config.vocabSize();
        if (needed > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(step.numLogitRows() + " rows of logits over a vocabulary of "
                    + config.vocabSize() + " exceed one array; score fewer tokens at once");
        }
        if (logits.length < needed) {
            logits = new float[(int) needed];
        }
    }

    /**
     * Copies the logits of row {@code row} of the last step (the sequence {@link #step()} returned at index
     * {@code row}) into {@code dst}, which holds at least a vocabulary's worth. For checks that compare backends;
     * a step on a device that picks tokens itself keeps no logits (see {@link EngineOptions#deviceSampling}).
     */
    public void copyLogits(int row, float[] dst) {
        if (!logitsOnHost) {
            throw new IllegalStateException("the last step picked its tokens on the device and kept no logits;"
                    + " load the engine with EngineOptions.deviceSampling(false) to compare logits");
        }
        final int vocab = config.vocabSize();
        if (row < 0 || (long) (row + 1) * vocab > logits.length || dst.length < vocab) {
            throw new IllegalArgumentException("no logit row " + row + " of the last step fits a buffer of "
                    + dst.length);
        }
        System.arraycopy(logits, row * vocab, dst, 0, vocab);
    }

    /** Forgets a sequence, waiting or running, and returns all its pages. */
    public void release(long sequenceId) {
        scheduler.release(sequenceId);
    }

    /**
     * The logits at every position of {@code tokens} ({@code [tokens][vocab]}), computed in one prefill on pages
     * borrowed from the pool and returned before this method returns. For tests and golden checks.
     */
    public float[][] promptLogits(int[] tokens) {
        validatePrompt(tokens);
        final BlockTable table = new BlockTable();
        try {
            blocks.ensureCapacity(table, tokens.length);
            step.clear();
            step.addSequence(tokens, 0, tokens.length, 0, table, blocks, BatchStep.Logits.ALL);
            runStep(null);
        } finally {
            blocks.release(table);
        }
        final int vocab = config.vocabSize();
        final float[][] rows = new float[tokens.length][vocab];
        for (int t = 0; t < tokens.length; t++) {
            System.arraycopy(logits, t * vocab, rows[t], 0, vocab);
        }
        return rows;
    }

    /** Releases every sequence and the backend's memory. */
    @Override
    public void close() {
        scheduler.releaseAll();
        runner.close();
    }
}
