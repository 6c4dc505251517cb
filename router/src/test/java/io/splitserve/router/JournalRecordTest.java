package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.agrona.collections.IntArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The journal's text format: what one entry writes is what parsing reads back, and nothing else parses. */
class JournalRecordTest {
    @Test
    void anAcceptedEntryReadsBackFieldForField() {
        final JournalRecord.Accepted written = new JournalRecord.Accepted(7, 99, 3, 48, 0.7f, 0.95f, 40,
                Long.MIN_VALUE, new int[] {1, 0, 151_643, Integer.MAX_VALUE}, new int[] {151_643, 151_645},
                List.of("\n\nUser:", "a, b c", "é"));
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
        assertArrayEquals(written.stopTokenIds(), read.stopTokenIds());
        assertEquals(written.stopStrings(), read.stopStrings(), "stop strings with spaces, commas and line ends");
        assertEquals(1, line.split("\n", -1).length, "one line");
        assertEquals(line, read.appendTo(new StringBuilder()).toString(), "writing it again gives the same line");
    }

    @Test
    void anAcceptedEntryMayHaveNoStopConditions() {
        final String line = new JournalRecord.Accepted(7, 99, 3, 48, 0f, 1f, 0, 0, new int[] {5}, new int[0],
                List.of()).appendTo(new StringBuilder()).toString();
        assertEquals("A 7 99 3 48 0.0 1.0 0 0 5  ", line);
        final JournalRecord.Accepted read = assertInstanceOf(JournalRecord.Accepted.class, JournalRecord.parse(line));
        assertArrayEquals(new int[0], read.stopTokenIds());
        assertEquals(List.of(), read.stopStrings());
    }

    @Test
    void deliveredAndRecoveredEntriesReadBack() {
        final IntArrayList delivered = new IntArrayList(new int[] {40, 41, 42, 43}, 4, -1);
        final String line = JournalRecord.appendDelivered(new StringBuilder(), 12, delivered, 1, 4).toString();
        assertEquals("D 12 1 41,42,43", line);
        final JournalRecord.Delivered read = assertInstanceOf(JournalRecord.Delivered.class, JournalRecord.parse(line));
        assertEquals(12, read.routerId());
        assertEquals(1, read.firstIndex());
        assertArrayEquals(new int[] {41, 42, 43}, read.tokens());
        assertEquals(line, read.appendTo(new StringBuilder()).toString());

        assertEquals("R 12", new JournalRecord.Recovered(12).appendTo(new StringBuilder()).toString());
        assertEquals(12, assertInstanceOf(JournalRecord.Recovered.class, JournalRecord.parse("R 12")).routerId());
    }

    @Test
    void aDamagedLineStillNamesItsRequestWhenItsIdIsReadable() {
        assertEquals(7, JournalRecord.routerIdOf("A 7 99 3 48 0.0 1.0 0 0 1,x  "));
        assertArrayEquals(new long[] {99, 3}, JournalRecord.clientIdsOf("A 7 99 3 48 0.0 1.0 0 0 1,x  "));
        assertEquals(9, JournalRecord.routerIdOf("D 9 0 1,"));
        assertEquals(-1, JournalRecord.routerIdOf("D nine 0 1"));
        assertEquals(-1, JournalRecord.routerIdOf("hello from another program"));
        assertEquals(null, JournalRecord.clientIdsOf("A 7 ninety 3"));
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
        "A 7 99 3 48 0.0 1.0 0 0 1,2",             // no stop fields (an entry older than continuations)
        "A 7 99 3 48 0.0 1.0 0 0 1,2   extra",     // one field too many
        "A 7 99 3 48 0.0 1.0 0 0   ",              // empty prompt
        "A 7 99 3 48 0.0 1.0 0 0 1,,2  ",          // empty token
        "A 7 99 3 48 0.0 1.0 0 0 1,x  ",           // token not a number
        "A 7 99 3 48 0.0 1.0 0 0 1 2,y ",          // stop token not a number
        "A 7 99 3 48 0.0 1.0 0 0 1  not*base64",   // stop string not Base64
        "A 7 99 3 48 0.0 1.0 0 0 1  ,",            // an empty stop string
        "A 7 99 3 4294967296 0.0 1.0 0 0 1  ",     // max new tokens beyond int
        "A seven 99 3 48 0.0 1.0 0 0 1  ",         // router id not a number
        "A 7 99 3 48 warm 1.0 0 0 1  ",            // temperature not a number
        "D 7 0",                                   // no tokens field
        "D 7 0 ",                                  // no tokens
        "D 7 -1 5",                                // negative index
        "D 7 0 5,",                                // a token cut short
        "R x",                                     // router id not a number
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
                () -> JournalRecord.parse("A 7 99 3 48 0.0 1.0 0 0 5,x  "));
        assertTrue(e.getMessage().endsWith("prompt token 1 'x' is not a 32-bit integer"), e.getMessage());
    }
}
