package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shared-prefix workloads have the structure a prefix cache feeds on, exactly and repeatably: a conversation's
 * next turn starts with its previous turn's whole prompt and grows by one answer and one user message, conversations
 * restart after their last turn; system-prompt and few-shot requests all start with one shared text and then differ;
 * counted lengths are what the tokenizer counts; the same seed gives the same requests, another seed others.
 */
class SharedPrefixWorkloadTest {
    static Tokenizer tokenizer;
    static PromptFactory prompts;
    /** Special tokens the tokenizer adds to a whole prompt (a BOS or none). */
    static int specials;

    @BeforeAll
    static void demoTokenizer() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
        prompts = new PromptFactory(tokenizer);
        specials = tokenizer.encode(prompts.words(1, new java.util.SplittableRandom(1)), true).length - 1;
    }

    private static List<RequestSpec> take(Workload workload, int n) {
        final List<RequestSpec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(workload.next());
        }
        return out;
    }

    @Test
    void eachTurnResendsTheConversationSoFar() {
        final int conversations = SharedPrefixWorkload.CONVERSATIONS;
        final int turns = SharedPrefixWorkload.TURNS;
        final List<RequestSpec> requests = take(new SharedPrefixWorkload("multi-turn", prompts, 0.5, 3),
                conversations * (turns + 1));
        for (int i = 0; i < requests.size(); i++) {
            final RequestSpec r = requests.get(i);
            assertEquals(tokenizer.encode(r.prompt(), true).length, r.promptTokens(), "request " + i);
            final int turn = (i / conversations) % turns;
            if (turn == 0) {
                assertEquals(SharedPrefixWorkload.OPENING / 2 + specials, r.promptTokens(), "an opening");
                if (i >= conversations) {
                    assertTrue(!r.prompt().startsWith(requests.get(i - conversations).prompt()), "a fresh conversation");
                }
            } else {
                final RequestSpec before = requests.get(i - conversations);
                assertTrue(r.prompt().startsWith(before.prompt()), "turn " + turn + " extends turn " + (turn - 1));
                assertEquals(before.promptTokens() + (SharedPrefixWorkload.ANSWER + SharedPrefixWorkload.USER) / 2,
                        r.promptTokens(), "one answer and one user message more");
            }
        }
    }

    @Test
    void sharedPrefixWorkloadsShareExactlyTheirPrefix() {
        for (String name : List.of("system-prompt", "few-shot")) {
            final List<RequestSpec> requests = take(new SharedPrefixWorkload(name, prompts, 1, 5), 20);
            final int shared = name.equals("system-prompt") ? SharedPrefixWorkload.SYSTEM
                    : SharedPrefixWorkload.SHOTS * SharedPrefixWorkload.SHOT;
            for (RequestSpec r : requests) {
                assertEquals(shared + SharedPrefixWorkload.QUESTION + specials, r.promptTokens(), name);
                assertEquals(r.promptTokens(), tokenizer.encode(r.prompt(), true).length, name);
            }
            final int[] a = tokenizer.encode(requests.get(0).prompt(), true);
            final int[] b = tokenizer.encode(requests.get(1).prompt(), true);
            int common = 0;
            while (common < a.length && a[common] == b[common]) {
                common++;
            }
            assertTrue(common >= shared + specials && common < a.length, name + ": common prefix " + common);
        }
    }

    @Test
    void seedsAndNamesBehave() {
        assertEquals(take(new SharedPrefixWorkload("multi-turn", prompts, 0.2, 9), 40),
                take(new SharedPrefixWorkload("multi-turn", prompts, 0.2, 9), 40));
        assertNotEquals(take(new SharedPrefixWorkload("few-shot", prompts, 0.2, 9), 5),
                take(new SharedPrefixWorkload("few-shot", prompts, 0.2, 10), 5));
        assertThrows(IllegalArgumentException.class, () -> new SharedPrefixWorkload("chat", prompts, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new SharedPrefixWorkload("few-shot", prompts, 0, 1));
        final IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> WorkloadMix.named("multiturn", 1, 1));
        assertTrue(unknown.getMessage().contains("multi-turn"), unknown.getMessage());
    }
}
