package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.demo.DemoModel;
import java.nio.file.Path;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A decode node drops the work of a router instance that was replaced, stepped one event at a time (a colocated node,
 * whose sequences need no KV transfer): sequences the epoch-1 router placed hold pages while they run; the first
 * DecodeAdmit of the epoch-2 router releases them, their pages return to the pool, and a late DecodeAdmit of epoch 1
 * is released at once, while the epoch-2 sequence and one from a router that names no epoch run on.
 */
class RouterEpochTest {
    private static final int[] PROMPT = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    private MediaDriver driver;
    private Aeron aeron;
    private Subscription routerEvents;
    private DecodeNodeAgent agent;

    @BeforeEach
    void start() throws Exception {
        final String dir = Path.of("target", "aeron", "epoch-" + System.nanoTime()).toAbsolutePath().toString();
        driver = MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(1024 * 1024));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));
        routerEvents = aeron.addSubscription("aeron:ipc", 100); // the node's tokens and DecodeDones have a reader
        final Path model = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        agent = new DecodeNodeAgent(new DecodeNodeContext().aeron(aeron).nodeId(7).modelDir(model).colocated(true)
                .engineOptions(new EngineOptions().maxPages(256)).routerChannel("aeron:ipc").routerStreamId(100)
                .controlChannel("aeron:ipc").controlStreamId(20007));
    }

    @AfterEach
    void stop() {
        CloseHelper.quietCloseAll(agent::onClose, routerEvents, aeron, driver);
    }

    private void admit(long requestId, long epoch) {
        agent.onAdmit(requestId, epoch, 0, 0, PROMPT.length, 200, 0f, 1f, 0, 0, 0, new int[0]);
        agent.onPrompt(requestId, PROMPT);
    }

    private void stepUntil(java.util.function.BooleanSupplier done) {
        while (!done.getAsBoolean()) {
            agent.doWork();
            routerEvents.poll((buffer, offset, length, header) -> { }, 64);
        }
    }

    @Test
    void aNewerRoutersFirstAdmitReleasesTheOlderRoutersSequencesAndTheirPages() {
        final int baseline = agent.freePages();
        admit(1, 1_000L);
        admit(2, 1_000L);
        admit(3, DecodeTicket.NO_EPOCH);
        stepUntil(() -> agent.freePages() < baseline);
        final int threeRunning = agent.freePages();
        agent.doWork(); // they decode on
        assertEquals(0, agent.staleRouterReleases());

        admit(4, 2_000L); // the restarted router's first placement here
        assertEquals(2, agent.staleRouterReleases(), "both epoch-1 sequences released");
        assertTrue(agent.freePages() > threeRunning, "their pages went back to the pool");

        admit(5, 1_000L); // the replaced router's admit, arriving late
        assertEquals(3, agent.staleRouterReleases());
        stepUntil(() -> agent.freePages() < baseline && agent.staleRouterReleases() == 3);
        // the epoch-2 and no-epoch sequences run to their end, then everything is free again
        stepUntil(() -> agent.freePages() == baseline);
        assertEquals(3, agent.staleRouterReleases());
    }
}
