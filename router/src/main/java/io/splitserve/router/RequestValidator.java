package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.tokenizer.ChatMessage;
import java.util.List;

/**
 * The router's admission checks, shared by the Aeron and HTTP front doors: the model name, the prompt (non-empty,
 * at most {@code maxInputLength} tokens after the chat template, and leaving room in the context for the output),
 * {@code max_tokens} in {@code [1, maxOutputLength]}, temperature in {@code [0, 2]}, top-p in {@code (0, 1]},
 * top-k {@code >= 0} (-1 also means off), at most 4 non-empty stop strings. Each failure names the field, the value
 * and the bound, in one line.
 */
public final class RequestValidator {
    public static final int DEFAULT_MAX_TOKENS = 16;
    public static final int MAX_STOP_STRINGS = 4;

    private final ServedModel model;
    private final int maxInputLength;
    private final int maxOutputLength;

    public RequestValidator(ServedModel model, int maxInputLength, int maxOutputLength) {
        this.model = model;
        this.maxInputLength = maxInputLength;
        this.maxOutputLength = maxOutputLength;
    }

    public ValidatedRequest validate(CompletionInput in) throws RequestRejectedException {
        if (in.model() != null && !in.model().equals(model.name())) {
            throw new RequestRejectedException(ErrorCode.UNKNOWN_MODEL,
                    "model '" + in.model() + "' does not exist; this server serves '" + model.name() + "'");
        }
        final int maxTokens = in.maxTokens() == null ? Math.min(DEFAULT_MAX_TOKENS, maxOutputLength) : in.maxTokens();
        if (maxTokens < 1 || maxTokens > maxOutputLength) {
            throw bad("max_tokens must be between 1 and " + maxOutputLength + " (--max-output-length), got " + maxTokens);
        }
        final double temperature = in.temperature() == null ? 1.0 : in.temperature();
        if (!(temperature >= 0 && temperature <= 2)) {
            throw bad("temperature must be between 0 and 2, got " + in.temperature());
        }
        final double topP = in.topP() == null ? 1.0 : in.topP();
        if (!(topP > 0 && topP <= 1)) {
            throw bad("top_p must be greater than 0 and at most 1, got " + in.topP());
        }
        final int topK = in.topK() == null || in.topK() == -1 ? 0 : in.topK();
        if (topK < 0) {
            throw bad("top_k must be -1 or 0 (off) or a positive count, got " + in.topK());
        }
        final List<String> stop = in.stop() == null ? List.of() : in.stop();
        if (stop.size() > MAX_STOP_STRINGS) {
            throw bad("at most " + MAX_STOP_STRINGS + " stop strings are allowed, got " + stop.size());
        }
        for (String s : stop) {
            if (s == null || s.isEmpty()) {
                throw bad("stop strings must not be empty");
            }
        }
        final int[] prompt = tokenize(in);
        if (prompt.length > maxInputLength) {
            throw new RequestRejectedException(ErrorCode.PROMPT_TOO_LONG, "prompt has " + prompt.length
                    + " tokens; the limit is " + maxInputLength + " (--max-input-length)");
        }
        if (prompt.length + maxTokens > model.contextLength()) {
            throw new RequestRejectedException(ErrorCode.PROMPT_TOO_LONG, "prompt of " + prompt.length
                    + " tokens plus max_tokens " + maxTokens + " exceeds the model's context of "
                    + model.contextLength() + " tokens");
        }
        return new ValidatedRequest(prompt, maxTokens, (float) temperature, (float) topP, topK,
                in.seed() == null ? 0 : in.seed(), List.copyOf(stop), in.ignoreEos() ? new int[0] : model.stopTokenIds());
    }

    private int[] tokenize(CompletionInput in) throws RequestRejectedException {
        if ((in.prompt() == null) == (in.messages() == null)) {
            throw bad("give exactly one of prompt and messages");
        }
        final int[] tokens;
        if (in.prompt() != null) {
            if (in.prompt().isEmpty()) {
                throw bad("prompt is empty");
            }
            tokens = model.tokenizer().encode(in.prompt(), true);
        } else {
            if (in.messages().isEmpty()) {
                throw bad("messages is empty");
            }
            for (ChatMessage m : in.messages()) {
                if (m == null || m.role() == null || m.content() == null) {
                    throw bad("every message needs a role and a content");
                }
                if (!List.of("system", "user", "assistant").contains(m.role())) {
                    throw bad("message role must be system, user or assistant, got '" + m.role() + "'");
                }
            }
            if (model.chatTemplate() == null) {
                throw bad("model '" + model.name() + "' has no chat template; use /v1/completions with a prompt");
            }
            final String text;
            try {
                text = model.chatTemplate().render(in.messages(), true);
            } catch (RuntimeException e) {
                throw bad("the chat template rejected the messages: " + e.getMessage());
            }
            tokens = model.tokenizer().encode(text, false);
        }
        if (tokens.length == 0) {
            throw bad("prompt is empty after tokenization");
        }
        return tokens;
    }

    private static RequestRejectedException bad(String message) {
        return new RequestRejectedException(ErrorCode.BAD_REQUEST, message);
    }
}
