package io.splitserve.engine;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.engine.model.GenerationConfig;
import io.splitserve.engine.model.ModelConfig;
import io.splitserve.engine.model.ModelLoadException;
import io.splitserve.engine.sampling.Sampler;
import io.splitserve.engine.sampling.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A loaded model plus its paged KV cache, run with continuous batching: each {@link #step()} prefills waiting
 * prompts (up to the prefill token budget) and advances every running sequence by one token, all in one ragged
 * batch, and returns one sampled token per sequence in it. Deciding when a sequence is finished (stop tokens, stop
 * strings, max tokens) belongs to the caller, who then calls {@link #release(long)}.
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
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> scheduled = new ArrayList<>();
    private final Map<Long, Sequence> sequences = new HashMap<>();
    private float[] logits = new float[0];
    private long nextSequenceId = 1;

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

    public int totalPages() {
        return blocks.pageCount();
    }

    public int freePages() {
        return blocks.freePages();
    }

    /** Queues a prompt; it is prefilled by a later {@link #step()}. Returns the sequence id. */
    public long addSequence(int[] promptTokens, SamplingParams params) {
        checkPrompt(promptTokens);
        if (params == null) {
            throw new IllegalArgumentException("sampling parameters are required");
        }
        final Sequence sequence = new Sequence(nextSequenceId++, promptTokens, params, Sampler.randomFor(params));
        waiting.add(sequence);
        sequences.put(sequence.id, sequence);
        return sequence.id;
    }

    private void checkPrompt(int[] tokens) {
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

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    /**
     * One batch step: every running sequence decodes one token, then waiting prompts are prefilled in arrival
     * order while the prefill budget, the running-sequence limit and free pages allow. Returns the sampled token of
     * each sequence in the step, running ones first. Throws {@link OutOfPagesException} when a running sequence
     * cannot get a page for its next token, or a prompt can never fit because nothing else holds pages.
     */
    public List<StepOutput> step() {
        step.clear();
        scheduled.clear();
        for (Sequence sequence : running) {
            blocks.ensureCapacity(sequence.table, sequence.length);
            step.addSequence(sequence.tokens, sequence.computed, 1, sequence.computed, sequence.table, blocks,
                    BatchStep.Logits.LAST);
            scheduled.add(sequence);
        }
        final int decoding = scheduled.size();
        int prefillTokens = 0;
        while (!waiting.isEmpty() && scheduled.size() < options.maxRunningSequences()) {
            final Sequence sequence = waiting.peek();
            if (prefillTokens > 0 && prefillTokens + sequence.length > options.prefillTokenBudget()) {
                break;
            }
            if (blocks.missingPages(sequence.table, sequence.length) > blocks.freePages()) {
                if (scheduled.isEmpty()) {
                    blocks.ensureCapacity(sequence.table, sequence.length); // throws, naming what is missing
                }
                break;
            }
            blocks.ensureCapacity(sequence.table, sequence.length);
            step.addSequence(sequence.tokens, 0, sequence.length, 0, sequence.table, blocks, BatchStep.Logits.LAST);
            scheduled.add(waiting.poll());
            prefillTokens += sequence.length;
        }
        if (scheduled.isEmpty()) {
            return List.of();
        }
        runStep();
        final int vocab = config.vocabSize();
        final List<StepOutput> outputs = new ArrayList<>(scheduled.size());
        for (int i = 0; i < scheduled.size(); i++) {
            final Sequence sequence = scheduled.get(i);
            final int token = sampler.sample(logits, i * vocab, vocab, sequence.params, sequence.random);
            sequence.computed = sequence.length;
            sequence.append(token);
            outputs.add(new StepOutput(sequence.id, token));
            if (i >= decoding) {
                running.add(sequence);
            }
        }
        return outputs;
    }

    private void runStep() {
        final long needed = (long) step.numLogitRows() * config.vocabSize();
        if (needed > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(step.numLogitRows() + " rows of logits over a vocabulary of "
                    + config.vocabSize() + " exceed one array; score fewer tokens at once");
        }
        if (logits.length < needed) {
            logits = new float[(int) needed];
        }
        runner.forward(step, logits);
    }

    /** Forgets a sequence, waiting or running, and returns all its pages. */
    public void release(long sequenceId) {
        final Sequence sequence = sequences.remove(sequenceId);
        if (sequence == null) {
            throw new IllegalArgumentException("unknown sequence " + sequenceId);
        }
        if (!waiting.remove(sequence)) {
            running.remove(sequence);
        }
        blocks.release(sequence.table);
    }

    /**
     * The logits at every position of {@code tokens} ({@code [tokens][vocab]}), computed in one prefill on pages
     * borrowed from the pool and returned before this method returns. For tests and golden checks.
     */
    public float[][] promptLogits(int[] tokens) {
        checkPrompt(tokens);
        final BlockTable table = new BlockTable();
        try {
            blocks.ensureCapacity(table, tokens.length);
            step.clear();
            step.addSequence(tokens, 0, tokens.length, 0, table, blocks, BatchStep.Logits.ALL);
            runStep();
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
        for (long id : new ArrayList<>(sequences.keySet())) {
            release(id);
        }
        runner.close();
    }
}
