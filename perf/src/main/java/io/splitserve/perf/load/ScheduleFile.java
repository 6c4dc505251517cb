package io.splitserve.perf.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An open-loop plan as JSON lines, one request a line in sending order:
 * {@code {"index":i,"at_s":arrival offset in seconds,"prompt":"text","prompt_tokens":n,"max_tokens":m,"rate":r,
 * "duration_s":d}}, where {@code rate} and {@code duration_s} are the run's (the load generator measures throughput
 * over at least the duration, so a replay can too).
 * It lets a server this load generator cannot drive (a plain transformers baseline) replay exactly the arrivals and
 * requests an open-loop run sends, so both are measured on the same load. Prompts are the exact texts sent, so they
 * encode to {@code prompt_tokens} under the model's tokenizer; {@code max_tokens} is generated with EOS ignored.
 */
public final class ScheduleFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScheduleFile() {}

    /**
     * Writes {@code plan}, drawn at {@code ratePerSecond} for {@code durationNs}, to {@code file} (replacing it;
     * parent folders made).
     */
    public static void write(Path file, double ratePerSecond, long durationNs, ScheduledRequest[] plan)
            throws IOException {
        final Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < plan.length; i++) {
                final ObjectNode line = JSON.createObjectNode()
                        .put("index", i)
                        .put("at_s", plan[i].offsetNs() / 1e9)
                        .put("prompt", plan[i].request().prompt())
                        .put("prompt_tokens", plan[i].request().promptTokens())
                        .put("max_tokens", plan[i].request().outputTokens())
                        .put("rate", ratePerSecond)
                        .put("duration_s", durationNs / 1e9);
                out.write(JSON.writeValueAsString(line));
                out.write('\n');
            }
        }
    }
}
