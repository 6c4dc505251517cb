package io.splitserve.launcher.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Fault lists as written on the command line, and the seeded random schedule merged with them. */
class FaultPlanTest {
    private static final long HOUR_NS = TimeUnit.HOURS.toNanos(1);

    @Test
    void parsesKindAndSeconds() {
        final Fault f = Fault.parse("router-kill@12.5");
        assertEquals(Fault.Kind.ROUTER_KILL, f.kind());
        assertEquals(12_500_000_000L, f.atNs());
    }

    @Test
    void aNodeFaultMayNameItsNode() {
        final Fault f = Fault.parse("udp-loss:decode-102@30");
        assertEquals(Fault.Kind.UDP_LOSS, f.kind());
        assertEquals("decode-102", f.target());
        assertEquals("udp-loss:decode-102@30.0", f.toString());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Fault.parse("router-kill:router@3")).getMessage()
                .contains("takes no ':node'"));
        final SoakContext ctx = new SoakContext().modelDir(Path.of("m")).decodeNodes(2)
                .faults(List.of(Fault.parse("decode-kill:decode-103@3")));
        assertTrue(assertThrows(IllegalArgumentException.class, ctx::validate).getMessage()
                .contains("[decode-101, decode-102]"));
    }

    @Test
    void badFaultsAreErrorsNamingTheProblem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Fault.parse("reboot@3")).getMessage()
                .contains("decode-kill, prefill-kill, router-kill, udp-loss, stalled-reader, stalled-upload"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Fault.parse("decode-kill")).getMessage()
                .contains("KIND[:NODE]@SECONDS"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Fault.parse("decode-kill@soon")).getMessage()
                .contains("'soon' is not a number"));
        assertThrows(IllegalArgumentException.class, () -> Fault.parse("decode-kill@-1"));
    }

    @Test
    void randomScheduleIsSeededWithinTheDurationAndMergedInTimeOrder() {
        final List<Fault.Kind> kinds = List.of(Fault.Kind.DECODE_KILL, Fault.Kind.ROUTER_KILL);
        final List<Fault> explicit = List.of(Fault.parse("stalled-upload@1800"), Fault.parse("udp-loss@0"));
        final List<Fault> plan = FaultPlan.of(explicit, 60, kinds, 3, HOUR_NS);
        assertEquals(plan, FaultPlan.of(explicit, 60, kinds, 3, HOUR_NS), "the same seed gives the same plan");
        assertTrue(!plan.equals(FaultPlan.of(explicit, 60, kinds, 4, HOUR_NS)), "another seed another plan");
        assertTrue(plan.containsAll(explicit));
        for (int i = 1; i < plan.size(); i++) {
            assertTrue(plan.get(i - 1).atNs() <= plan.get(i).atNs(), "time order: " + plan);
        }
        final long random = plan.stream().filter(f -> kinds.contains(f.kind())).count();
        // an hour at a mean of a minute: 60 expected; a Poisson count stays within 30..90 for any sane seed
        assertTrue(random >= 30 && random <= 90, random + " random faults in an hour at a mean of 60 s");
        assertTrue(plan.stream().allMatch(f -> f.atNs() < HOUR_NS));
        assertEquals(explicit.size(), FaultPlan.of(explicit, 0, kinds, 3, HOUR_NS).size(), "mean 0: no random ones");
    }
}
