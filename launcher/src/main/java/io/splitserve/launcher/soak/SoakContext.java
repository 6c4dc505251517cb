package io.splitserve.launcher.soak;

import io.splitserve.perf.load.Slo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a soak run is configured by: the system (model, transport, nodes), the load (rate, workload, duration),
 * the faults, the SLO and the tolerances of the end checks. Setters return this, as Aeron's contexts do.
 */
public final class SoakContext {
    private Path modelDir;
    private boolean ipc;
    private int prefillNodes = 1;
    private int decodeNodes = 2;
    private double rate = 1;
    private long seed = 1;
    private long durationNs = 30_000_000_000L;
    private long drainTimeoutNs = 120_000_000_000L;
    private String workload = "fixed";
    private int promptTokens = 32;
    private int outputTokens = 32;
    private double lengthScale = 1;
    private List<Fault> faults = List.of();
    private double faultMeanIntervalSeconds;
    private List<Fault.Kind> faultKinds = List.of(Fault.Kind.values());
    private long faultIntervalNs = 3_000_000_000L;
    private long heartbeatTimeoutMs = 1000;
    private long requestBodyTimeoutMs = 2000;
    private Slo slo = Slo.ofMillis(2000, 100);
    private int maxFdGrowth = 16;
    private long maxHeapGrowthKib = 64 * 1024;

    public Path modelDir() { return modelDir; }
    public SoakContext modelDir(Path dir) { this.modelDir = dir; return this; }

    /** True: every role joins one media driver process (IPC); false: each its own driver, UDP loopback. */
    public boolean ipc() { return ipc; }
    public SoakContext ipc(boolean ipc) { this.ipc = ipc; return this; }

    public int prefillNodes() { return prefillNodes; }
    public SoakContext prefillNodes(int n) { this.prefillNodes = n; return this; }

    public int decodeNodes() { return decodeNodes; }
    public SoakContext decodeNodes(int n) { this.decodeNodes = n; return this; }

    /** Open-loop Poisson arrivals per second. */
    public double rate() { return rate; }
    public SoakContext rate(double rate) { this.rate = rate; return this; }

    /** Seeds the arrivals, the workload and the random fault schedule. */
    public long seed() { return seed; }
    public SoakContext seed(long seed) { this.seed = seed; return this; }

    /** How long requests are sent and faults injected. */
    public long durationNs() { return durationNs; }
    public SoakContext durationNs(long ns) { this.durationNs = ns; return this; }

    /** How long after the last send requests may still end; later ones count as unfinished. */
    public long drainTimeoutNs() { return drainTimeoutNs; }
    public SoakContext drainTimeoutNs(long ns) { this.drainTimeoutNs = ns; return this; }

    /** A load generator workload name: fixed, chat, summarization, code, mixed, multi-turn, system-prompt, few-shot. */
    public String workload() { return workload; }
    public SoakContext workload(String name) { this.workload = name; return this; }

    public int promptTokens() { return promptTokens; }
    public SoakContext promptTokens(int n) { this.promptTokens = n; return this; }

    public int outputTokens() { return outputTokens; }
    public SoakContext outputTokens(int n) { this.outputTokens = n; return this; }

    public double lengthScale() { return lengthScale; }
    public SoakContext lengthScale(double f) { this.lengthScale = f; return this; }

    /** Faults at given times, beside the random schedule. */
    public List<Fault> faults() { return faults; }
    public SoakContext faults(List<Fault> faults) { this.faults = List.copyOf(faults); return this; }

    /** Mean seconds between random faults; 0 for none. */
    public double faultMeanIntervalSeconds() { return faultMeanIntervalSeconds; }
    public SoakContext faultMeanIntervalSeconds(double s) { this.faultMeanIntervalSeconds = s; return this; }

    /** The kinds the random schedule draws from. */
    public List<Fault.Kind> faultKinds() { return faultKinds; }
    public SoakContext faultKinds(List<Fault.Kind> kinds) { this.faultKinds = List.copyOf(kinds); return this; }

    /** How long a loss generator or a stalled client lasts. */
    public long faultIntervalNs() { return faultIntervalNs; }
    public SoakContext faultIntervalNs(long ns) { this.faultIntervalNs = ns; return this; }

    public long heartbeatTimeoutMs() { return heartbeatTimeoutMs; }
    public SoakContext heartbeatTimeoutMs(long ms) { this.heartbeatTimeoutMs = ms; return this; }

    /** The router's --request-body-timeout-ms: a stalled upload must get 408 after it. */
    public long requestBodyTimeoutMs() { return requestBodyTimeoutMs; }
    public SoakContext requestBodyTimeoutMs(long ms) { this.requestBodyTimeoutMs = ms; return this; }

    public Slo slo() { return slo; }
    public SoakContext slo(Slo slo) { this.slo = slo; return this; }

    /** Open file descriptors a process may gain from start to end and still count as flat. */
    public int maxFdGrowth() { return maxFdGrowth; }
    public SoakContext maxFdGrowth(int n) { this.maxFdGrowth = n; return this; }

    /** Heap in use after a GC a process may gain from start to end (KiB) and still count as flat. */
    public long maxHeapGrowthKib() { return maxHeapGrowthKib; }
    public SoakContext maxHeapGrowthKib(long kib) { this.maxHeapGrowthKib = kib; return this; }

    /** The names of the nodes a node fault of {@code kind} may hit: prefill-1.., or decode-101... */
    List<String> nodeNames(Fault.Kind kind) {
        final List<String> names = new ArrayList<>();
        if (kind == Fault.Kind.PREFILL_KILL) {
            for (int i = 1; i <= prefillNodes; i++) {
                names.add("prefill-" + i);
            }
        } else {
            for (int i = 0; i < decodeNodes; i++) {
                names.add("decode-" + (101 + i));
            }
        }
        return names;
    }

    /** Checks the settings together; a bad one is an error naming it. */
    public SoakContext validate() {
        if (modelDir == null) {
            throw new IllegalArgumentException("a soak needs a model directory");
        }
        if (prefillNodes < 1 || decodeNodes < 1) {
            throw new IllegalArgumentException("a soak needs at least one prefill and one decode node");
        }
        if (!(rate > 0) || durationNs <= 0 || drainTimeoutNs < 0 || faultIntervalNs <= 0
                || faultMeanIntervalSeconds < 0) {
            throw new IllegalArgumentException("rate, duration and fault interval must be positive, the drain timeout"
                    + " and the fault mean interval not negative");
        }
        for (Fault f : faults) {
            if (f.target() != null && !nodeNames(f.kind()).contains(f.target())) {
                throw new IllegalArgumentException("fault " + f + " names no node it can hit; there are "
                        + nodeNames(f.kind()));
            }
        }
        final boolean loss = faults.stream().anyMatch(f -> f.kind() == Fault.Kind.UDP_LOSS)
                || (faultMeanIntervalSeconds > 0 && faultKinds.contains(Fault.Kind.UDP_LOSS));
        if (ipc && loss) {
            throw new IllegalArgumentException("udp-loss needs the UDP transport; over IPC there is no loss generator"
                    + " (leave it out of --fault-kinds)");
        }
        return this;
    }
}
