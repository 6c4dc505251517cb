package io.splitserve.engine.cuda;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import io.splitserve.engine.weights.DecoderWeights;
import io.splitserve.engine.weights.WeightFiles;
import io.splitserve.engine.weights.WeightLayout;
import io.splitserve.engine.weights.WeightMaterializer;
import io.splitserve.kernels.cuda.Bf16;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.GemvKernel;
import io.splitserve.kernels.cuda.MatmulOp;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;

/**
 * Materialises the {@link WeightLayout} on the GPU: every weight converted to bf16 (exact for bf16 checkpoints) and
 * uploaded once, norms and the embedding table as device buffers, linear layers as {@link Bf16Linear}s over their
 * fused buffers, and a tied LM head reading the embedding table. Owns every buffer it made, so closing it (or a
 * failed load) frees them all.
 */
final class DeviceWeights implements WeightMaterializer<DeviceBuffer, DeviceBuffer, DeviceLinear>, AutoCloseable {
    private final GemvKernel gemv;
    private final MatmulOp matmul;
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private long bytes;

    DeviceWeights(GemvKernel gemv, MatmulOp matmul) {
        this.gemv = gemv;
        this.matmul = matmul;
    }

    /** Uploads every weight of the model; on failure frees what was already uploaded. */
    DecoderWeights<DeviceBuffer, DeviceBuffer, DeviceLinear> load(WeightFiles files, ModelConfig config)
            throws ModelLoadException {
        try {
            return WeightLayout.of(config).load(files, this);
        } catch (ModelLoadException | RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public DeviceBuffer embedding(float[] table, int vocab, int hidden) {
        return upload(table);
    }

    @Override
    public DeviceBuffer norm(float[] weight) {
        return upload(weight);
    }

    @Override
    public DeviceLinear linear(float[] weight, float[] bias, int out, int in) {
        return new Bf16Linear(gemv, matmul, upload(weight).address(), bias == null ? 0 : upload(bias).address(), out,
                in, false);
    }

    @Override
    public DeviceLinear lmHead(float[] weight, int vocab, int hidden) {
        return new Bf16Linear(gemv, matmul, upload(weight).address(), 0, vocab, hidden, true);
    }

    @Override
    public DeviceLinear tiedLmHead(DeviceBuffer embedding, int vocab, int hidden) {
        return new Bf16Linear(gemv, matmul, embedding.address(), 0, vocab, hidden, true);
    }

    private DeviceBuffer upload(float[] values) {
        final short[] bf16 = Bf16.fromFloats(values);
        final DeviceBuffer buffer = DeviceBuffer.allocate(2L * bf16.length);
        buffers.add(buffer);
        bytes += buffer.bytes();
        cuMemcpyHtoD(buffer.pointer(), Pointer.to(bf16), 2L * bf16.length);
        return buffer;
    }

    /** Device bytes the weights take (the LM head included, once when tied). */
    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        buffers.forEach(DeviceBuffer::close);
        buffers.clear();
    }
}
