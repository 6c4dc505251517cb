package io.splitserve.engine.cuda;

import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.GemvKernel;
import io.splitserve.kernels.cuda.MatmulOp;

/**
 * The GPU's linear layer: a bf16 weight {@code [out][in]} and an optional bf16 bias on the device. Up to
 * {@link GemvKernel#MAX_ROWS} rows go to the weight-streaming GEMV (bias fused, each row computed the same way
 * whatever the batch), more to cuBLAS. Outputs are bf16, or fp32 for the LM head ({@code floatOutput}, no bias). A
 * fused gate|up linear also runs as one SwiGLU GEMV for a few rows ({@link #applySwiGlu}).
 */
final class Bf16Linear implements DeviceLinear {
    private final GemvKernel gemv;
    private final MatmulOp matmul;
    private final long weight;
    private final long bias;
    private final int out;
    private final int in;
    private final boolean floatOutput;

    /** {@code bias} is 0 for none; an fp32-output linear takes no bias (cuBLAS's fp32 path adds none). */
    Bf16Linear(GemvKernel gemv, MatmulOp matmul, long weight, long bias, int out, int in, boolean floatOutput) {
        if (floatOutput && bias != 0) {
            throw new IllegalArgumentException("an fp32-output linear takes no bias");
        }
        this.gemv = gemv;
        this.matmul = matmul;
        this.weight = weight;
        this.bias = bias;
        this.out = out;
        this.in = in;
        this.floatOutput = floatOutput;
    }

    @Override
    public void apply(CudaStream stream, long y, long x, int rows) {
        if (floatOutput) {
            if (rows <= GemvKernel.MAX_ROWS) {
                gemv.applyFloat(stream, y, x, weight, 0, rows, out, in);
            } else {
                matmul.applyFloat(y, x, weight, rows, out, in);
            }
        } else if (rows <= GemvKernel.MAX_ROWS) {
            gemv.apply(stream, y, x, weight, bias, rows, out, in);
        } else {
            matmul.apply(stream, y, x, weight, bias, rows, out, in);
        }
    }

    @Override
    public void applySwiGlu(CudaStream stream, long y, long x, int rows) {
        if (floatOutput || out % 2 != 0) {
            throw new IllegalStateException("SwiGLU needs a bf16 [gate | up] linear, this one has " + out
                    + (floatOutput ? " fp32" : "") + " outputs");
        }
        gemv.applySwiGlu(stream, y, x, weight, bias, rows, out / 2, in);
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }
}
