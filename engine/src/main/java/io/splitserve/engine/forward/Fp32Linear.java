package io.splitserve.engine.forward;

import io.splitserve.kernels.cpu.CpuOps;

/**
 * The CPU's linear layer: an fp32 weight {@code [out][in]} and an optional fp32 bias, applied by
 * {@link CpuOps#matmul}, which keeps one summation order per output element.
 */
public final class Fp32Linear implements CpuLinear {
    private final float[] weight;
    private final float[] bias;
    private final int out;
    private final int in;

    /** {@code bias} may be null; shapes are checked here so a bad weight fails at load, not in a step. */
    public Fp32Linear(float[] weight, float[] bias, int out, int in) {
        if ((long) out * in != weight.length) {
            throw new IllegalArgumentException("a [" + out + "][" + in + "] linear got " + weight.length
                    + " weights");
        }
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException("a linear of " + out + " outputs got " + bias.length + " biases");
        }
        this.weight = weight;
        this.bias = bias;
        this.out = out;
        this.in = in;
    }

    @Override
    public void apply(float[] x, int rows, float[] y) {
        CpuOps.matmul(x, rows, in, weight, out, bias, y);
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    /** {@code [out][in]}; for tests that check how the layout fused the checkpoint's tensors. */
    public float[] weight() {
        return weight;
    }

    /** Null when the layer has no bias. */
    public float[] bias() {
        return bias;
    }
}
