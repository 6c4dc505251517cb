package io.splitserve.engine.generate;

import io.splitserve.tokenizer.StopStringMatcher;
import io.splitserve.engine.Engine;
import io.splitserve.engine.StepOutput;
import io.splitserve.tokenizer.IncrementalDetokenizer;
import io.splitserve.tokenizer.Tokenizer;

import java.util.function.Consumer;

/**
 * Runs one request to completion on an {@link Engine} and streams its text: the single-process generation loop
 * behind {@code splitserve generate}.
 *
 * <p>It owns the stopping rules the engine leaves to its caller (stop tokens, stop strings, the token limit) and
 * the streaming contract: every piece handed to the listener is final text — no half UTF-8 characters, no part of
 * a stop string, no rendering of a stop token. The sequence's pages are released on every path.
 */
public final class TextGenerator {
    private final Engine engine;
    private final Tokenizer tokenizer;

    public TextGenerator(Engine engine, Tokenizer tokenizer) {
        this.engine = engine;
        this.tokenizer = tokenizer;
    }

    public GenerationResult generate(GenerationRequest request, Consumer<String> onText) {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, true);
        StopStringMatcher stops = new StopStringMatcher(request.stopStrings());
        StringBuilder text = new StringBuilder();
        int[] generated = new int[request.maxTokens()];
        int count = 0;
        FinishReason reason = FinishReason.LENGTH;

        long start = System.nanoTime();
        long firstTokenAt = 0;
        long sequence = engine.addSequence(request.promptTokens(), request.sampling());
        try {
            while (count < request.maxTokens()) {
                int token = nextToken(sequence);
                if (count == 0) {
                    firstTokenAt = System.nanoTime();
                }
                generated[count++] = token;
                if (contains(request.stopTokenIds(), token)) {
                    reason = FinishReason.STOP;
                    break;
                }
                emit(stops.push(detokenizer.push(token)), text, onText);
                if (stops.stopped()) {
                    reason = FinishReason.STOP;
                    break;
                }
            }
            if (!stops.stopped()) {
                emit(stops.push(detokenizer.flush()), text, onText);
                emit(stops.flush(), text, onText);
                if (stops.stopped()) {
                    reason = FinishReason.STOP;
                }
            }
        } finally {
            engine.release(sequence);
        }
        long end = System.nanoTime();
        int[] tokens = java.util.Arrays.copyOf(generated, count);
        return new GenerationResult(
            request.promptTokens(), tokens, text.toString(), reason, firstTokenAt - start, end - firstTokenAt);
    }

    private int nextToken(long sequence) {
        while (true) {
            for (StepOutput output : engine.step()) {
                if (output.sequenceId() == sequence) {
                    return output.token();
                }
            }
            if (!engine.hasWork()) {
                throw new IllegalStateException("the engine stopped before sequence " + sequence + " finished");
            }
        }
    }

    private static void emit(String piece, StringBuilder text, Consumer<String> onText) {
        if (!piece.isEmpty()) {
            text.append(piece);
            onText.accept(piece);
        }
    }

    private static boolean contains(int[] ids, int id) {
        for (int candidate : ids) {
            if (candidate == id) {
                return true;
            }
        }
        return false;
    }
}
