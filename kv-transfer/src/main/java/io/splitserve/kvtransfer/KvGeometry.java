package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvDtype;

/**
 * Shape of one model's KV cache as it travels on the wire: per layer, K then V, each {@code [tokens][kvHeads][headDim]}
 * elements of {@code dtype}. Both ends must agree on it exactly (the receiver answers FAILED_INCOMPATIBLE otherwise);
 * page sizes are deliberately not part of it, so each end pages its cache as it likes.
 */
public final class KvGeometry
{
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final KvDtype dtype;
    private final int rowBytes;

    /**
     * @throws IllegalArgumentException when a dimension is not positive, the dtype is unknown or a row exceeds 2 GiB.
     */
    public KvGeometry(final int layers, final int kvHeads, final int headDim, final KvDtype dtype)
    {
        if (layers <= 0 || kvHeads <= 0 || headDim <= 0)
        {
            throw new IllegalArgumentException(
                "KV geometry needs positive layers, kvHeads and headDim, got " + layers + ", " + kvHeads + ", " + headDim);
        }
        if (dtype == null || dtype == KvDtype.NULL_VAL)
        {
            throw new IllegalArgumentException("KV geometry needs a dtype (BF16, F16 or F32)");
        }
        final long row = (long)kvHeads * headDim * elementBytes(dtype);
        if (row > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("one token's K row of " + row + " bytes is too large");
        }
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dtype = dtype;
        this.rowBytes = (int)row;
    }

    /** Bytes of one element of {@code dtype}. */
    public static int elementBytes(final KvDtype dtype)
    {
        switch (dtype)
        {
            case BF16:
            case F16:
                return 2;
            case F32:
                return 4;
            default:
                throw new IllegalArgumentException("unknown KV dtype " + dtype);
        }
    }

    public int layers()
    {
        return layers;
    }

    public int kvHeads()
    {
        return kvHeads;
    }

    public int headDim()
    {
        return headDim;
    }

    public KvDtype dtype()
    {
        return dtype;
    }

    /** Bytes of one token of one layer's K (or V): {@code kvHeads * headDim * elementBytes}. */
    public int rowBytes()
    {
        return rowBytes;
    }

    /** Bytes of one layer's K (or V) for {@code tokens} tokens. */
    public long partBytes(final int tokens)
    {
        return (long)tokens * rowBytes;
    }

    /** Bytes of a whole transfer of {@code tokens} tokens: every layer's K and V. */
    public long totalBytes(final int tokens)
    {
        return 2L * layers * partBytes(tokens);
    }

    @Override
    public boolean equals(final Object other)
    {
        if (!(other instanceof KvGeometry))
        {
            return false;
        }
        final KvGeometry that = (KvGeometry)other;
        return layers == that.layers && kvHeads == that.kvHeads && headDim == that.headDim && dtype == that.dtype;
    }

    @Override
    public int hashCode()
    {
        return ((layers * 31 + kvHeads) * 31 + headDim) * 31 + dtype.ordinal();
    }

    @Override
    public String toString()
    {
        return "KvGeometry{layers=" + layers + ", kvHeads=" + kvHeads + ", headDim=" + headDim + ", dtype=" + dtype + '}';
    }
}
