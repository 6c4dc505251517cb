package io.splitserve.kernels.cuda;

/** Argument checks shared by the launchers: a bad shape fails on the host with a one-line message. */
final class Shapes {
    private Shapes() {
    }

    static void positive(String what, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(what + " must be positive, got " + value);
        }
    }

    static void multipleOf8(String what, int value) {
        if (value <= 0 || value % 8 != 0) {
            throw new IllegalArgumentException(what + " must be a positive multiple of 8, got " + value);
        }
    }

    static void headDim(int headDim) {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("attention head dim must be 64 or 128, got " + headDim);
        }
    }

    static void group(int qHeads, int kvHeads, int maxGroup) {
        positive("kv heads", kvHeads);
        if (qHeads % kvHeads != 0 || qHeads / kvHeads > maxGroup) {
            throw new IllegalArgumentException("query heads (" + qHeads + ") must be a multiple of kv heads (" + kvHeads
                    + ") with at most " + maxGroup + " per group");
        }
    }
}
