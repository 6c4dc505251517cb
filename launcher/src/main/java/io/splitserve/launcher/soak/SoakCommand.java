package io.splitserve.launcher.soak;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.perf.load.Slo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitserve soak}: a long run of a disaggregated system of real processes under open-loop load while faults
 * are injected, then a check of every request and process (see {@link SoakReport}). Prints the report, writes it as
 * Markdown, and exits 0 only when every check passed (1 when one failed, 2 for a bad command line).
 */
@Command(
    name = "soak",
    mixinStandardHelpOptions = true,
    description = {
        "Drive router, prefill and decode processes (CPU engine) with open-loop Poisson load for a while, injecting"
            + " faults (SIGKILL + restart of nodes and router, Aeron loss on UDP, stalled HTTP clients); then check"
            + " every request against one engine's greedy output, KV pages, heap and open files.",
        "Example: splitserve soak --duration 1800 --rate 1 --fault-mean-interval 60 --out perf/results/soak/long"})
public final class SoakCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model directory (default: the demo model).")
    Path model;

    @Option(names = "--transport", paramLabel = "udp|ipc", defaultValue = "udp",
        description = "udp: each process its own media driver, UDP loopback; ipc: all join one driver process"
            + " (default: ${DEFAULT-VALUE}).")
    String transport;

    @Option(names = "--prefill-nodes", paramLabel = "N", defaultValue = "1", description = "(default: ${DEFAULT-VALUE})")
    int prefillNodes;

    @Option(names = "--decode-nodes", paramLabel = "N", defaultValue = "2", description = "(default: ${DEFAULT-VALUE})")
    int decodeNodes;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "1", description = "Poisson arrivals per second (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "60", description = "How long requests are sent and faults injected (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "120", description = "How long requests may run on after the last send (default: ${DEFAULT-VALUE}).")
    double drainSeconds;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of arrivals, workload and random faults (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--workload", paramLabel = "NAME", defaultValue = "fixed",
        description = "fixed, chat, summarization, code, mixed, multi-turn, system-prompt or few-shot (default: ${DEFAULT-VALUE}).")
    String workload;

    @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "32", description = "Prompt length of the fixed workload (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--output-tokens", paramLabel = "N", defaultValue = "32", description = "Output length of the fixed workload (default: ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--length-scale", paramLabel = "F", defaultValue = "1", description = "Multiply a named mix's lengths by F (default: ${DEFAULT-VALUE}).")
    double lengthScale;

    @Option(names = "--fault", paramLabel = "KIND[:NODE]@SECONDS",
        description = "A fault at a time from the start (repeatable); kinds: decode-kill, prefill-kill, router-kill,"
            + " udp-loss, stalled-reader, stalled-upload; a node fault may name its node (prefill-1.., decode-101..).")
    List<String> faults = new ArrayList<>();

    @Option(names = "--fault-mean-interval", paramLabel = "SECONDS", defaultValue = "0",
        description = "Also inject seeded random faults with exponential gaps of this mean (default: none).")
    double faultMeanInterval;

    @Option(names = "--fault-kinds", paramLabel = "K1,K2", split = ",",
        description = "Kinds the random faults are drawn from (default: all; over IPC all but udp-loss).")
    List<String> faultKinds;

    @Option(names = "--fault-interval", paramLabel = "SECONDS", defaultValue = "3",
        description = "How long a loss generator or a stalled client lasts (default: ${DEFAULT-VALUE}).")
    double faultIntervalSeconds;

    @Option(names = "--heartbeat-timeout-ms", paramLabel = "MS", defaultValue = "1000", description = "The router's (default: ${DEFAULT-VALUE}).")
    long heartbeatTimeoutMs;

    @Option(names = "--request-body-timeout-ms", paramLabel = "MS", defaultValue = "2000", description = "The router's (default: ${DEFAULT-VALUE}).")
    long requestBodyTimeoutMs;

    @Option(names = "--slo-ttft-ms", paramLabel = "MS", defaultValue = "2000", description = "(default: ${DEFAULT-VALUE})")
    double sloTtftMs;

    @Option(names = "--slo-tpot-ms", paramLabel = "MS", defaultValue = "100", description = "(default: ${DEFAULT-VALUE})")
    double sloTpotMs;

    @Option(names = "--max-fd-growth", paramLabel = "N", defaultValue = "16", description = "Open files a process may gain and still count as flat (default: ${DEFAULT-VALUE}).")
    int maxFdGrowth;

    @Option(names = "--max-heap-growth-mb", paramLabel = "MB", defaultValue = "64", description = "Heap after GC a process may gain and still count as flat (default: ${DEFAULT-VALUE}).")
    long maxHeapGrowthMb;

    @Option(names = "--out", paramLabel = "DIR", required = true,
        description = "Directory for report.md and the processes' logs.")
    Path out;

    @Option(names = "--machine", paramLabel = "TEXT", description = "What the report says it ran on (default: the core count).")
    String machine;

    @Override
    public Integer call() throws Exception {
        final SoakContext ctx;
        try {
            if (!transport.equals("udp") && !transport.equals("ipc")) {
                throw new IllegalArgumentException("--transport is udp or ipc, got '" + transport + "'");
            }
            final List<Fault> explicit = new ArrayList<>();
            faults.forEach(f -> explicit.add(Fault.parse(f)));
            final List<Fault.Kind> kinds = new ArrayList<>();
            if (faultKinds != null) {
                faultKinds.forEach(k -> kinds.add(Fault.Kind.parse(k)));
            } else {
                for (Fault.Kind k : Fault.Kind.values()) {
                    if (transport.equals("udp") || k != Fault.Kind.UDP_LOSS) {
                        kinds.add(k);
                    }
                }
            }
            ctx = new SoakContext().modelDir(model != null ? model : DemoModel.ensure(DemoModel.defaultLocation()))
                    .ipc(transport.equals("ipc")).prefillNodes(prefillNodes).decodeNodes(decodeNodes).rate(rate)
                    .durationNs((long) (durationSeconds * 1e9)).drainTimeoutNs((long) (drainSeconds * 1e9)).seed(seed)
                    .workload(workload).promptTokens(promptTokens).outputTokens(outputTokens).lengthScale(lengthScale)
                    .faults(explicit).faultMeanIntervalSeconds(faultMeanInterval).faultKinds(kinds)
                    .faultIntervalNs((long) (faultIntervalSeconds * 1e9)).heartbeatTimeoutMs(heartbeatTimeoutMs)
                    .requestBodyTimeoutMs(requestBodyTimeoutMs).slo(Slo.ofMillis(sloTtftMs, sloTpotMs))
                    .maxFdGrowth(maxFdGrowth).maxHeapGrowthKib(maxHeapGrowthMb * 1024).validate();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        final PrintWriter stdout = spec.commandLine().getOut();
        final SoakReport report = Soak.run(ctx, out, stdout);
        final String command = "splitserve " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        final String markdown = report.markdown(command, (machine != null ? machine
                : Runtime.getRuntime().availableProcessors() + "-core machine") + ", " + LocalDate.now());
        Files.writeString(out.resolve("report.md"), markdown);
        stdout.print(markdown);
        stdout.println("report: " + out.resolve("report.md"));
        stdout.flush();
        return report.passed() ? 0 : 1;
    }
}
