package io.splitserve.engine.cuda;

import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.GemvKernel;
import io.splitserve.kernels.cuda.GemvTuning;
import io.splitserve.kernels.cuda.GemvVariant;
import io.splitserve.kernels.cuda.MatmulOp;

/**
 * The GPU's linear layer: a bf16 weight {@code [out][in]} and an optional bf16 bias on the device. Up to
 * {@link GemvKernel#MAX_ROWS} rows go to the weight-streaming GEMV (bias fused, each row computed the same way
 * whatever the batch), more to cuBLAS. Outputs are bf16, or fp32 for the LM head ({@code floatOutput}, no bias). For
 * a few rows it also runs the GEMV's fused forms: SwiGLU for a gate|up linear, the residual add in the epilogue and
 * RMSNorm folded into the prologue. The GEMV launch variant of each row count is looked up once, here, in
 * {@link GemvTuning#MEASURED}, so the plain and the fused forms of this linear sum in the same order.
 */
final class Bf16Linear implements DeviceLinear {
    private final GemvKernel gemv;
    private final MatmulOp matmul;
    private final long weight;
    private final long bias;
    private final int out;
    private final int in;
    private final boolean floatOutput;
    /** The GEMV variant by row count (index 0 unused). */
    private final GemvVariant[] variants = new GemvVariant[GemvKernel.MAX_ROWS + 1];

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
        for (int rows = 1; rows <= GemvKernel.MAX_ROWS; rows++) {
            variants[rows] = GemvTuning.MEASURED.variantFor(out, in, rows);
        }
    }

    @Override
    public void apply(CudaStream stream, long y, long x, int rows) {
        if (floatOutput) {
            if (rows <= GemvKernel.MAX_ROWS) {
                gemv.applyFloat(stream, y, x, weight, 0, rows, out, in, variants[rows]);
            } else {
                matmul.applyFloat(y, x, weight, rows, out, in);
            }
        } else if (rows <= GemvKernel.MAX_ROWS) {
            gemv.apply(stream, y, x, weight, bias, rows, out, in, variants[rows]);
        } else {
            matmul.apply(stream, y, x, weight, bias, rows, out, in);
        }
    }

    @Override
    public void applySwiGlu(CudaStream stream, long y, long x, int rows) {
        requireGateUp();
        gemv.applySwiGlu(stream, y, x, weight, bias, rows, out / 2, in, variant(rows));
    }

    @Override
    public void applyAddResidual(CudaStream stream, long residual, long x, int rows) {
        if (floatOutput) {
            throw new IllegalStateException("the residual stream is bf16, this linear has fp32 outputs");
        }
        gemv.applyAddResidual(stream, residual, x, weight, bias, rows, out, in, variant(rows));
    }

    @Override
    public void applyNormed(CudaStream stream, long y, long x, long norm, float eps, int rows) {
        if (floatOutput) {
            gemv.applyNormedFloat(stream, y, x, norm, eps, weight, 0, rows, out, in, variant(rows));
        } else {
            gemv.applyNormed(stream, y, x, norm, eps, weight, bias, rows, out, in, variant(rows));
        }
    }

    @Override
    public void applyNormedSwiGlu(CudaStream stream, long y, long x, long norm, float eps, int rows) {
        requireGateUp();
        gemv.applyNormedSwiGlu(stream, y, x, norm, eps, weight, bias, rows, out / 2, in, variant(rows));
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    private GemvVariant variant(int rows) {
        if (rows <= 0 || rows > GemvKernel.MAX_ROWS) {
            throw new IllegalArgumentException("a fused GEMV takes 1 to " + GemvKernel.MAX_ROWS + " rows, got " + rows);
        }
        return variants[rows];
    }

    private void requireGateUp() {
        if (floatOutput || out % 2 != 0) {
            throw new IllegalStateException("SwiGLU needs a bf16 [gate | up] linear, this one has " + out
                    + (floatOutput ? " fp32" : "") + " outputs");
        }
    }
}
