package io.splitserve.engine.weights;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header: its dtype, shape and byte range relative to the start of the data
 * section. A {@code TensorInfo} only exists once the range has been checked against the shape and the file.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
