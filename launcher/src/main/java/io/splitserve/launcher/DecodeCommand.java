package io.splitserve.launcher;

import io.splitserve.decode.DecodeNodeAgent;
import io.splitserve.decode.DecodeNodeContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code splitserve decode}: one decode (or colocated) node as its own process, over Aeron UDP, or over IPC when it
 * joins the media driver of the router and prefill nodes. KV acks travel the way the KV does: IPC acks for an IPC KV
 * channel, else a UDP dynamic multi-destination channel every prefill node subscribes to.
 */
@Command(
    name = "decode",
    mixinStandardHelpOptions = true,
    description = "Run one decode node: it receives KV from prefill nodes, decodes in a continuous batch and"
        + " publishes tokens to the router, over Aeron UDP, or over Aeron IPC with --join-driver. With --colocated"
        + " it also prefills (no KV transfer).",
    footer = MediaDriverOptions.ONE_HOST_EXAMPLE)
final class DecodeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--node-id", paramLabel = "N", defaultValue = "101",
        description = "Node id, unique among the router's nodes (default: ${DEFAULT-VALUE}).")
    int nodeId;

    @Option(names = "--router-channel", paramLabel = "URI",
        description = "Aeron channel of the router's node events (default: aeron:ipc with --join-driver, else "
            + RouterCommand.ROUTER_UDP + ").")
    String routerChannel;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
        description = "Address this node's default UDP channels bind to (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--control-channel", paramLabel = "URI",
        description = "Channel this node takes admissions on (default: aeron:ipc with --join-driver, else"
            + " aeron:udp?endpoint=HOST:<42000 + node id>).")
    String controlChannel;

    @Option(names = "--kv-channel", paramLabel = "URI",
        description = "Channel prefill nodes send KV on (default: aeron:ipc with --join-driver, else"
            + " aeron:udp?endpoint=HOST:<43000 + node id>). KV acks go back over IPC when it is aeron:ipc.")
    String kvChannel;

    @Option(names = "--kv-ack-port", paramLabel = "PORT",
        description = "Control port of the dynamic multi-destination channel KV acks go out on, for a UDP KV"
            + " channel (default: 44000 + node id).")
    Integer kvAckPort;

    @Option(names = "--max-batch-size", paramLabel = "N", defaultValue = "64",
        description = "Most sequences stepped at once (default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--kv-transfer-timeout-ms", paramLabel = "MS", defaultValue = "2000",
        description = "Silence after which an incoming KV transfer fails; a live prefill node keeps its transfers"
            + " audible while it computes (default: ${DEFAULT-VALUE}).")
    long kvTransferTimeoutMs;

    @Option(names = "--colocated", description = "Prefill here too (chunked), instead of receiving KV.")
    boolean colocated;

    @Mixin
    NodePrefixCachingOption prefixCaching;

    @Mixin
    MediaDriverOptions drivers;

    @Mixin
    SecretOptions secretOptions;

    @Override
    public Integer call() throws Exception {
        final Path dir = modelOptions.modelDir();
        final String router = drivers.channel(routerChannel, RouterCommand.ROUTER_UDP);
        final String control = drivers.channel(controlChannel, "aeron:udp?endpoint=" + host + ":" + (42000 + nodeId));
        final String kv = drivers.channel(kvChannel, "aeron:udp?endpoint=" + host + ":" + (43000 + nodeId));
        final String ackPublish;
        final String ackSubscribe;
        if (MediaDriverOptions.isIpc(kv)) {
            if (kvAckPort != null) {
                throw new IllegalArgumentException("--kv-ack-port is for a UDP KV channel; over " + kv
                        + " the KV acks go over IPC too");
            }
            ackPublish = MediaDriverOptions.IPC;
            ackSubscribe = MediaDriverOptions.IPC;
        } else {
            final String ackControl = "control=" + host + ":" + (kvAckPort != null ? kvAckPort : 44000 + nodeId)
                    + "|control-mode=dynamic";
            ackPublish = "aeron:udp?" + ackControl;
            ackSubscribe = "aeron:udp?endpoint=" + host + ":0|" + ackControl;
        }
        final byte[] secret = secretOptions.secret(System.getenv());
        final String insecure = secretOptions.checkEndpoints(secret, "decode-" + nodeId, router, control, kv,
                ackPublish, ackSubscribe);
        return StandaloneRole.run("decode-" + nodeId, drivers, aeron -> new DecodeNodeAgent(new DecodeNodeContext()
                .aeron(aeron).nodeId(nodeId).modelDir(dir).modelName(modelOptions.servedName(dir)).sharedSecret(secret)
                .routerChannel(router).controlChannel(control).kvChannel(kv)
                .kvAckChannel(ackPublish).kvAckSubscribeChannel(ackSubscribe)
                .maxBatchSize(maxBatchSize).colocated(colocated)
                .kvTransferTimeoutNs(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(kvTransferTimeoutMs))
                .engineOptions(modelOptions.standaloneEngineOptions(dir).prefixCaching(prefixCaching.enabled))),
                agent -> {
                    if (insecure != null) {
                        System.err.println(insecure); // once the role runs, after any start-up error
                    }
                    return null;
                });
    }
}
