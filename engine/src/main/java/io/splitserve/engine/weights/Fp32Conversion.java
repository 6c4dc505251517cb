package io.splitserve.engine.weights;

/**
 * Bit-exact conversions between the 16-bit float formats of safetensors files and fp32. bf16 is the top half of an
 * fp32; f16 (IEEE binary16) widens exactly, subnormals, infinities and NaN included. Narrowing to bf16 rounds to
 * nearest even.
 */
public final class Fp32Conversion {
    private Fp32Conversion() {
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    public static short floatToBf16(float value) {
        final int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40); // stay a (quiet) NaN after truncation
        }
        final int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToFloat(short half) {
        final int h = half & 0xffff;
        final int sign = (h & 0x8000) << 16;
        final int exponent = (h >>> 10) & 0x1f;
        final int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent != 0) {
            return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
        }
        // zero or subnormal: mantissa · 2^-24, exact in fp32
        final float magnitude = mantissa * 0x1p-24f;
        return sign == 0 ? magnitude : -magnitude;
    }
}
