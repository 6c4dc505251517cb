package io.splitserve.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopStringMatcherTest {

    @Test
    void withoutStopStringsEverythingIsReleasedAtOnce() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertEquals("hello", m.push("hello"));
        assertEquals(" world", m.push(" world"));
        assertEquals("", m.flush());
        assertFalse(m.stopped());
    }

    @Test
    void aStopStringSpreadOverPiecesIsNeverShownAndEndsTheText() {
        StopStringMatcher m = new StopStringMatcher(List.of("</end>"));
        assertEquals("abc", m.push("abc</"));   // "</" may begin the stop string: held back
        assertEquals("", m.push("en"));
        assertEquals("", m.push("d>tail"));      // completed: nothing after it is released
        assertTrue(m.stopped());
        assertEquals("", m.push("more"));
        assertEquals("", m.flush());
    }

    @Test
    void heldBackTextThatTurnsOutNotToBeAStopIsReleased() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertEquals("x", m.push("xST"));
        assertEquals("STa", m.push("a"));
        assertEquals("", m.push("S"));
        assertEquals("S", m.flush());            // generation ended for another reason: the held text is due
        assertFalse(m.stopped());
    }

    @Test
    void theEarliestOfSeveralStopStringsWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("world", "lo w"));
        assertEquals("hel", m.push("hello world"));
        assertTrue(m.stopped());
    }

    @Test
    void aStopStringAtTheVeryStartReleasesNothing() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n"));
        assertEquals("", m.push("\n\nanswer"));
        assertTrue(m.stopped());
    }

    @Test
    void emptyStopStringsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new StopStringMatcher(List.of("")));
    }
}
