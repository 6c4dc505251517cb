package io.splitserve.engine.cuda;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.engine.weights.WeightFiles;
import io.splitserve.kernels.cuda.Bf16;
import io.splitserve.kernels.cuda.DeviceBuffer;
import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;

/**
 * Every weight of a model on the GPU in bf16, uploaded once, in the layouts the CUDA forward pass wants: per layer
 * q, k and v fused into one {@code [qDim + 2·kvDim][hidden]} matrix (with one fused bias where the architecture has
 * q/k/v biases), gate and up fused into one {@code [2·intermediate][hidden]} matrix (gate rows first), the other
 * linear weights {@code [out][in]} as Hugging Face stores them. Norm weights are bf16 too. With tied embeddings the
 * LM head is the embedding table itself. Shapes are checked against the configuration by name as they are read.
 */
final class CudaWeights implements AutoCloseable {
    /** Device addresses of one decoder layer; 0 where the architecture has no such tensor. */
    record Layer(long inputNorm, long wQkv, long bQkv, long wO, long bO, long qNorm, long kNorm,
                 long postAttentionNorm, long wGateUp, long wDown) {
    }

    private final List<DeviceBuffer> buffers;
    private final Layer[] layers;
    private final long embedding;
    private final long finalNorm;
    private final long lmHead;
    private final long bytes;

    private CudaWeights(Uploader uploaded, Layer[] layers, long embedding, long finalNorm, long lmHead) {
        this.buffers = uploaded.buffers;
        this.bytes = uploaded.bytes;
        this.layers = layers;
        this.embedding = embedding;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /** Reads, converts and uploads every weight; on failure frees what was already uploaded. */
    static CudaWeights upload(WeightFiles files, ModelConfig c) throws ModelLoadException {
        final Uploader up = new Uploader();
        try {
            final long hidden = c.hiddenSize();
            final long q = c.qDim();
            final long kv = c.kvDim();
            final long inter = c.intermediateSize();
            final long embedding = up.tensor(files, "model.embed_tokens.weight", c.vocabSize(), hidden);
            final Layer[] layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                final String p = "model.layers." + i + ".";
                final String attn = p + "self_attn.";
                final DeviceBuffer qkv = up.allocate(2 * (q + 2 * kv) * hidden);
                write(qkv, 0, files, attn + "q_proj.weight", q, hidden);
                write(qkv, q * hidden, files, attn + "k_proj.weight", kv, hidden);
                write(qkv, (q + kv) * hidden, files, attn + "v_proj.weight", kv, hidden);
                long qkvBias = 0;
                if (c.qkvBias()) {
                    final DeviceBuffer bias = up.allocate(2 * (q + 2 * kv));
                    write(bias, 0, files, attn + "q_proj.bias", q);
                    write(bias, q, files, attn + "k_proj.bias", kv);
                    write(bias, q + kv, files, attn + "v_proj.bias", kv);
                    qkvBias = bias.address();
                }
                final DeviceBuffer gateUp = up.allocate(2 * 2 * inter * hidden);
                write(gateUp, 0, files, p + "mlp.gate_proj.weight", inter, hidden);
                write(gateUp, inter * hidden, files, p + "mlp.up_proj.weight", inter, hidden);
                layers[i] = new Layer(
                        up.tensor(files, p + "input_layernorm.weight", hidden),
                        qkv.address(),
                        qkvBias,
                        up.tensor(files, attn + "o_proj.weight", hidden, q),
                        c.outputBias() ? up.tensor(files, attn + "o_proj.bias", hidden) : 0,
                        c.qkNorm() ? up.tensor(files, attn + "q_norm.weight", c.headDim()) : 0,
                        c.qkNorm() ? up.tensor(files, attn + "k_norm.weight", c.headDim()) : 0,
                        up.tensor(files, p + "post_attention_layernorm.weight", hidden),
                        gateUp.address(),
                        up.tensor(files, p + "mlp.down_proj.weight", hidden, inter));
            }
            final long finalNorm = up.tensor(files, "model.norm.weight", hidden);
            final long lmHead = c.tieWordEmbeddings() ? embedding
                    : up.tensor(files, "lm_head.weight", c.vocabSize(), hidden);
            return new CudaWeights(up, layers, embedding, finalNorm, lmHead);
        } catch (ModelLoadException | RuntimeException e) {
            up.buffers.forEach(DeviceBuffer::close);
            throw e;
        }
    }

    /** Converts one tensor to bf16 (exact for bf16 checkpoints) and copies it {@code elementOffset} into the buffer. */
    private static void write(DeviceBuffer buffer, long elementOffset, WeightFiles files, String name, long... shape)
            throws ModelLoadException {
        final short[] bf16 = Bf16.fromFloats(files.read(name, shape));
        cuMemcpyHtoD(buffer.pointer().withByteOffset(2 * elementOffset), Pointer.to(bf16), 2L * bf16.length);
    }

    /** The device buffers made so far, so a failed load can free them. */
    private static final class Uploader {
        final List<DeviceBuffer> buffers = new ArrayList<>();
        long bytes;

        DeviceBuffer allocate(long byteCount) {
            final DeviceBuffer buffer = DeviceBuffer.allocate(byteCount);
            buffers.add(buffer);
            bytes += byteCount;
            return buffer;
        }

        long tensor(WeightFiles files, String name, long... shape) throws ModelLoadException {
            long elements = 1;
            for (long d : shape) {
                elements *= d;
            }
            final DeviceBuffer buffer = allocate(2 * elements);
            write(buffer, 0, files, name, shape);
            return buffer.address();
        }
    }

    Layer layer(int index) {
        return layers[index];
    }

    long embedding() {
        return embedding;
    }

    long finalNorm() {
        return finalNorm;
    }

    long lmHead() {
        return lmHead;
    }

    /** Device bytes the weights take. */
    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        buffers.forEach(DeviceBuffer::close);
    }
}
