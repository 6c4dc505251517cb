package io.splitserve.launcher.soak;

import io.aeron.Aeron;
import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.generate.GenerationRequest;
import io.splitserve.engine.generate.TextGenerator;
import io.splitserve.model.SamplingParams;
import io.splitserve.perf.load.OpenLoop;
import io.splitserve.perf.load.PromptFactory;
import io.splitserve.perf.load.RequestSpec;
import io.splitserve.perf.load.RunSettings;
import io.splitserve.perf.load.ScheduledRequest;
import io.splitserve.perf.load.SharedPrefixWorkload;
import io.splitserve.perf.load.SyntheticWorkload;
import io.splitserve.perf.load.Workload;
import io.splitserve.perf.load.WorkloadMix;
import io.splitserve.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agrona.CloseHelper;

/**
 * One soak run: starts a {@link SoakSystem}, sends an open loop of seeded Poisson arrivals (greedy, ignoring EOS, the
 * load generator's workloads) through the Aeron client while an injector thread carries out the {@link FaultPlan}
 * one fault at a time, drains, and then checks every request and every process into a {@link SoakReport}.
 *
 * <p>A router restart happens while no send is under way and once the router has accepted every request sent to it
 * that was not refused (its accepted counter reaches the number sent, less those that ended in an error before any
 * token, plus the stalled readers it took; bounded by a wait), so a request lost in a dead router's
 * ingress is not mistaken for one the router dropped; the client then connects to the new router with the same client
 * id, which reports (ROUTER_RESTARTED) or recovers each unfinished request of the earlier session.
 */
public final class Soak {
    private static final Pattern ACCEPTED = Pattern.compile("^splitserve_requests_accepted_total (\\d+)$",
            Pattern.MULTILINE);
    private static final long QUIESCE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    private static final long PAGES_SETTLE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    private static final double LOSS_RATE = 0.05;

    private final SoakContext ctx;
    private final Path outDir;
    private final PrintWriter log;
    private final long clientId = ProcessHandle.current().pid() * 1_000_003L + Math.floorMod(System.nanoTime(), 1000L);
    private final Map<Long, SoakRequest> byRequestId = new ConcurrentHashMap<>();
    private final ReentrantLock sending = new ReentrantLock();
    private final List<SoakReport.FaultOutcome> faultOutcomes = new ArrayList<>();
    /** The start sample of each process running now, by role name; a restart replaces its role's. */
    private final Map<String, SoakReport.ProcessSample> incarnationStarts = new ConcurrentHashMap<>();
    private SoakSystem system;
    private Aeron aeron;
    private SplitServeClient client;
    /** Requests sent to the current router: the Aeron client's, and the HTTP stalled readers it answered. */
    private final List<SoakRequest> sentToThisRouter = new ArrayList<>();
    private int httpAcceptedByThisRouter;
    private volatile Throwable injectorFailure;

    private Soak(SoakContext ctx, Path outDir, PrintWriter log) {
        this.ctx = ctx.validate();
        this.outDir = outDir;
        this.log = log;
    }

    /** Runs a soak of {@code ctx}, keeping logs and the report under {@code outDir}; progress lines go to {@code log}. */
    public static SoakReport run(SoakContext ctx, Path outDir, PrintWriter log) throws Exception {
        return new Soak(ctx, outDir, log).run();
    }

    private SoakReport run() throws Exception {
        Files.createDirectories(outDir);
        final Tokenizer tokenizer = Tokenizer.load(ctx.modelDir().resolve("tokenizer.json"));
        final ScheduledRequest[] plan = new OpenLoop(ctx.rate(), ctx.seed()).plan(workload(tokenizer),
                new RunSettings().durationNs(ctx.durationNs()));
        final List<Fault> faults = FaultPlan.of(ctx.faults(), ctx.faultMeanIntervalSeconds(), ctx.faultKinds(),
                ctx.seed(), ctx.durationNs());
        log.printf("soak: %d requests, %d faults %s; logs in %s%n", plan.length, faults.size(), faults,
                outDir.resolve("logs"));
        log.flush();
        system = new SoakSystem(ctx, outDir);
        try {
            system.start();
            final Map<String, Integer> baselinePages = system.freePages();
            connectClient();
            warmUp(tokenizer);
            for (String name : system.processes().keySet()) {
                sampleStart(name, 0);
            }
            final List<SoakRequest> requests = new ArrayList<>();
            final long origin = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
            final Thread injector = new Thread(() -> inject(faults, origin), "soak-fault-injector");
            injector.start();
            for (int i = 0; i < plan.length; i++) {
                final long intended = origin + plan[i].offsetNs();
                for (long wait = intended - System.nanoTime(); wait > 0; wait = intended - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
                final SoakRequest request = new SoakRequest(i, plan[i].request(), intended);
                requests.add(request);
                send(request);
            }
            injector.join();
            final long drainDeadline = Math.max(System.nanoTime(), origin + ctx.durationNs()) + ctx.drainTimeoutNs();
            awaitEnded(requests, drainDeadline);
            system.awaitAllNodes();
            final Map<String, Integer> endPages = settledPages(baselinePages);
            final Map<String, SoakReport.ProcessSample> endSamples = new LinkedHashMap<>();
            for (Map.Entry<String, RoleProcess> e : system.processes().entrySet()) {
                endSamples.put(e.getKey(), sample(e.getValue(), -1));
            }
            log.println("soak: checking " + requests.size() + " requests against one CPU engine");
            log.flush();
            final Map<RequestSpec, int[]> references = references(requests);
            return new SoakReport(ctx, faults, faultOutcomes, requests, references, baselinePages, endPages,
                    incarnationStarts, endSamples, injectorFailure);
        } finally {
            CloseHelper.quietCloseAll(client, aeron, system);
        }
    }

    private Workload workload(Tokenizer tokenizer) {
        final PromptFactory prompts = new PromptFactory(tokenizer);
        if (SharedPrefixWorkload.isNamed(ctx.workload())) {
            return new SharedPrefixWorkload(ctx.workload(), prompts, ctx.lengthScale(), ctx.seed());
        }
        return new SyntheticWorkload(WorkloadMix.named(ctx.workload(), ctx.promptTokens(), ctx.outputTokens())
                .scaled(ctx.lengthScale()), prompts, ctx.seed());
    }

    /**
     * Connects a client with the soak's client id, taking over every request sent before that has not ended: the
     * client object they were sent through is gone with its router's driver, and without the take-over their
     * continuation (or their report) would reach a client that drops it as unknown.
     */
    private void connectClient() {
        // the client's own Aeron, quiet about a driver that died with its router (that is a fault we injected)
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(system.clientAeronDir()).errorHandler(e -> { }));
        final ClientContext clientCtx = new ClientContext().clientId(clientId)
                .earlierSessionFailures((requestId, error) -> {
                    final SoakRequest r = byRequestId.get(requestId);
                    if (r != null) {
                        r.onError(error);
                    }
                });
        for (SoakRequest r : byRequestId.values()) {
            if (!r.ended()) {
                clientCtx.resume(r.requestId, options(r.spec), r.tokens().length, r);
            }
        }
        client = SplitServeClient.connect(clientCtx, aeron);
        sentToThisRouter.clear();
        httpAcceptedByThisRouter = 0;
    }

    private static GenerateOptions options(RequestSpec spec) {
        return new GenerateOptions("", spec.prompt(), false, spec.outputTokens(), 0f, 1f, 0, 0, List.of(), true);
    }

    private void send(SoakRequest request) {
        sending.lock();
        try {
            // registered before the send's events can come: the listener is the request itself
            request.requestId = client.submit(options(request.spec), request);
            byRequestId.put(request.requestId, request);
            sentToThisRouter.add(request);
        } finally {
            sending.unlock();
        }
    }

    /** One request through the fresh system before the start samples, so they are taken warm. */
    private void warmUp(Tokenizer tokenizer) throws InterruptedException {
        final SoakRequest warm = new SoakRequest(-1, new RequestSpec("The soak warms up", 4, 8), System.nanoTime());
        send(warm);
        awaitEnded(List.of(warm), System.nanoTime() + ctx.drainTimeoutNs());
        if (!warm.endings().equals(List.of(SoakRequest.COMPLETED))) {
            throw new IllegalStateException("the warm-up request did not complete: " + warm.endings()
                    + "; logs in " + system.logDir());
        }
    }

    private void inject(List<Fault> faults, long origin) {
        final SplittableRandom targets = new SplittableRandom(ctx.seed() ^ 0x5eed);
        try {
            for (Fault fault : faults) {
                final long due = origin + fault.atNs();
                for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
                final long began = System.nanoTime();
                final SoakReport.FaultOutcome outcome = apply(fault, targets);
                if (!outcome.target().equals("http")) {
                    sampleStart(outcome.target(), System.nanoTime() - origin);
                }
                faultOutcomes.add(outcome);
                log.printf("soak: %s at %.1f s took %.1f s: %s%n", fault.kind().label, (began - origin) / 1e9,
                        (System.nanoTime() - began) / 1e9, outcome.detail());
                log.flush();
            }
        } catch (Throwable t) {
            injectorFailure = t;
        }
    }

    private SoakReport.FaultOutcome apply(Fault fault, SplittableRandom targets) throws Exception {
        switch (fault.kind()) {
            case DECODE_KILL, PREFILL_KILL -> {
                final String node = pick(fault, system.nodeNames(fault.kind() == Fault.Kind.DECODE_KILL ? "decode"
                        : "prefill"), targets);
                system.restartNode(node, List.of());
                return new SoakReport.FaultOutcome(fault, node, true, "SIGKILL " + node + ", restarted");
            }
            case ROUTER_KILL -> {
                sending.lock();
                try {
                    final boolean quiet = quiesce();
                    client.close();
                    aeron.close();
                    system.restartRouter();
                    connectClient();
                    return new SoakReport.FaultOutcome(fault, "router", true, "SIGKILL router"
                            + (quiet ? "" : " (had not taken in every request sent)") + ", restarted on its journal");
                } finally {
                    sending.unlock();
                }
            }
            case UDP_LOSS -> {
                final String node = pick(fault, system.nodeNames("decode"), targets);
                system.restartNode(node, List.of(
                        "aeron.ReceiveChannelEndpoint.supplier=io.aeron.driver.ext.DebugReceiveChannelEndpointSupplier",
                        "aeron.debug.receive.data.loss.rate=" + LOSS_RATE,
                        "aeron.debug.receive.data.loss.seed=" + targets.nextLong()));
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(ctx.faultIntervalNs())); // the loss lasts this long
                system.restartNode(node, List.of());
                return new SoakReport.FaultOutcome(fault, node, true, node + " received with " + (int) (LOSS_RATE * 100)
                        + "% data loss for " + TimeUnit.NANOSECONDS.toMillis(ctx.faultIntervalNs()) + " ms");
            }
            case STALLED_READER -> {
                final String status = StalledClients.stalledReader(system.routerHttpPort(),
                        "A client that stops reading its stream", 200, ctx.faultIntervalNs());
                if (status.contains(" 200")) {
                    httpAcceptedByThisRouter++;
                }
                return new SoakReport.FaultOutcome(fault, "http", status.contains(" 200"),
                        "stream answered '" + status + "', then unread for "
                                + TimeUnit.NANOSECONDS.toMillis(ctx.faultIntervalNs()) + " ms and dropped");
            }
            case STALLED_UPLOAD -> {
                final String status = StalledClients.stalledUpload(system.routerHttpPort(), ctx.requestBodyTimeoutMs(),
                        TimeUnit.SECONDS.toMillis(10));
                return new SoakReport.FaultOutcome(fault, "http", status.contains(" 408"),
                        "half a body, then silence: answered '" + status + "'");
            }
            default -> throw new IllegalStateException("no action for " + fault.kind());
        }
    }

    /** The node a fault names, or one drawn by the soak's seed among {@code names}. */
    private static String pick(Fault fault, List<String> names, SplittableRandom random) {
        if (fault.target() == null) {
            return names.get(random.nextInt(names.size()));
        }
        if (!names.contains(fault.target())) {
            throw new IllegalArgumentException(fault + " names no node of its kind; there are " + names);
        }
        return fault.target();
    }

    /**
     * Waits until the router's accepted counter reaches the requests sent to it that did not end in an error before
     * any token (refused ones, mostly; one accepted and then failed before its first token is counted on both sides,
     * which can only end the wait early); false if the wait ran out.
     */
    private boolean quiesce() throws Exception {
        final long deadline = System.nanoTime() + QUIESCE_TIMEOUT_NS;
        while (true) {
            long expected = httpAcceptedByThisRouter;
            for (SoakRequest r : sentToThisRouter) {
                if (!(r.ended() && r.tokens().length == 0 && !r.endings().get(0).equals(SoakRequest.COMPLETED))) {
                    expected++;
                }
            }
            final Matcher m = ACCEPTED.matcher(system.get("/metrics"));
            if (m.find() && Long.parseLong(m.group(1)) >= expected) {
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(5);
        }
    }

    private static void awaitEnded(List<SoakRequest> requests, long deadlineNs) throws InterruptedException {
        for (SoakRequest r : requests) {
            while (!r.ended() && System.nanoTime() - deadlineNs < 0) {
                Thread.sleep(10);
            }
        }
    }

    /** Free pages per live node once they equal the baseline, or as they stand when the settle wait ends. */
    private Map<String, Integer> settledPages(Map<String, Integer> baseline) throws Exception {
        final long deadline = System.nanoTime() + PAGES_SETTLE_TIMEOUT_NS;
        Map<String, Integer> pages = system.freePages();
        while (!pages.equals(baseline) && System.nanoTime() - deadline < 0) {
            Thread.sleep(50);
            pages = system.freePages();
        }
        return pages;
    }

    /**
     * Takes the start sample of the process now running as {@code name}, started {@code sinceNs} after the soak's
     * origin (0: before it): a restarted process is compared from its own start, as the old one is gone.
     */
    private void sampleStart(String name, long sinceNs) throws Exception {
        incarnationStarts.put(name, sample(system.processes().get(name), sinceNs));
    }

    private SoakReport.ProcessSample sample(RoleProcess p, long sinceNs) throws Exception {
        return new SoakReport.ProcessSample(p.pid(), sinceNs, p.heapUsedAfterGcKib(outDir), p.openFiles());
    }

    /** Greedy output of one in-process CPU engine for every distinct request, ignoring EOS as the soak's requests do. */
    private Map<RequestSpec, int[]> references(List<SoakRequest> requests) throws Exception {
        final Map<RequestSpec, int[]> references = new HashMap<>();
        try (Engine engine = Engine.load(ctx.modelDir(), new EngineOptions())) {
            final Tokenizer tokenizer = Tokenizer.load(ctx.modelDir().resolve("tokenizer.json"));
            final TextGenerator generator = new TextGenerator(engine, tokenizer);
            for (SoakRequest r : requests) {
                references.computeIfAbsent(r.spec, spec -> generator.generate(new GenerationRequest(
                        tokenizer.encode(spec.prompt(), true), SamplingParams.greedy(), spec.outputTokens(), List.of(),
                        new int[0]), piece -> { }).tokens());
            }
        }
        return references;
    }
}
