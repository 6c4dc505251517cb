package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.router.JournalRecord;
import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Replaying a journal written in the router's format: accepted entries become requests in order, the rest does not. */
class JournalWorkloadTest {
    private static Tokenizer tokenizer;

    @TempDir
    Path dir;

    @BeforeAll
    static void demoTokenizer() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
    }

    private static String accepted(long routerId, String prompt, int maxNew) {
        return new JournalRecord.Accepted(routerId, 99, routerId, maxNew, 0f, 1f, 0, 0,
                tokenizer.encode(prompt, true), new int[0], List.of()).appendTo(new StringBuilder()).toString();
    }

    @Test
    void acceptedEntriesBecomeRequestsInJournalOrderAndCompletionsAreSkipped() {
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).build();
             ExcerptAppender appender = queue.createAppender()) {
            appender.writeText(accepted(1, " once upon a time", 48));
            appender.writeText(new JournalRecord.Completed(1, "completed stop").appendTo(new StringBuilder()));
            appender.writeText(accepted(2, " the end", 7));
        }
        final JournalWorkload workload = new JournalWorkload(dir, tokenizer);
        assertEquals(2, workload.recorded());
        final RequestSpec first = workload.next();
        assertTrue(first.prompt().contains("once upon a time"), first.prompt());
        assertEquals(tokenizer.encode(" once upon a time", true).length, first.promptTokens());
        assertEquals(48, first.outputTokens());
        final RequestSpec second = workload.next();
        assertTrue(second.prompt().contains("the end"), second.prompt());
        assertEquals(7, second.outputTokens());
        assertEquals(first, workload.next(), "a longer run cycles through the journal");
    }

    @Test
    void aCompletionLineIsNoRequest() {
        assertNull(JournalWorkload.parse("C 7 completed stop", tokenizer));
    }

    @Test
    void aMalformedLineIsAnErrorNotASilentSkip() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JournalWorkload.parse("A 7 99 3 48 0.0 1.0 0 0 12,oops  ", tokenizer));
        assertTrue(e.getMessage().contains("prompt token 1 'oops'"), e.getMessage());
    }
}
