package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.model.SamplingParams;
import io.splitserve.sbe.FinishReason;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A router process killed with SIGKILL mid-generation and started again on the same journal (driver, prefill and
 * decode processes joined to one {@code splitserve driver} over IPC, the client staying connected): the client's
 * stream of a seeded sampled request equals one engine's uninterrupted run token for token, each index once, and the
 * new router reports the request as recovered. Every child process is killed when the test ends.
 */
@Timeout(240)
class RouterKillTest {
    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 200;
    private static final float TEMPERATURE = 0.9f;
    private static final long SEED = 77;

    private final RoleProcesses roles = new RoleProcesses();

    @AfterEach
    void killAll() {
        roles.close();
    }

    @Test
    void aRouterKilledMidGenerationContinuesTheRequestAfterItsRestart(@TempDir Path journal) throws Exception {
        final Path demo = TestSystems.demoModel();
        final String model = demo.toString();
        final String dir = TestSystems.aeronDir("router-kill");
        final int[] expected = Reference.generate(demo, PROMPT, TOKENS, false,
                new SamplingParams(TEMPERATURE, 0, 1, 0, SEED)).tokens();
        roles.start("driver", "--aeron-dir", dir);
        final String[] routerArgs = {"--model", model, "--join-driver", dir, "--journal", journal.toString()};
        final RouterHttp first = RouterHttp.startRouter(roles, routerArgs);
        roles.start("prefill", "--model", model, "--join-driver", dir);
        roles.start("decode", "--model", model, "--join-driver", dir);
        first.awaitNodes("prefill", 1);
        first.awaitNodes("decode", 1);

        final List<Token> received = new ArrayList<>();
        try (SplitServeClient client = SplitServeClient.connect(new ClientContext().aeronDirectoryName(dir)
                .clientId(9001));
             TokenStream stream = client.stream(new GenerateOptions("", PROMPT, false, TOKENS, TEMPERATURE, 1f, 0,
                     SEED, List.of(), true))) {
            for (int i = 0; i < 5; i++) {
                received.add(stream.next());
            }
            first.process().destroyForcibly(); // SIGKILL
            assertTrue(first.process().waitFor(30, TimeUnit.SECONDS));
            final RouterHttp second = RouterHttp.startRouter(roles, routerArgs);
            while (stream.hasNext()) {
                received.add(stream.next());
            }
            assertEquals(1, second.metrics().count("splitserve_requests_recovered_total"),
                    "the new router continued the request");
        }
        final int[] ids = new int[received.size()];
        for (int i = 0; i < received.size(); i++) {
            assertEquals(i, received.get(i).index(), "each index once, in order");
            ids[i] = received.get(i).tokenId();
        }
        assertArrayEquals(expected, ids, "the stream equals an uninterrupted run");
        assertEquals(FinishReason.LENGTH, received.get(received.size() - 1).finish());
    }
}
