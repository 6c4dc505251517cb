package io.splitserve.launcher;

import io.splitserve.engine.EngineOptions;
import io.splitserve.prefill.PrefillNodeAgent;
import io.splitserve.prefill.PrefillNodeContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code splitserve prefill}: one prefill node as its own process, talking to the router over UDP. */
@Command(
    name = "prefill",
    mixinStandardHelpOptions = true,
    description = "Run one prefill node: it takes prompts from the router, prefills them in token-budget batches and"
        + " streams their KV to the decode node the router names, over Aeron UDP.")
final class PrefillCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--node-id", paramLabel = "N", defaultValue = "1",
        description = "Node id, unique among the router's nodes (default: ${DEFAULT-VALUE}).")
    int nodeId;

    @Option(names = "--router-channel", paramLabel = "URI", defaultValue = "aeron:udp?endpoint=127.0.0.1:40100",
        description = "Aeron channel of the router's node events (default: ${DEFAULT-VALUE}).")
    String routerChannel;

    @Option(names = "--control-channel", paramLabel = "URI",
        description = "Aeron channel this node takes requests on (default: aeron:udp?endpoint=127.0.0.1:<41000 + node id>).")
    String controlChannel;

    @Option(names = "--prefill-token-budget", paramLabel = "N", defaultValue = "2048",
        description = "Prompt tokens prefilled in one batch (default: ${DEFAULT-VALUE}).")
    int prefillTokenBudget;

    @Option(names = "--aeron-dir", paramLabel = "DIR", description = "Directory of this process's media driver.")
    String aeronDir;

    @Override
    public Integer call() throws Exception {
        final Path dir = modelOptions.modelDir();
        final String control = controlChannel != null ? controlChannel
                : "aeron:udp?endpoint=127.0.0.1:" + (41000 + nodeId);
        return StandaloneRole.run("prefill-" + nodeId, aeronDir, aeron -> new PrefillNodeAgent(new PrefillNodeContext()
                .aeron(aeron).nodeId(nodeId).modelDir(dir).modelName(modelOptions.servedName(dir))
                .routerChannel(routerChannel).controlChannel(control).prefillTokenBudget(prefillTokenBudget)
                .engineOptions(new EngineOptions().pageSize(modelOptions.pageSize)
                        .kvCacheBytes(modelOptions.kvBytesPerNode(dir, 1)))), agent -> null);
    }
}
