package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * {@link RequiresGpu} on a machine without a GPU, in both modes, whatever this machine has: a fixture class runs under
 * the condition with a fixed "why not", through the JUnit launcher, and the test reads what JUnit reports for it.
 */
class RequiresGpuTest {
    /** The condition as it behaves where no GPU can be used. */
    static final class NoGpuHere extends RequiresGpu {
        static final String REASON = "no CUDA device (fixture)";

        NoGpuHere() {
            super(() -> REASON);
        }
    }

    /** A GPU test class as the real ones are marked, under the no-GPU condition; run only through the launcher. */
    @Tag("gpu")
    @Tag("condition-fixture")
    @ExtendWith(NoGpuHere.class)
    static final class FixtureGpuClass {
        static int bodiesRun;

        @Test
        void needsAGpu() {
            bodiesRun++;
        }
    }

    /** What the launcher reported for the fixture class. */
    private record Outcome(String skippedBecause, TestExecutionResult finished) { }

    private static Outcome runFixture(Map<String, String> configuration) {
        final LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(FixtureGpuClass.class)).configurationParameters(configuration).build();
        final List<Outcome> outcomes = new ArrayList<>();
        LauncherFactory.create().execute(request, new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (isFixtureClass(id)) {
                    outcomes.add(new Outcome(reason, null));
                }
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (isFixtureClass(id)) {
                    outcomes.add(new Outcome(null, result));
                }
            }
        });
        assertEquals(1, outcomes.size(), "one report for the fixture class: " + outcomes);
        return outcomes.get(0);
    }

    private static boolean isFixtureClass(TestIdentifier id) {
        return id.getSource().filter(ClassSource.class::isInstance)
                .map(source -> ((ClassSource) source).getJavaClass() == FixtureGpuClass.class).orElse(false);
    }

    @Test
    void withoutAGpuTheClassIsReportedSkippedWithTheReason() {
        FixtureGpuClass.bodiesRun = 0;
        // explicitly off: this test must behave the same inside a run that requires the GPU
        final Outcome outcome = runFixture(Map.of(RequiresGpu.REQUIRE_PROPERTY, "false"));
        assertEquals("no GPU: " + NoGpuHere.REASON, outcome.skippedBecause());
        assertEquals(0, FixtureGpuClass.bodiesRun);
    }

    @Test
    void whenAGpuIsRequiredItsAbsenceFailsTheClass() {
        FixtureGpuClass.bodiesRun = 0;
        final Outcome outcome = runFixture(Map.of(RequiresGpu.REQUIRE_PROPERTY, "true"));
        assertEquals(null, outcome.skippedBecause(), "not skipped");
        assertEquals(TestExecutionResult.Status.FAILED, outcome.finished().getStatus());
        final Throwable cause = outcome.finished().getThrowable().orElseThrow();
        assertTrue(cause.getMessage().contains("requires a GPU") && cause.getMessage().contains(NoGpuHere.REASON),
                cause.getMessage());
        assertEquals(0, FixtureGpuClass.bodiesRun);
    }

    @Test
    void theSwitchesAcceptOnlyClearValues() {
        assertFalse(RequiresGpu.required(null, null));
        assertFalse(RequiresGpu.required("false", null));
        assertTrue(RequiresGpu.required("true", null));
        assertTrue(RequiresGpu.required(null, "1"));
        assertTrue(RequiresGpu.required(" TRUE ", "0"));
        assertFalse(RequiresGpu.required("false", "1"), "the property overrides the environment");
        assertFalse(RequiresGpu.required(null, ""));
        final ExtensionConfigurationException e = assertThrows(ExtensionConfigurationException.class,
                () -> RequiresGpu.required("yes", null));
        assertTrue(e.getMessage().contains(RequiresGpu.REQUIRE_PROPERTY + " is 'yes'"), e.getMessage());
    }
}
