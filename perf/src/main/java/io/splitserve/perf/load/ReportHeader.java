package io.splitserve.perf.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * What every report states before its numbers: the command that produced it, the machine, the date, the way into
 * the system, the load pattern and the workload, so a reader can rerun it or see why numbers differ.
 */
public record ReportHeader(String command, String machine, String dateUtc, String target, String pattern,
                           String workload) {

    public static ReportHeader of(String command, LoadTarget target, LoadPattern pattern, Workload workload) {
        return new ReportHeader(command, describeMachine(), ZonedDateTime.now(ZoneOffset.UTC)
                .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")), target.describe(),
                pattern == null ? "" : pattern.describe(), workload.describe());
    }

    /** CPU model, cores, memory, OS and Java version of this machine. */
    public static String describeMachine() {
        String cpu = "unknown CPU";
        try {
            final List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            cpu = lines.stream().filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException | RuntimeException e) {
            // not Linux: the OS line below still says what ran
        }
        final Runtime rt = Runtime.getRuntime();
        return cpu + ", " + rt.availableProcessors() + " cores available, JVM max heap "
                + rt.maxMemory() / (1024 * 1024) + " MiB, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    }

    ReportHeader withPattern(String newPattern) {
        return new ReportHeader(command, machine, dateUtc, target, newPattern, workload);
    }
}
