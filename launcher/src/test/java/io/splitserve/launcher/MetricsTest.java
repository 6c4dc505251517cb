package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The strict /metrics reader the serving tests use: exact values, exact label sets, and no guessing at bad lines. */
class MetricsTest {
    private static final String PAGE = """
            # HELP splitserve_kv_transfers_ok_total KV transfers that reached their decode node
            # TYPE splitserve_kv_transfers_ok_total counter
            splitserve_kv_transfers_ok_total 23
            # TYPE splitserve_node_free_kv_pages gauge
            splitserve_node_free_kv_pages{node="101",role="decode"} 40
            splitserve_node_free_kv_pages{node="1",role="prefill"} 7
            splitserve_ttft_seconds{quantile="0.5"} 1.5E-4
            """;

    @Test
    void aValueIsReadAsANumberNotMatchedAsText() {
        final Metrics m = Metrics.parse(PAGE);
        assertEquals(23, m.count("splitserve_kv_transfers_ok_total"), "23 is not 2, though the text starts so");
        assertEquals("counter", m.type("splitserve_kv_transfers_ok_total"));
        assertEquals(40, m.value("splitserve_node_free_kv_pages", "role", "decode", "node", "101"));
        assertEquals(1.5e-4, m.value("splitserve_ttft_seconds", "quantile", "0.5"));
        assertTrue(m.find("splitserve_node_free_kv_pages", "node", "10", "role", "decode").isEmpty());
        assertTrue(m.find("splitserve_node_free_kv_pages").isEmpty(), "labels must match exactly");
        assertEquals(7, m.value("splitserve_node_free_kv_pages", "node", "1", "role", "prefill"));
    }

    @Test
    void aLineThatIsNotPrometheusTextIsAnError() {
        for (String bad : new String[] {"x 1 2 3", "x{a=1} 2", "x{a=\"1\",a=\"2\"} 3", "x 0x10", "x 1\nx 2",
                "# TYPE x countr", "1x 2"}) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Metrics.parse(bad),
                    bad);
            assertTrue(e.getMessage().startsWith("metrics line "), e.getMessage());
        }
    }
}
