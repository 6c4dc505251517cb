package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.StepOutput;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvTransferStatus;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * On the CPU backend: a prompt's KV streamed layer by layer over IPC into a decode engine with another page size
 * continues exactly as one engine would; and a transfer in bf16 (what a CUDA prefill node sends) to a CPU decode
 * engine is refused as FAILED_INCOMPATIBLE, taking no pages. Mixed backends are refused rather than converted: a
 * silent conversion would hide a misconfigured deployment and double the transfer of the fp32 side.
 */
@Timeout(120)
class EngineKvOverIpcTest {
    private static final int[] PROMPT = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

    private static Path demo() throws Exception {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    @Test
    void streamedKvDecodesLikeOneEngine() throws Exception {
        final int steps = 8;
        final int[] together = new int[steps];
        try (Engine one = Engine.load(demo(), new EngineOptions())) {
            final long id = one.addSequence(PROMPT, SamplingParams.greedy());
            for (int n = 0; n < steps; n++) {
                final List<StepOutput> out = one.step();
                assertEquals(id, out.get(0).sequenceId());
                together[n] = out.get(0).token();
            }
        }
        final int[] split = new int[steps];
        try (Engine prefill = Engine.load(demo(), new EngineOptions().pageSize(16));
             Engine decode = Engine.load(demo(), new EngineOptions().pageSize(3).maxPages(64))) {
            final EngineKvPageStore store = new EngineKvPageStore(decode);
            try (IpcKvLink link = new IpcKvLink(demo(), store)) {
                final IpcKvLink.Outcome outcome = link.prefillAndSend(prefill, PROMPT);
                assertEquals(KvTransferStatus.OK, outcome.leaseStatus());
                assertNotNull(outcome.admitted());
                split[0] = outcome.firstToken();
                decode.admitImported(store.take(outcome.admitted()), outcome.firstToken(), SamplingParams.greedy(), 1);
                for (int n = 1; n < steps; n++) {
                    split[n] = decode.step().get(0).token();
                }
            }
        }
        assertArrayEquals(together, split);
    }

    @Test
    void bf16KvIsRefusedByACpuDecodeEngine() throws Exception {
        try (Engine decode = Engine.load(demo(), new EngineOptions().maxPages(16))) {
            final EngineKvPageStore store = new EngineKvPageStore(decode);
            final KvGeometry cuda = new KvGeometry(decode.config().numLayers(), decode.config().numKvHeads(),
                    decode.config().headDim(), KvDtype.BF16);
            try (IpcKvLink link = new IpcKvLink(demo(), store)) {
                final IpcKvLink.Outcome outcome = link.sendZeros(cuda, PROMPT.length);
                assertNull(outcome.admitted());
                assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, outcome.receiverFailure());
                assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, outcome.leaseStatus());
                assertEquals(decode.totalPages(), decode.freePages(), "a refused transfer takes no pages");
            }
        }
    }
}
