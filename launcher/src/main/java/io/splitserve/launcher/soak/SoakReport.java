package io.splitserve.launcher.soak;

import io.splitserve.perf.load.RequestSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a soak found, and whether it passed. Every request must have ended exactly once: completed with exactly the
 * greedy reference's tokens (a request a restarted router recovered included), or with one explicit error after a
 * prefix of them; no token came twice or skipped an index. Every fault must have been carried out as planned (a
 * stalled upload answered 408). Every live node's free KV pages are back at their value before the first request,
 * and every process running at the end kept its heap after a GC and its open files within the tolerances from its
 * own start (the soak's, or its restart's) to the end.
 * {@link #markdown} writes all of it, with the checks first.
 */
public final class SoakReport {
    /** A fault as carried out: on which process or client, whether it went as planned, and what happened. */
    record FaultOutcome(Fault fault, String target, boolean asPlanned, String detail) { }

    /**
     * One process's heap in use after a full GC (KiB) and its open file descriptors; {@code sinceNs}: when that
     * process started, from the soak's origin (0 for before it; -1 in an end sample).
     */
    record ProcessSample(long pid, long sinceNs, long heapKib, int openFiles) { }

    /** One named check and what it found. */
    public record Check(String name, boolean passed, String detail) { }

    private final SoakContext ctx;
    private final List<Fault> faults;
    private final List<FaultOutcome> outcomes;
    private final Map<String, Integer> baselinePages;
    private final Map<String, Integer> endPages;
    private final Map<String, ProcessSample> startSamples;
    private final Map<String, ProcessSample> endSamples;
    private final Throwable injectorFailure;
    private final int requests;
    private final int completed;
    private final Map<String, Integer> errorsByCode = new TreeMap<>();
    private final List<String> wrongOutputs = new ArrayList<>();
    private final List<String> endingProblems = new ArrayList<>();
    private int duplicatedTokens;
    private int missingTokens;
    private int sloMet;

    SoakReport(SoakContext ctx, List<Fault> faults, List<FaultOutcome> outcomes, List<SoakRequest> sent,
               Map<RequestSpec, int[]> references, Map<String, Integer> baselinePages, Map<String, Integer> endPages,
               Map<String, ProcessSample> startSamples, Map<String, ProcessSample> endSamples,
               Throwable injectorFailure) {
        this.ctx = ctx;
        this.faults = List.copyOf(faults);
        this.outcomes = List.copyOf(outcomes);
        this.baselinePages = baselinePages;
        this.endPages = endPages;
        this.startSamples = startSamples;
        this.endSamples = endSamples;
        this.injectorFailure = injectorFailure;
        this.requests = sent.size();
        int done = 0;
        for (SoakRequest r : sent) {
            final List<String> endings = r.endings();
            final int[] tokens = r.tokens();
            final int[] reference = references.get(r.spec);
            duplicatedTokens += r.duplicated();
            missingTokens += r.missing();
            if (endings.size() != 1) {
                endingProblems.add("request " + r.index + " (id " + r.requestId + ") ended " + endings.size()
                        + " times: " + endings);
            }
            if (endings.isEmpty()) {
                continue;
            }
            final String ending = endings.get(0);
            if (ending.equals(SoakRequest.COMPLETED)) {
                done++;
                if (!Arrays.equals(tokens, reference)) {
                    wrongOutputs.add("request " + r.index + " completed with " + tokens.length + " tokens unequal to"
                            + " the reference's " + reference.length + " (first difference at "
                            + Arrays.mismatch(tokens, reference) + ")");
                } else if (ctx.slo().met(r.ttftNs(), r.tpotNs())) {
                    sloMet++;
                }
            } else {
                errorsByCode.merge(ending, 1, Integer::sum);
                if (Arrays.mismatch(tokens, 0, tokens.length, reference, 0, Math.min(tokens.length, reference.length))
                        >= 0 || tokens.length > reference.length) {
                    wrongOutputs.add("request " + r.index + " ended " + ending + " after tokens that are not a prefix"
                            + " of the reference");
                }
            }
        }
        this.completed = done;
    }

    /** Every check, in report order. */
    public List<Check> checks() {
        final List<Check> checks = new ArrayList<>();
        checks.add(new Check("every request ended exactly once", endingProblems.isEmpty(),
                endingProblems.isEmpty() ? requests + " requests" : String.join("; ", first(endingProblems))));
        checks.add(new Check("completed output equals the greedy reference; errors follow a prefix of it",
                wrongOutputs.isEmpty(), wrongOutputs.isEmpty() ? completed + " completed equal the reference"
                        : String.join("; ", first(wrongOutputs))));
        checks.add(new Check("no duplicated or missing tokens", duplicatedTokens == 0 && missingTokens == 0,
                duplicatedTokens + " duplicated, " + missingTokens + " missing"));
        final List<String> faultProblems = new ArrayList<>();
        if (injectorFailure != null) {
            faultProblems.add("the injector failed: " + injectorFailure);
        }
        if (outcomes.size() != faults.size()) {
            faultProblems.add(outcomes.size() + " of " + faults.size() + " faults carried out");
        }
        outcomes.stream().filter(o -> !o.asPlanned()).forEach(o -> faultProblems.add(o.fault() + ": " + o.detail()));
        checks.add(new Check("every fault carried out as planned", faultProblems.isEmpty(),
                faultProblems.isEmpty() ? outcomes.size() + " faults" : String.join("; ", faultProblems)));
        checks.add(new Check("KV pages back to their baseline on every live node", leakedPages() == 0
                && endPages.keySet().equals(baselinePages.keySet()), "baseline " + baselinePages + ", end " + endPages));
        final List<String> growth = new ArrayList<>();
        endSamples.forEach((name, end) -> {
            final ProcessSample start = startSamples.get(name);
            if (end.heapKib() - start.heapKib() > ctx.maxHeapGrowthKib()
                    || end.openFiles() - start.openFiles() > ctx.maxFdGrowth()) {
                growth.add(name + " heap " + start.heapKib() + "->" + end.heapKib() + " KiB, files "
                        + start.openFiles() + "->" + end.openFiles());
            }
        });
        checks.add(new Check("heap and open files flat in every process from its start or restart", growth.isEmpty()
                && !endSamples.isEmpty() && startSamples.keySet().containsAll(endSamples.keySet()),
                growth.isEmpty() ? endSamples.size() + " processes compared" : String.join("; ", growth)));
        return checks;
    }

    private static List<String> first(List<String> problems) {
        return problems.size() <= 5 ? problems : problems.subList(0, 5);
    }

    public boolean passed() {
        return checks().stream().allMatch(Check::passed);
    }

    public int requests() { return requests; }
    public int completed() { return completed; }
    public Map<String, Integer> errorsByCode() { return Map.copyOf(errorsByCode); }
    public int duplicatedTokens() { return duplicatedTokens; }
    public int missingTokens() { return missingTokens; }

    /** Faults carried out, by kind label. */
    public Map<String, Integer> faultsByKind() {
        final Map<String, Integer> byKind = new TreeMap<>();
        outcomes.forEach(o -> byKind.merge(o.fault().kind().label, 1, Integer::sum));
        return byKind;
    }

    /** Pages missing from the baseline, summed over nodes (a node with more free pages than at start counts 0). */
    public int leakedPages() {
        int leaked = 0;
        for (Map.Entry<String, Integer> e : baselinePages.entrySet()) {
            final Integer end = endPages.get(e.getKey());
            leaked += end == null ? 0 : Math.max(0, e.getValue() - end);
        }
        return leaked;
    }

    /** Share of requests that completed correctly within the SLO. */
    public double sloAttainment() {
        return requests == 0 ? 0 : (double) sloMet / requests;
    }

    /** The report as Markdown, headed by the command and the machine it ran on. */
    public String markdown(String command, String machine) {
        final StringWriter text = new StringWriter();
        final PrintWriter out = new PrintWriter(text);
        out.println("# Soak " + (passed() ? "passed" : "FAILED"));
        out.println();
        out.println("- command: `" + command + "`");
        out.println("- machine: " + machine);
        out.printf(Locale.ROOT, "- system: router, %d prefill, %d decode processes over %s, model %s%n",
                ctx.prefillNodes(), ctx.decodeNodes(), ctx.ipc() ? "IPC (one driver process)" : "UDP loopback",
                ctx.modelDir().getFileName());
        out.printf(Locale.ROOT, "- load: open loop, Poisson %.2f requests/s for %.0f s, workload %s (seed %d)%n",
                ctx.rate(), ctx.durationNs() / 1e9, ctx.workload(), ctx.seed());
        out.println();
        out.println("## Checks");
        out.println();
        out.println("| check | result | detail |");
        out.println("|---|---|---|");
        for (Check c : checks()) {
            out.println("| " + c.name() + " | " + (c.passed() ? "pass" : "FAIL") + " | " + c.detail() + " |");
        }
        out.println();
        out.println("## Requests");
        out.println();
        out.printf(Locale.ROOT, "%d sent, %d completed, %d ended by an error; errors by code: %s; %d duplicated and"
                        + " %d missing tokens; SLO (%s) attainment %.1f%%%n", requests, completed,
                errorsByCode.values().stream().mapToInt(Integer::intValue).sum(), errorsByCode, duplicatedTokens,
                missingTokens, ctx.slo().describe(), 100 * sloAttainment());
        out.println();
        out.println("## Faults");
        out.println();
        out.println("By kind: " + faultsByKind());
        out.println();
        out.println("| at (s) | kind | target | as planned | what happened |");
        out.println("|---|---|---|---|---|");
        for (FaultOutcome o : outcomes) {
            out.printf(Locale.ROOT, "| %.1f | %s | %s | %s | %s |%n", o.fault().atNs() / 1e9, o.fault().kind().label,
                    o.target(), o.asPlanned() ? "yes" : "NO", o.detail());
        }
        out.println();
        out.println("## KV pages (free, per live node)");
        out.println();
        out.println("| node | baseline | end |");
        out.println("|---|---|---|");
        for (String node : new TreeSet<>(baselinePages.keySet())) {
            out.println("| " + node + " | " + baselinePages.get(node) + " | " + endPages.get(node) + " |");
        }
        out.println();
        out.println("## Processes (heap after a full GC, open files)");
        out.println();
        out.println("| process | since | heap start -> end (KiB) | files start -> end |");
        out.println("|---|---|---|---|");
        endSamples.forEach((name, end) -> {
            final ProcessSample start = startSamples.get(name);
            out.printf(Locale.ROOT, "| %s | %s | %d -> %d | %d -> %d |%n", name, start.sinceNs() == 0 ? "the start"
                    : String.format(Locale.ROOT, "restart at %.1f s", start.sinceNs() / 1e9), start.heapKib(),
                    end.heapKib(), start.openFiles(), end.openFiles());
        });
        out.flush();
        return text.toString();
    }
}
