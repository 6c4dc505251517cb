package io.splitserve.kvtransfer;

/**
 * How a prefill node moves KV to its decode peers ({@code --kv-path}): {@link #AUTO} takes the GPU path to every peer
 * on the same host whose GPU it can reach and the host path otherwise; {@link #GPU} offers the GPU path to every
 * peer (a peer that cannot take it answers with an explicit failure); {@link #HOST} always sends the bytes over Aeron.
 */
public enum KvPathMode
{
    AUTO, GPU, HOST;

    /** Parses {@code auto|gpu|host}, case-insensitively. */
    public static KvPathMode parse(final String text)
    {
        for (final KvPathMode mode : values())
        {
            if (mode.name().equalsIgnoreCase(text))
            {
                return mode;
            }
        }
        throw new IllegalArgumentException("--kv-path must be auto, gpu or host, not '" + text + "'");
    }
}
