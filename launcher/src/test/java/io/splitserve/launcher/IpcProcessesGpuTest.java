package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.engine.Backend;
import io.splitserve.kernels.cuda.GpuTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The setup of two-GPU disaggregation on one host: a {@code splitserve driver} process, and router, prefill (CUDA,
 * GPU 0) and decode (CUDA, GPU 1, or GPU 0 where there is one) processes joined to it, bf16 KV moving between the
 * two node processes over Aeron IPC. Every request's greedy tokens follow an independent single CUDA engine as
 * {@link GreedyAgreement} requires, and equal those of {@code serve} in one JVM on the same GPUs (same code, other
 * process layout). On one host the KV takes the GPU path (the decode process maps the prefill process's export
 * arena through CUDA IPC; in one JVM, by address), and forcing the host path changes no token.
 */
@GpuTest
@Timeout(300)
class IpcProcessesGpuTest {
    private final RoleProcesses roles = new RoleProcesses();

    @AfterEach
    void killAll() {
        roles.close();
    }

    @Test
    void prefillAndDecodeOnTheirOwnGpusInSeparateProcessesServeLikeOneJvm() throws Exception {
        final int[] gpus = {0};
        JCudaDriver.cuDeviceGetCount(gpus);
        final int decodeGpu = gpus[0] >= 2 ? 1 : 0;
        final Path demo = TestSystems.demoModel();
        final String[] prompts = {"Once upon a time", "The quick brown fox", "In a hole in the ground"};
        final int maxTokens = 32;
        final int[][] reference = new int[prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            reference[i] = TestSystems.oneCudaEngine(demo, prompts[i], maxTokens).tokens();
        }
        final int[][] oneJvm = new int[prompts.length][];
        try (ServingSystem system = ServingSystem.start(TestSystems.options("ipc-gpu-serve").backend(Backend.CUDA)
                .prefillGpu(0).decodeGpu(decodeGpu).gpuMemFraction(0.2));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            for (int i = 0; i < prompts.length; i++) {
                oneJvm[i] = client.generate(GenerateOptions.greedy(prompts[i], maxTokens)).tokenIds();
            }
        }

        final String dir = TestSystems.aeronDir("ipc-gpu-driver");
        final List<String> cuda = List.of("--model", demo.toString(), "--join-driver", dir, "--backend", "cuda",
                "--mem-fraction", "0.2");
        roles.start("driver", "--aeron-dir", dir);
        final RouterHttp http = RouterHttp.startRouter(roles, "--model", demo.toString(), "--join-driver", dir);
        roles.start(args("prefill", cuda, "--gpu", "0"));
        roles.start(args("decode", cuda, "--gpu", Integer.toString(decodeGpu)));
        http.awaitNodes("prefill", 1);
        http.awaitNodes("decode", 1);
        final GreedyAgreement agreement = new GreedyAgreement();
        try (SplitServeClient client = SplitServeClient.connect(new ClientContext().aeronDirectoryName(dir))) {
            for (int i = 0; i < prompts.length; i++) {
                final Completion got = client.generate(GenerateOptions.greedy(prompts[i], maxTokens));
                agreement.compare(prompts[i], reference[i], got.tokenIds());
                assertArrayEquals(oneJvm[i], got.tokenIds(), "'" + prompts[i] + "': separate processes serve what"
                        + " one JVM serves");
            }
        }
        System.out.println("prefill on GPU 0, decode on GPU " + decodeGpu + " in separate processes over IPC");
        agreement.assertAgreement(prompts.length);
        assertEquals(prompts.length, http.metrics().count("splitserve_kv_transfers_ok_total"),
                "every KV went from the prefill process to the decode process");
        assertEquals(prompts.length, http.metrics().count("splitserve_kv_transfers_total", "path", "gpu", "outcome",
                "ok"), "on one host every KV took the GPU path (CUDA IPC between the two processes)");
    }

    /**
     * {@code --kv-path host} forces the host path between the same two processes, and the tokens stay those of the
     * GPU path's run.
     */
    @Test
    void theHostPathCanBeForcedAndServesTheSameTokens() throws Exception {
        final Path demo = TestSystems.demoModel();
        final String[] prompts = {"Once upon a time", "In a hole in the ground"};
        final int maxTokens = 24;
        final int[][][] tokens = new int[2][prompts.length][];
        final String[] paths = {"gpu", "host"};
        for (int run = 0; run < 2; run++) {
            final String dir = TestSystems.aeronDir("ipc-gpu-" + paths[run]);
            final List<String> cuda = List.of("--model", demo.toString(), "--join-driver", dir, "--backend", "cuda",
                    "--mem-fraction", "0.2");
            roles.start("driver", "--aeron-dir", dir);
            final RouterHttp http = RouterHttp.startRouter(roles, "--model", demo.toString(), "--join-driver", dir);
            roles.start(args("prefill", cuda, "--gpu", "0", "--kv-path", paths[run]));
            roles.start(args("decode", cuda, "--gpu", "0"));
            http.awaitNodes("prefill", 1);
            http.awaitNodes("decode", 1);
            try (SplitServeClient client = SplitServeClient.connect(new ClientContext().aeronDirectoryName(dir))) {
                for (int i = 0; i < prompts.length; i++) {
                    tokens[run][i] = client.generate(GenerateOptions.greedy(prompts[i], maxTokens)).tokenIds();
                }
            }
            assertEquals(prompts.length, http.metrics().count("splitserve_kv_transfers_total", "path", paths[run],
                    "outcome", "ok"), "--kv-path " + paths[run]);
            roles.close();
        }
        for (int i = 0; i < prompts.length; i++) {
            assertArrayEquals(tokens[0][i], tokens[1][i], "'" + prompts[i] + "': the same tokens over either path");
        }
    }

    private static String[] args(String command, List<String> common, String... more) {
        final List<String> all = new ArrayList<>();
        all.add(command);
        all.addAll(common);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }
}
