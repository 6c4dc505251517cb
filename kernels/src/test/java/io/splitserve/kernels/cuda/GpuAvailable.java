package io.splitserve.kernels.cuda;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Skips GPU tests where the CUDA backend cannot run (kernels not built, no driver, no device), saying why. */
public final class GpuAvailable implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String reason = CudaDevice.unavailableReason();
        return reason == null ? ConditionEvaluationResult.enabled("CUDA device present")
                : ConditionEvaluationResult.disabled("no GPU: " + reason);
    }
}
