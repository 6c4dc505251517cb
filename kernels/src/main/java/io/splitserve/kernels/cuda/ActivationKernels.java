package io.splitserve.kernels.cuda;

/** Launches {@code activation.cu}: SiLU-and-mul over a fused [gate | up] projection, and a row bias add. */
public final class ActivationKernels {
    private final CudaKernel siluMul;
    private final CudaKernel biasAdd;

    public ActivationKernels(CudaDevice device) {
        siluMul = new CudaKernel(device, KernelSpec.SILU_AND_MUL);
        biasAdd = new CudaKernel(device, KernelSpec.BIAS_ADD);
    }

    /** out[t][i] = silu(gateUp[t][i]) * gateUp[t][inter + i]. */
    public void siluAndMul(CudaStream stream, long out, long gateUp, int tokens, int inter) {
        Shapes.positive("tokens", tokens);
        Shapes.multipleOf8("intermediate size", inter);
        siluMul.args.address(0, out).address(1, gateUp).int32(2, inter);
        siluMul.launch(tokens, 1, 1, 256, 0, stream);
    }

    /** y[r][:] += bias[:] for row-major bf16 y[rows][n]. */
    public void biasAdd(CudaStream stream, long y, long bias, int rows, int n) {
        Shapes.positive("rows", rows);
        Shapes.multipleOf8("bias length", n);
        biasAdd.args.address(0, y).address(1, bias).int32(2, n);
        biasAdd.launch(rows, 1, 1, 256, 0, stream);
    }
}
