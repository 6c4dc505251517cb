package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The fused-decode switch: its system-property default (unset is on) and a clear error for anything but a boolean. */
class EngineOptionsFusedDecodeTest {
    @Test
    void thePropertyUnsetOrTrueMeansFusedAndFalseMeansUnfused() {
        assertTrue(EngineOptions.fusedDecodeDefault(null));
        assertTrue(EngineOptions.fusedDecodeDefault("true"));
        assertTrue(EngineOptions.fusedDecodeDefault("TRUE"));
        assertFalse(EngineOptions.fusedDecodeDefault("false"));
        assertFalse(EngineOptions.fusedDecodeDefault("False"));
    }

    @Test
    void anythingElseNamesThePropertyAndTheValue() {
        final IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> EngineOptions.fusedDecodeDefault("off"));
        assertTrue(e.getMessage().contains(EngineOptions.FUSED_DECODE_PROPERTY), e.getMessage());
        assertTrue(e.getMessage().contains("'off'"), e.getMessage());
    }

    @Test
    void theSetterOverridesTheDefault() {
        assertFalse(new EngineOptions().fusedDecode(false).fusedDecode());
        assertTrue(new EngineOptions().fusedDecode(false).fusedDecode(true).fusedDecode());
    }
}
