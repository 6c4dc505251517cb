package io.splitserve.launcher;

import io.splitserve.prefill.PrefillNodeAgent;
import io.splitserve.prefill.PrefillNodeContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code splitserve prefill}: one prefill node as its own process, talking to the router and decode nodes over UDP,
 * or over IPC when it joins their media driver.
 */
@Command(
    name = "prefill",
    mixinStandardHelpOptions = true,
    description = "Run one prefill node: it takes prompts from the router, prefills them in token-budget batches and"
        + " streams their KV to the decode node the router names, over Aeron UDP, or over Aeron IPC with"
        + " --join-driver.",
    footer = MediaDriverOptions.ONE_HOST_EXAMPLE)
final class PrefillCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--node-id", paramLabel = "N", defaultValue = "1",
        description = "Node id, unique among the router's nodes (default: ${DEFAULT-VALUE}).")
    int nodeId;

    @Option(names = "--router-channel", paramLabel = "URI",
        description = "Aeron channel of the router's node events (default: aeron:ipc with --join-driver, else "
            + RouterCommand.ROUTER_UDP + ").")
    String routerChannel;

    @Option(names = "--control-channel", paramLabel = "URI",
        description = "Aeron channel this node takes requests on (default: aeron:ipc with --join-driver, else"
            + " aeron:udp?endpoint=127.0.0.1:<41000 + node id>).")
    String controlChannel;

    @Option(names = "--prefill-token-budget", paramLabel = "N", defaultValue = "2048",
        description = "Prompt tokens prefilled in one batch (default: ${DEFAULT-VALUE}).")
    int prefillTokenBudget;

    @Mixin
    KvPathOption kvPath;

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
        final String control = drivers.channel(controlChannel, "aeron:udp?endpoint=127.0.0.1:" + (41000 + nodeId));
        final byte[] secret = secretOptions.secret(System.getenv());
        final String insecure = secretOptions.checkEndpoints(secret, "prefill-" + nodeId, router, control);
        return StandaloneRole.run("prefill-" + nodeId, drivers, aeron -> new PrefillNodeAgent(new PrefillNodeContext()
                .aeron(aeron).nodeId(nodeId).modelDir(dir).modelName(modelOptions.servedName(dir)).sharedSecret(secret)
                .routerChannel(router).controlChannel(control).prefillTokenBudget(prefillTokenBudget)
                .kvPathMode(kvPath.mode())
                .engineOptions(modelOptions.standaloneEngineOptions(dir).prefixCaching(prefixCaching.enabled))),
                agent -> {
                    if (insecure != null) {
                        System.err.println(insecure); // once the role runs, after any start-up error
                    }
                    return null;
                });
    }
}
