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
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    static Tokenizer tokenizer;
    static PromptFactory prompts;

    @BeforeAll
    static void demoTokenizer() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
        prompts = new PromptFactory(tokenizer);
    }

    @Test
    void promptsEncodeToExactlyTheAskedLength() {
        final SplittableRandom random = new SplittableRandom(5);
        for (int length : new int[] {2, 3, 17, 600, 1500}) {
            assertEquals(length, tokenizer.encode(prompts.prompt(length, random), true).length, "length " + length);
        }
    }

    @Test
    void sameSeedGivesTheSameRequestsAndAnotherSeedDifferentOnes() {
        final WorkloadMix mix = WorkloadMix.named("mixed", 600, 600).scaled(0.2);
        final List<RequestSpec> a = take(new SyntheticWorkload(mix, prompts, 11), 40);
        assertEquals(a, take(new SyntheticWorkload(mix, prompts, 11), 40));
        assertNotEquals(a, take(new SyntheticWorkload(mix, prompts, 12), 40));
        for (RequestSpec r : a) {
            assertEquals(r.promptTokens(), tokenizer.encode(r.prompt(), true).length);
        }
    }

    @Test
    void fixedWorkloadHasTheClassicLengths() {
        for (RequestSpec r : take(new SyntheticWorkload(WorkloadMix.named("fixed", 600, 600), prompts, 1), 5)) {
            assertEquals(600, r.promptTokens());
            assertEquals(600, r.outputTokens());
        }
    }

    @Test
    void mixesHaveTheirShapes() {
        final SplittableRandom random = new SplittableRandom(9);
        final int n = 4000;
        final WorkloadMix weighted = new WorkloadMix("weighted", List.of(
                new WorkloadMix.LengthClass("a", 0.7, LengthDistribution.fixed(10), LengthDistribution.fixed(10)),
                new WorkloadMix.LengthClass("b", 0.3, LengthDistribution.fixed(20), LengthDistribution.fixed(20))));
        int classB = 0;
        double chatOut = 0;
        double codeOut = 0;
        double summaryIn = 0;
        for (int i = 0; i < n; i++) {
            if (weighted.sample(random)[0] == 20) {
                classB++;
            }
            chatOut += WorkloadMix.named("chat", 1, 1).sample(random)[1];
            codeOut += WorkloadMix.named("code", 1, 1).sample(random)[1];
            summaryIn += WorkloadMix.named("summarization", 1, 1).sample(random)[0];
        }
        // class shares follow the weights: standard error sqrt(0.21 / 4000) = 0.7%, allow four
        assertEquals(0.30, classB / (double) n, 0.03);
        assertTrue(chatOut / n > 250, "chat outputs are long");
        assertTrue(codeOut / n < 40, "code outputs are very short");
        assertTrue(summaryIn / n > 1200, "summarization prompts are long");
    }

    @Test
    void scalingShrinksEveryLengthAndKeepsThemPositive() {
        final WorkloadMix scaled = WorkloadMix.named("code", 1, 1).scaled(0.01);
        final WorkloadMix.LengthClass c = scaled.classes().get(0);
        assertEquals(12, c.prompt().median());
        assertEquals(1, c.output().min());
        assertThrows(IllegalArgumentException.class, () -> WorkloadMix.named("code", 1, 1).scaled(0));
    }

    @Test
    void unknownWorkloadNamesAreRejectedWithTheChoices() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkloadMix.named("poetry", 1, 1));
        assertTrue(e.getMessage().contains("chat, summarization"));
    }

    private static List<RequestSpec> take(Workload w, int n) {
        final List<RequestSpec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(w.next());
        }
        return out;
    }
}
