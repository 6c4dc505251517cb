package io.splitserve.launcher;

import io.splitserve.decode.DecodeNodeAgent;
import io.splitserve.decode.DecodeNodeContext;
import io.splitserve.engine.EngineOptions;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code splitserve decode}: one decode (or colocated) node as its own process, over Aeron UDP. */
@Command(
    name = "decode",
    mixinStandardHelpOptions = true,
    description = "Run one decode node: it receives KV from prefill nodes, decodes in a continuous batch and"
        + " publishes tokens to the router, over Aeron UDP. With --colocated it also prefills (no KV transfer).")
final class DecodeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--node-id", paramLabel = "N", defaultValue = "101",
        description = "Node id, unique among the router's nodes (default: ${DEFAULT-VALUE}).")
    int nodeId;

    @Option(names = "--router-channel", paramLabel = "URI", defaultValue = "aeron:udp?endpoint=127.0.0.1:40100",
        description = "Aeron channel of the router's node events (default: ${DEFAULT-VALUE}).")
    String routerChannel;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
        description = "Address this node's default channels bind to (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--control-channel", paramLabel = "URI",
        description = "Channel this node takes admissions on (default: aeron:udp?endpoint=HOST:<42000 + node id>).")
    String controlChannel;

    @Option(names = "--kv-channel", paramLabel = "URI",
        description = "Channel prefill nodes send KV on (default: aeron:udp?endpoint=HOST:<43000 + node id>).")
    String kvChannel;

    @Option(names = "--kv-ack-port", paramLabel = "PORT",
        description = "Control port of the dynamic multi-destination channel KV acks go out on"
            + " (default: 44000 + node id).")
    Integer kvAckPort;

    @Option(names = "--max-batch-size", paramLabel = "N", defaultValue = "64",
        description = "Most sequences stepped at once (default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--colocated", description = "Prefill here too (chunked), instead of receiving KV.")
    boolean colocated;

    @Option(names = "--aeron-dir", paramLabel = "DIR", description = "Directory of this process's media driver.")
    String aeronDir;

    @Override
    public Integer call() throws Exception {
        final Path dir = modelOptions.modelDir();
        final int ackPort = kvAckPort != null ? kvAckPort : 44000 + nodeId;
        final String control = controlChannel != null ? controlChannel : "aeron:udp?endpoint=" + host + ":" + (42000 + nodeId);
        final String kv = kvChannel != null ? kvChannel : "aeron:udp?endpoint=" + host + ":" + (43000 + nodeId);
        final String ackControl = "control=" + host + ":" + ackPort + "|control-mode=dynamic";
        return StandaloneRole.run("decode-" + nodeId, aeronDir, aeron -> new DecodeNodeAgent(new DecodeNodeContext()
                .aeron(aeron).nodeId(nodeId).modelDir(dir).modelName(modelOptions.servedName(dir))
                .routerChannel(routerChannel).controlChannel(control).kvChannel(kv)
                .kvAckChannel("aeron:udp?" + ackControl)
                .kvAckSubscribeChannel("aeron:udp?endpoint=" + host + ":0|" + ackControl)
                .maxBatchSize(maxBatchSize).colocated(colocated)
                .engineOptions(new EngineOptions().pageSize(modelOptions.pageSize)
                        .kvCacheBytes(modelOptions.kvBytesPerNode(dir, 1)))), agent -> null);
    }
}
