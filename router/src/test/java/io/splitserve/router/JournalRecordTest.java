package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The journal's text format: what one entry writes is what parsing reads back, and nothing else parses. */
class JournalRecordTest {
    @Test
    void anAcceptedEntryReadsBackFieldForField() {
        final JournalRecord.Accepted written = new JournalRecord.Accepted(7, 99, 3, 48, 0.7f, 0.95f, 40,
                Long.MIN_VALUE, new int[] {1, 0, 151_643, Integer.MAX_VALUE});
        final String line = written.appendTo(new StringBuilder()).toString();

        final JournalRecord.Accepted read = assertInstanceOf(JournalRecord.Accepted.class, JournalRecord.parse(line));
        assertEquals(written.routerId(), read.routerId());
        assertEquals(written.clientId(), read.clientId());
        assertEquals(written.clientRequestId(), read.clientRequestId());
        assertEquals(written.maxNewTokens(), read.maxNewTokens());
        assertEquals(written.temperature(), read.temperature());
        assertEquals(written.topP(), read.topP());
        assertEquals(written.topK(), read.topK());
        assertEquals(written.seed(), read.seed());
        assertArrayEquals(written.promptTokens(), read.promptTokens());
        assertEquals(line, read.appendTo(new StringBuilder()).toString(), "writing it again gives the same line");
    }

    @Test
    void aCompletedEntryKeepsAnOutcomeOfSeveralWords() {
        final String line = new JournalRecord.Completed(12, "failed router-restarted").appendTo(new StringBuilder())
                .toString();
        assertEquals("C 12 failed router-restarted", line);
        final JournalRecord.Completed read = assertInstanceOf(JournalRecord.Completed.class, JournalRecord.parse(line));
        assertEquals(12, read.routerId());
        assertEquals("failed router-restarted", read.outcome());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "X 7 whatever",
        "A 7 99 3 48 0.0 1.0 0 0",                 // no prompt field
        "A 7 99 3 48 0.0 1.0 0 0 1,2 extra",       // one field too many
        "A 7 99 3 48 0.0 1.0 0 0 ",                // empty prompt
        "A 7 99 3 48 0.0 1.0 0 0 1,,2",            // empty token
        "A 7 99 3 48 0.0 1.0 0 0 1,x",             // token not a number
        "A 7 99 3 4294967296 0.0 1.0 0 0 1",       // max new tokens beyond int
        "A seven 99 3 48 0.0 1.0 0 0 1",           // router id not a number
        "A 7 99 3 48 warm 1.0 0 0 1",              // temperature not a number
        "C 7",                                     // no outcome
        "C 7 ",                                    // empty outcome
        "C x completed",                           // router id not a number
    })
    void aMalformedEntryIsAnErrorNamingTheLine(String line) {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JournalRecord.parse(line));
        assertTrue(e.getMessage().startsWith("malformed journal entry '" + line + "': "), e.getMessage());
    }

    @Test
    void theErrorSaysWhichFieldIsWrong() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JournalRecord.parse("A 7 99 3 48 0.0 1.0 0 0 5,x"));
        assertTrue(e.getMessage().endsWith("prompt token 1 'x' is not a 32-bit integer"), e.getMessage());
    }
}
