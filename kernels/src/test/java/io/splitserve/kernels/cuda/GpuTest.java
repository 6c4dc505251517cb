package io.splitserve.kernels.cuda;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class that needs a GPU: tagged {@code gpu} and run under {@link RequiresGpu}, so without a GPU it is
 * reported skipped with the reason, and on a run started with {@code -Dsplitserve.requireGpu=true} it fails instead.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(RequiresGpu.class)
public @interface GpuTest {
}
