package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.Act;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.model.ModelConfig;

/**
 * The forward pass's work buffers on the GPU, sized for a number of tokens and of logit rows: hidden-state rows
 * (layer output, residual stream, normalised input), the fused QKV projection, attention output, the fused gate|up
 * projection and its activation (bf16), the gathered rows that need logits, fp32 logits and one sampled token id
 * per logit row. Tokens are rows, back to back. The first seven are the model definition's {@link Act} slots.
 */
final class Activations implements AutoCloseable {
    final int tokens;
    final int rows;
    final DeviceBuffer x;
    final DeviceBuffer residual;
    final DeviceBuffer normed;
    final DeviceBuffer qkv;
    final DeviceBuffer attention;
    final DeviceBuffer gateUp;
    final DeviceBuffer activation;
    final DeviceBuffer gathered;
    final DeviceBuffer logits;
    final DeviceBuffer sampled;
    private final long[] slotAddresses = new long[Act.values().length];

    Activations(ModelConfig c, int tokens, int rows) {
        this.tokens = tokens;
        this.rows = rows;
        final long t = tokens;
        x = DeviceBuffer.allocate(2 * t * c.hiddenSize());
        residual = DeviceBuffer.allocate(2 * t * c.hiddenSize());
        normed = DeviceBuffer.allocate(2 * t * c.hiddenSize());
        qkv = DeviceBuffer.allocate(2 * t * (c.qDim() + 2L * c.kvDim()));
        attention = DeviceBuffer.allocate(2 * t * c.qDim());
        gateUp = DeviceBuffer.allocate(2 * t * 2 * c.intermediateSize());
        activation = DeviceBuffer.allocate(2 * t * c.intermediateSize());
        gathered = DeviceBuffer.allocate(2L * rows * c.hiddenSize());
        logits = DeviceBuffer.allocate(4L * rows * c.vocabSize());
        sampled = DeviceBuffer.allocate(4L * rows);
        slotAddresses[Act.RESIDUAL.ordinal()] = residual.address();
        slotAddresses[Act.X.ordinal()] = x.address();
        slotAddresses[Act.NORMED.ordinal()] = normed.address();
        slotAddresses[Act.QKV.ordinal()] = qkv.address();
        slotAddresses[Act.ATTENTION.ordinal()] = attention.address();
        slotAddresses[Act.GATE_UP.ordinal()] = gateUp.address();
        slotAddresses[Act.ACTIVATION.ordinal()] = activation.address();
    }

    /** Device address of a slot's first row. */
    long address(Act slot) {
        return slotAddresses[slot.ordinal()];
    }

    long bytes() {
        return x.bytes() + residual.bytes() + normed.bytes() + qkv.bytes() + attention.bytes() + gateUp.bytes()
                + activation.bytes() + gathered.bytes() + logits.bytes() + sampled.bytes();
    }

    @Override
    public void close() {
        for (DeviceBuffer b : new DeviceBuffer[] {x, residual, normed, qkv, attention, gateUp, activation, gathered,
                logits, sampled}) {
            b.close();
        }
    }
}
