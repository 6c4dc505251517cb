package io.splitserve.launcher;

import io.splitserve.kvtransfer.KvPathMode;
import picocli.CommandLine.Option;

/**
 * {@code --kv-path auto|gpu|host}, the one option that says how prefill nodes move KV to decode nodes, shared by the
 * commands that run prefill nodes ({@code serve}, {@code prefill}).
 */
final class KvPathOption {
    @Option(names = "--kv-path", paramLabel = "auto|gpu|host", defaultValue = "auto",
        description = "How prefill nodes move KV to decode nodes: auto (GPU to GPU when both are on this host and the"
            + " GPUs can reach each other, else through the host), gpu (always offer GPU to GPU; a peer that cannot"
            + " take it fails the transfer with its reason) or host (always over Aeron) (default: ${DEFAULT-VALUE}).")
    String kvPath;

    /** The chosen mode; a value other than auto, gpu or host is an error naming it. */
    KvPathMode mode() {
        return KvPathMode.parse(kvPath);
    }
}
