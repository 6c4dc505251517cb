package io.splitserve.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The path choice, one peer and one event at a time: each rule of {@link KvPathSelector} and its one log line. */
class KvPathSelectorTest
{
    private static final KvEndpoint LOCAL = new KvEndpoint("boot-1", "gpu-a");
    private final List<String> log = new ArrayList<>();
    private final Map<String, KvPathSelector.Reach> reach = Map.of(
        "gpu-a", KvPathSelector.Reach.REACHABLE,
        "gpu-b", KvPathSelector.Reach.REACHABLE,
        "gpu-c", KvPathSelector.Reach.UNREACHABLE);

    private KvPathSelector selector(final KvPathMode mode, final KvEndpoint local)
    {
        return new KvPathSelector(mode, local, uuid -> reach.getOrDefault(uuid, KvPathSelector.Reach.NOT_VISIBLE), log::add);
    }

    @Test
    void autoTakesTheGpuPathOnlyWhereItCanWork()
    {
        final KvPathSelector selector = selector(KvPathMode.AUTO, LOCAL);
        assertEquals(KvPath.GPU, selector.choose("same-gpu", new KvEndpoint("boot-1", "gpu-a")));
        assertEquals(KvPath.GPU, selector.choose("peer-gpu", new KvEndpoint("boot-1", "gpu-b")));
        assertEquals(KvPath.GPU, selector.choose("invisible", new KvEndpoint("boot-1", "gpu-z")));
        assertEquals(KvPath.HOST, selector.choose("no-peer-access", new KvEndpoint("boot-1", "gpu-c")));
        assertEquals(KvPath.HOST, selector.choose("other-host", new KvEndpoint("boot-2", "gpu-a")));
        assertEquals(KvPath.HOST, selector.choose("cpu-peer", KvEndpoint.UNKNOWN));
        assertEquals(6, log.size(), "one line per peer: " + log);
        assertTrue(log.get(3).contains("no peer access"), log.get(3));
        assertTrue(log.get(4).contains("another host"), log.get(4));
    }

    @Test
    void eachPeerIsDecidedAndLoggedOnce()
    {
        final KvPathSelector selector = selector(KvPathMode.AUTO, LOCAL);
        for (int i = 0; i < 3; i++)
        {
            assertEquals(KvPath.GPU, selector.choose("p", new KvEndpoint("boot-1", "gpu-b")));
        }
        assertEquals(1, log.size());
    }

    @Test
    void aRefusalMovesAnAutoPeerToTheHostPathForGood()
    {
        final KvPathSelector selector = selector(KvPathMode.AUTO, LOCAL);
        final KvEndpoint peer = new KvEndpoint("boot-1", "gpu-z");
        assertEquals(KvPath.GPU, selector.choose("p", peer));
        assertFalse(selector.onTransferFailed("p", KvTransferStatus.FAILED_TIMEOUT), "not a refusal of the path");
        assertEquals(KvPath.GPU, selector.choose("p", peer));
        assertTrue(selector.onTransferFailed("p", KvTransferStatus.FAILED_GPU_HANDLE));
        assertEquals(KvPath.HOST, selector.choose("p", peer));
        assertTrue(selector.reason("p").contains("FAILED_GPU_HANDLE"));
        assertEquals(2, log.size());
    }

    @Test
    void forcedPathsStay()
    {
        final KvPathSelector gpu = selector(KvPathMode.GPU, LOCAL);
        assertEquals(KvPath.GPU, gpu.choose("p", new KvEndpoint("boot-2", "gpu-a")));
        assertFalse(gpu.onTransferFailed("p", KvTransferStatus.FAILED_GPU_PEER_ACCESS));
        assertEquals(KvPath.GPU, gpu.choose("p", new KvEndpoint("boot-2", "gpu-a")));
        assertTrue(log.get(0).contains("although the peer is on another host"), log.get(0));

        final KvPathSelector host = selector(KvPathMode.HOST, LOCAL);
        assertEquals(KvPath.HOST, host.choose("p", new KvEndpoint("boot-1", "gpu-a")));
    }

    @Test
    void aNodeWithoutGpuKvChoosesTheHostPathAndCannotForceTheGpuPath()
    {
        assertEquals(KvPath.HOST, selector(KvPathMode.AUTO, KvEndpoint.UNKNOWN).choose("p", new KvEndpoint("boot-1", "gpu-a")));
        assertThrows(IllegalArgumentException.class, () -> selector(KvPathMode.GPU, KvEndpoint.UNKNOWN));
        assertEquals(KvPathMode.GPU, KvPathMode.parse("GPU"));
        assertThrows(IllegalArgumentException.class, () -> KvPathMode.parse("nvlink"));
    }
}
