package io.splitserve.kvtransfer;

import java.nio.charset.StandardCharsets;

/**
 * Where a node keeps its KV, as it announces in {@code NodeHello.kvEndpoint} and the router passes on unread in
 * {@code PrefillRequest.decodeKvEndpoint}: the boot identity of its host and the UUID of its GPU (empty on the CPU
 * backend). A prefill node reads its decode peer's endpoint to decide whether the GPU path can work at all before it
 * offers it; the decode node still checks for itself when the offer arrives. The encoding is one line of text,
 * {@code host-id SP gpu-uuid}, so it stays readable in a capture.
 */
public record KvEndpoint(String hostId, String deviceUuid)
{
    /** An endpoint that says nothing (an older node, or none given): the host path is the only choice. */
    public static final KvEndpoint UNKNOWN = new KvEndpoint("", "");

    public KvEndpoint
    {
        if (hostId.indexOf(' ') >= 0 || deviceUuid.indexOf(' ') >= 0)
        {
            throw new IllegalArgumentException("a KV endpoint's host id and GPU UUID hold no spaces");
        }
    }

    /** True when the node keeps its KV on a GPU of a known host. */
    public boolean onGpu()
    {
        return !hostId.isEmpty() && !deviceUuid.isEmpty();
    }

    public byte[] toBytes()
    {
        return this == UNKNOWN || (hostId.isEmpty() && deviceUuid.isEmpty()) ?
            new byte[0] : (hostId + ' ' + deviceUuid).getBytes(StandardCharsets.UTF_8);
    }

    /** Reads an endpoint; empty or malformed bytes read as {@link #UNKNOWN}, which only rules the GPU path out. */
    public static KvEndpoint fromBytes(final byte[] bytes)
    {
        if (bytes == null || bytes.length == 0)
        {
            return UNKNOWN;
        }
        final String text = new String(bytes, StandardCharsets.UTF_8);
        final int space = text.indexOf(' ');
        if (space <= 0 || text.indexOf(' ', space + 1) >= 0)
        {
            return UNKNOWN;
        }
        return new KvEndpoint(text.substring(0, space), text.substring(space + 1));
    }
}
