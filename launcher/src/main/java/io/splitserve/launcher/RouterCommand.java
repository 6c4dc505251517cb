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

/**
 * {@code splitserve router}: the router as its own process; nodes reach it over UDP, or over IPC when all of them
 * join one running media driver.
 */
@Command(
    name = "router",
    mixinStandardHelpOptions = true,
    description = "Run the router: HTTP (OpenAI-compatible) and Aeron client front door, scheduling over prefill and"
        + " decode nodes that run as their own processes and reach it over Aeron UDP, or over Aeron IPC with"
        + " --join-driver.",
    footer = MediaDriverOptions.ONE_HOST_EXAMPLE)
final class RouterCommand implements Callable<Integer> {
    /** Where nodes send their events by default when each process has its own driver. */
    static final String ROUTER_UDP = "aeron:udp?endpoint=127.0.0.1:40100";

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    RouterOptions routerOptions;

    @Option(names = "--node-events-channel", paramLabel = "URI",
        description = "Aeron channel nodes send their events to (default: aeron:ipc with --join-driver, else "
            + ROUTER_UDP + ").")
    String nodeEventsChannel;

    @Mixin
    MediaDriverOptions drivers;

    @Mixin
    SecretOptions secretOptions;

    @Override
    public Integer call() throws Exception {
        final Path dir = modelOptions.modelDir();
        final ServedModel model = ServedModel.load(dir, modelOptions.servedName(dir));
        final String events = drivers.channel(nodeEventsChannel, ROUTER_UDP);
        final byte[] secret = secretOptions.secret(System.getenv());
        // the router says once itself when it runs without a secret
        secretOptions.checkEndpoints(secret, "router", events, routerOptions.ingressChannel,
                routerOptions.egressChannel);
        return StandaloneRole.run("router", drivers, aeron -> {
            final RouterContext ctx = new RouterContext().aeron(aeron).model(model).nodeEventsChannel(events);
            routerOptions.apply(ctx);
            ctx.sharedSecret(secret);
            return new RouterAgent(ctx);
        }, agent -> {
            try {
                final HttpShim http = new HttpShim((RouterAgent) agent, routerOptions.httpContext());
                // the bound port, so a caller that asked for port 0 learns which one it got
                System.out.println("splitserve router http port " + http.port());
                return http;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot listen on " + routerOptions.host + ":" + routerOptions.port, e);
            }
        });
    }
}
