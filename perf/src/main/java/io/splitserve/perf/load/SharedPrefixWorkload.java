package io.splitserve.perf.load;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Workloads whose requests share long prefixes, the traffic a prefix cache exists for, each seeded like the others so
 * the same seed and tokenizer give the same requests on every run:
 * <ul>
 *   <li>{@code multi-turn}: {@value #CONVERSATIONS} conversations served in turn (request {@code i} is a turn of
 *   conversation {@code i % CONVERSATIONS}), each turn resending the whole conversation so far (its opening message
 *   of {@value #OPENING} tokens, then for every earlier turn a user message of {@value #USER} tokens and an assistant
 *   answer of {@value #ANSWER} tokens) and ending with a new user message; after {@value #TURNS} turns a conversation
 *   starts afresh. The answers are synthetic text, not what the server generated (an open loop fixes every request in
 *   advance), so what can be reused of turn {@code k + 1} is turn {@code k}'s prompt.</li>
 *   <li>{@code system-prompt}: one shared system prompt of {@value #SYSTEM} tokens before a distinct question of
 *   {@value #QUESTION} tokens.</li>
 *   <li>{@code few-shot}: the same {@value #SHOTS} worked examples of {@value #SHOT} tokens each before a distinct
 *   question of {@value #QUESTION} tokens.</li>
 * </ul>
 * Token counts are scaled by the run's length scale (at least 1 each) and every prompt's length is counted by the
 * tokenizer, so {@link RequestSpec#promptTokens()} is exact. Thread-safe: {@link #next()} is synchronized.
 */
public final class SharedPrefixWorkload implements Workload {
    public static final List<String> NAMES = List.of("multi-turn", "system-prompt", "few-shot");
    static final int CONVERSATIONS = 16;
    static final int TURNS = 6;
    static final int OPENING = 200;
    static final int USER = 50;
    static final int ANSWER = 100;
    static final int SYSTEM = 1024;
    static final int SHOTS = 8;
    static final int SHOT = 100;
    static final int QUESTION = 64;
    private static final int OUTPUT = 64;

    private final String name;
    private final PromptFactory prompts;
    private final double scale;
    private final long seed;
    private final SplittableRandom random;
    private final String sharedPrefix;
    private final StringBuilder[] conversations = new StringBuilder[CONVERSATIONS];
    private final int[] turns = new int[CONVERSATIONS];
    private long served;

    /** @throws IllegalArgumentException for a name not in {@link #NAMES} or a scale that is not positive. */
    public SharedPrefixWorkload(String name, PromptFactory prompts, double scale, long seed) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("no shared-prefix workload named '" + name + "': " + NAMES);
        }
        if (!(scale > 0)) {
            throw new IllegalArgumentException("length scale must be positive, got " + scale);
        }
        this.name = name;
        this.prompts = prompts;
        this.scale = scale;
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        this.sharedPrefix = switch (name) {
            case "system-prompt" -> prompts.words(scaled(SYSTEM), random);
            case "few-shot" -> prompts.words(scaled(SHOTS * SHOT), random);
            default -> "";
        };
    }

    /** Whether {@code name} is one of these workloads. */
    public static boolean isNamed(String name) {
        return NAMES.contains(name);
    }

    @Override
    public synchronized RequestSpec next() {
        final String prompt;
        if (name.equals("multi-turn")) {
            final int c = (int) (served % CONVERSATIONS);
            if (conversations[c] == null || turns[c] == TURNS) {
                conversations[c] = new StringBuilder(prompts.words(scaled(OPENING), random));
                turns[c] = 0;
            }
            final StringBuilder conversation = conversations[c];
            if (turns[c] > 0) {
                conversation.append(prompts.words(scaled(USER), random));
            }
            prompt = conversation.toString();
            conversation.append(prompts.words(scaled(ANSWER), random)); // the answer the next turn resends
            turns[c]++;
        } else {
            prompt = sharedPrefix + prompts.words(scaled(QUESTION), random);
        }
        served++;
        return new RequestSpec(prompt, prompts.tokens(prompt), scaled(OUTPUT));
    }

    private int scaled(int tokens) {
        return Math.max(1, (int) Math.round(tokens * scale));
    }

    @Override
    public String describe() {
        return switch (name) {
            case "multi-turn" -> String.format("multi-turn: %d conversations of %d turns, opening %d, user %d,"
                    + " answer %d, output %d tokens", CONVERSATIONS, TURNS, scaled(OPENING), scaled(USER),
                    scaled(ANSWER), scaled(OUTPUT));
            case "system-prompt" -> String.format("system-prompt: shared %d + question %d, output %d tokens",
                    scaled(SYSTEM), scaled(QUESTION), scaled(OUTPUT));
            default -> String.format("few-shot: shared %d x %d + question %d, output %d tokens", SHOTS, scaled(SHOT),
                    scaled(QUESTION), scaled(OUTPUT));
        } + "; seed " + seed;
    }
}
