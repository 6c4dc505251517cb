package io.splitserve.kernels.cuda;

/**
 * bfloat16 <-> float conversion on the host (round to nearest even, NaN kept NaN), for uploading weights and
 * activations to the GPU and reading them back.
 */
public final class Bf16 {
    private Bf16() {
    }

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    public static short[] fromFloats(float[] src) {
        short[] out = new short[src.length];
        for (int i = 0; i < src.length; i++) {
            out[i] = fromFloat(src[i]);
        }
        return out;
    }

    public static float[] toFloats(short[] src) {
        float[] out = new float[src.length];
        for (int i = 0; i < src.length; i++) {
            out[i] = toFloat(src[i]);
        }
        return out;
    }
}
