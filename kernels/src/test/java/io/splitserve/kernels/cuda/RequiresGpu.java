package io.splitserve.kernels.cuda;

import java.util.Locale;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The one condition every GPU test class runs under (through {@link GpuTest}), so a missing GPU is visible instead of
 * silent: where the CUDA backend cannot run (kernels not built, no driver, no device) the class is disabled and JUnit
 * reports it skipped with {@link CudaDevice#unavailableReason()}; on a run that must use the GPU
 * ({@code -Dsplitserve.requireGpu=true}, or the environment variable {@code SPLITSERVE_REQUIRE_GPU=1}) the same
 * absence fails the class instead, so a GPU run cannot pass by skipping everything.
 *
 * <p>Shared with the other modules through the kernels test-jar. The switch is read as a JUnit configuration
 * parameter, which also sees JVM system properties (Surefire hands {@code -D} options of the Maven command line to
 * the test JVM).
 */
public class RequiresGpu implements ExecutionCondition {
    /** System property or JUnit configuration parameter: {@code true} makes a missing GPU a failure. */
    public static final String REQUIRE_PROPERTY = "splitserve.requireGpu";
    /** Environment variable: {@code 1} or {@code true} makes a missing GPU a failure. */
    public static final String REQUIRE_ENV = "SPLITSERVE_REQUIRE_GPU";

    private final Supplier<String> unavailableReason;

    public RequiresGpu() {
        this(CudaDevice::unavailableReason);
    }

    /** A condition over another source of "why not" (null when the GPU is usable), for testing the condition. */
    protected RequiresGpu(Supplier<String> unavailableReason) {
        this.unavailableReason = unavailableReason;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        final String reason = unavailableReason.get();
        if (reason == null) {
            return ConditionEvaluationResult.enabled("CUDA device present");
        }
        if (required(context.getConfigurationParameter(REQUIRE_PROPERTY).orElse(null), System.getenv(REQUIRE_ENV))) {
            throw new ExtensionConfigurationException("this run requires a GPU (" + REQUIRE_PROPERTY + " or "
                    + REQUIRE_ENV + ") but the CUDA backend cannot run here: " + reason);
        }
        return ConditionEvaluationResult.disabled("no GPU: " + reason);
    }

    /**
     * Whether a GPU is required: the property when it is set (so {@code -Dsplitserve.requireGpu=false} overrides the
     * environment), else the environment variable. A value other than true/1/false/0 is an error, not a guess.
     */
    static boolean required(String property, String environment) {
        if (property != null) {
            return isOn(REQUIRE_PROPERTY, property);
        }
        return environment != null && !environment.isEmpty() && isOn(REQUIRE_ENV, environment);
    }

    private static boolean isOn(String name, String value) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true":
            case "1":
                return true;
            case "false":
            case "0":
                return false;
            default:
                throw new ExtensionConfigurationException(name + " is '" + value + "': use true/1 or false/0");
        }
    }
}
