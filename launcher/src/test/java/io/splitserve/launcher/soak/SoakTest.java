package io.splitserve.launcher.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A short soak in CI: router, one prefill and two decode processes over UDP, one request a second for 20 s, and one
 * fault of every kind at a set time (the node faults on decode-101, so decode-102 runs throughout; a restarted process's
 * heap and open files are compared from its restart; faults run one after another, so a slow restart delays the next). Every request must end once, equal to one engine's greedy output when it
 * completed; no token lost or duplicated; KV pages back at their baseline; heap and open files flat.
 */
@Timeout(300)
class SoakTest {
    @Test
    void everyFaultKindLeavesEveryRequestCorrectAndNothingLeaked() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        final Path out = Files.createDirectories(Path.of("target", "soak-" + System.nanoTime()).toAbsolutePath());
        final SoakContext ctx = new SoakContext().modelDir(demo).rate(1).seed(7)
                .durationNs(TimeUnit.SECONDS.toNanos(20)).drainTimeoutNs(TimeUnit.SECONDS.toNanos(60))
                .promptTokens(16).outputTokens(16).faultIntervalNs(TimeUnit.SECONDS.toNanos(2))
                .faults(List.of(Fault.parse("stalled-upload@1"), Fault.parse("decode-kill:decode-101@2"),
                        Fault.parse("stalled-reader@4"), Fault.parse("prefill-kill@6"),
                        Fault.parse("udp-loss:decode-101@8"), Fault.parse("router-kill@12")));
        final SoakReport report = Soak.run(ctx, out, new PrintWriter(System.err, true));
        final String markdown = report.markdown("SoakTest", "CI");
        System.err.println(markdown);
        for (SoakReport.Check check : report.checks()) {
            assertTrue(check.passed(), check.name() + ": " + check.detail() + "\n" + markdown);
        }
        assertEquals(Map.of("decode-kill", 1, "prefill-kill", 1, "router-kill", 1, "udp-loss", 1,
                "stalled-reader", 1, "stalled-upload", 1), report.faultsByKind());
        assertTrue(report.requests() >= 10, "the open loop sent its requests: " + report.requests());
        assertTrue(report.completed() > report.requests() / 2, "most requests completed: " + markdown);
        assertEquals(0, report.leakedPages());
        assertTrue(markdown.contains("| decode-102 | the start |"), "decode-102 ran throughout:\n" + markdown);
    }
}
