package io.splitserve.engine.weights;

import java.util.Locale;

/**
 * The safetensors element types the engine can read, with their size in bytes. Other safetensors dtypes (F64,
 * integer and fp8 types) are recognised only to reject them with a clear message.
 */
public enum DType {
    F32(4),
    F16(2),
    BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The dtype named by a safetensors header, or null when the engine cannot convert it to fp32. */
    public static DType fromHeaderName(String name) {
        switch (name.toUpperCase(Locale.ROOT)) {
            case "F32":
                return F32;
            case "F16":
                return F16;
            case "BF16":
                return BF16;
            default:
                return null;
        }
    }
}
