package io.splitserve.launcher;

import io.splitserve.router.HttpShim;
import io.splitserve.router.RouterAgent;
import io.splitserve.router.RouterContext;
import io.splitserve.router.ServedModel;
import java.io.UncheckedIOException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code splitserve router}: the router as its own process; nodes reach it over UDP. */
@Command(
    name = "router",
    mixinStandardHelpOptions = true,
    description = "Run the router: HTTP (OpenAI-compatible) and Aeron client front door, scheduling over prefill and"
        + " decode nodes that run as their own processes and reach it over Aeron UDP.")
final class RouterCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    RouterOptions routerOptions;

    @Option(names = "--node-events-channel", paramLabel = "URI", defaultValue = "aeron:udp?endpoint=127.0.0.1:40100",
        description = "Aeron channel nodes send their events to (default: ${DEFAULT-VALUE}).")
    String nodeEventsChannel;

    @Option(names = "--aeron-dir", paramLabel = "DIR",
        description = "Directory of this process's media driver (Aeron IPC clients on this host connect to it).")
    String aeronDir;

    @Override
    public Integer call() throws Exception {
        final Path dir = modelOptions.modelDir();
        final ServedModel model = ServedModel.load(dir, modelOptions.servedName(dir));
        return StandaloneRole.run("router", aeronDir, aeron -> {
            final RouterContext ctx = new RouterContext().aeron(aeron).model(model).nodeEventsChannel(nodeEventsChannel);
            routerOptions.apply(ctx);
            return new RouterAgent(ctx);
        }, agent -> {
            try {
                return new HttpShim((RouterAgent) agent, routerOptions.httpContext());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot listen on " + routerOptions.host + ":" + routerOptions.port, e);
            }
        });
    }
}
