package io.splitserve.engine.forward;

/**
 * The outcome of mapping a {@link PeerArena} into a runner: {@link Access#MAPPED}, or why not, with a reason a log line
 * can carry. {@link Access#UNREACHABLE}: another host, a GPU without peer access to this one, or a runner whose KV is
 * not on a GPU; {@link Access#UNOPENABLE}: the memory could not be opened (its process is gone, the handle is bad).
 */
public record PeerAttachment(Access access, String reason) {
    public enum Access { MAPPED, UNREACHABLE, UNOPENABLE }

    public static final PeerAttachment MAPPED = new PeerAttachment(Access.MAPPED, "mapped");

    public boolean mapped() {
        return access == Access.MAPPED;
    }
}
