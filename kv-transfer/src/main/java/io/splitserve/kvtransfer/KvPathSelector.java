package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferStatus;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Chooses, per decode peer, how a prefill node's KV travels to it, and says so once per peer. Under
 * {@link KvPathMode#AUTO} the GPU path is chosen only when this node exports KV from a GPU, the peer announced a GPU
 * on the same host, and this process either sees the peer's GPU and can reach it (the same device or peer access) or
 * cannot see it at all (then the peer checks for itself when the offer arrives). A peer that refuses the GPU path
 * ({@code FAILED_GPU_PEER_ACCESS}, {@code FAILED_GPU_HANDLE}) is switched to the host path for good under AUTO; under
 * {@link KvPathMode#GPU} the choice stays, so the refusal is seen on every transfer. Pure policy: no GPU calls of its
 * own, so it is tested one event at a time.
 */
public final class KvPathSelector
{
    /** What this process knows of a peer GPU. */
    public enum Reach
    {
        /** The same device, or peer access between the two is possible. */
        REACHABLE,
        /** Visible here, and peer access is not possible. */
        UNREACHABLE,
        /** Not visible to this process (another CUDA_VISIBLE_DEVICES): only the peer can check. */
        NOT_VISIBLE
    }

    /** Answers how this process's GPU relates to the GPU with the given UUID. */
    @FunctionalInterface
    public interface PeerReach
    {
        Reach reach(String peerDeviceUuid);
    }

    private final KvPathMode mode;
    private final KvEndpoint local;
    private final PeerReach peerReach;
    private final Consumer<String> log;
    private final Map<String, KvPath> chosen = new HashMap<>();
    private final Map<String, String> reasons = new HashMap<>();

    /**
     * @param mode      the node's {@code --kv-path}
     * @param local     where this node's exported KV lives; not {@link KvEndpoint#onGpu()} when it cannot export from
     *                  a GPU (the CPU backend)
     * @param peerReach how this process's GPU relates to a peer's
     * @param log       receives one line per decision
     * @throws IllegalArgumentException when {@code mode} is GPU and this node cannot export from a GPU.
     */
    public KvPathSelector(final KvPathMode mode, final KvEndpoint local, final PeerReach peerReach, final Consumer<String> log)
    {
        if (mode == KvPathMode.GPU && !local.onGpu())
        {
            throw new IllegalArgumentException("--kv-path gpu needs KV on a GPU (the CUDA backend); this node has none");
        }
        this.mode = mode;
        this.local = local;
        this.peerReach = peerReach;
        this.log = log;
    }

    /** The path for the next transfer to the peer known as {@code peerKey}, which announced {@code peer}. */
    public KvPath choose(final String peerKey, final KvEndpoint peer)
    {
        final KvPath known = chosen.get(peerKey);
        if (known != null)
        {
            return known;
        }
        final String reason = reasonAgainstGpu(peer);
        final KvPath path = mode == KvPathMode.GPU || (mode == KvPathMode.AUTO && reason == null) ? KvPath.GPU : KvPath.HOST;
        chosen.put(peerKey, path);
        final String why = switch (mode)
        {
            case HOST -> "--kv-path host";
            case GPU -> "--kv-path gpu" + (reason == null ? "" : " (although " + reason + ")");
            case AUTO -> reason == null ? "same host, GPU " + peer.deviceUuid() + " reachable" : reason;
        };
        reasons.put(peerKey, why);
        log.accept("KV path to " + peerKey + ": " + path + " (" + why + ")");
        return path;
    }

    /**
     * A peer answered a GPU-path transfer with {@code status}; under AUTO a refusal of the GPU path moves that peer to
     * the host path from now on. Returns true when the peer's path changed.
     */
    public boolean onTransferFailed(final String peerKey, final KvTransferStatus status)
    {
        final boolean refusal = status == KvTransferStatus.FAILED_GPU_PEER_ACCESS || status == KvTransferStatus.FAILED_GPU_HANDLE;
        if (!refusal || mode != KvPathMode.AUTO || chosen.get(peerKey) != KvPath.GPU)
        {
            return false;
        }
        chosen.put(peerKey, KvPath.HOST);
        reasons.put(peerKey, "the peer refused the GPU path with " + status);
        log.accept("KV path to " + peerKey + ": HOST (the peer refused the GPU path with " + status + ")");
        return true;
    }

    /** Why the peer's path is what it is, or null before the first choice. */
    public String reason(final String peerKey)
    {
        return reasons.get(peerKey);
    }

    private String reasonAgainstGpu(final KvEndpoint peer)
    {
        if (!local.onGpu())
        {
            return "this node's KV is not on a GPU";
        }
        if (!peer.onGpu())
        {
            return "the peer announced no GPU KV endpoint";
        }
        if (!peer.hostId().equals(local.hostId()))
        {
            return "the peer is on another host";
        }
        final Reach reach = peerReach.reach(peer.deviceUuid());
        if (reach == Reach.UNREACHABLE)
        {
            return "GPU " + peer.deviceUuid() + " cannot be reached from GPU " + local.deviceUuid() + " (no peer access)";
        }
        return null;
    }
}
