package io.splitserve.engine.forward;

/**
 * The element type in which a runner hands out and takes in KV rows: what its pages hold, so export and import are
 * plain copies. The CPU runner keeps fp32; the CUDA runner bf16. Two runners exchange KV only when their wire
 * types are equal (a transfer between them is refused as incompatible otherwise).
 */
public enum KvWireType {
    F32(4),
    BF16(2);

    private final int elementBytes;

    KvWireType(int elementBytes) {
        this.elementBytes = elementBytes;
    }

    public int elementBytes() {
        return elementBytes;
    }
}
