package io.splitserve.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code splitserve generate} end to end: the command line, the engine and the tokenizer together. */
class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURES = Path.of("..", "engine", "src", "test", "resources", "fixtures");

    @TempDir
    static Path cache;
    static Path demo;

    @BeforeAll
    static void createDemoModel() throws Exception {
        demo = DemoModel.ensure(cache.resolve("demo"));
    }

    record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.execute(args);
            return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    private static JsonNode json(String... args) throws Exception {
        Run run = run(args);
        assertEquals(0, run.status(), run.err());
        return JSON.readTree(run.out());
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void greedyOutputEqualsTransformersGreedyContinuation(String arch) throws Exception {
        Path dir = FIXTURES.resolve(arch);
        JsonNode expected = JSON.readTree(Files.readString(dir.resolve("expected.json")));
        for (int p = 0; p < expected.get("prompts").size(); p++) {
            String prompt = Arrays.stream(ids(expected.get("prompts").get(p)))
                .mapToObj(Integer::toString).collect(Collectors.joining(","));
            JsonNode result = json("generate", "--model", dir.toString(), "--prompt-tokens", prompt,
                "--max-tokens", "32", "--ignore-eos", "--json");
            assertArrayEquals(ids(expected.get("greedy").get(p)), ids(result.get("tokens")), arch + " prompt " + p);
            assertEquals("length", result.get("finish_reason").asText());
        }
    }

    @Test
    void jsonReportsPromptIdsGeneratedIdsTheirTextAndTimings() throws Exception {
        JsonNode result = json("generate", "--model", demo.toString(), "--prompt", "Once upon a time",
            "--max-tokens", "12", "--ignore-eos", "--json");
        Tokenizer tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
        assertArrayEquals(tokenizer.encode("Once upon a time", true), ids(result.get("prompt_tokens")));
        int[] tokens = ids(result.get("tokens"));
        assertEquals(12, tokens.length);
        assertEquals(tokenizer.decode(tokens, true), result.get("text").asText());
        assertEquals("length", result.get("finish_reason").asText());
        assertTrue(result.get("timings").get("decode_tokens_per_s").asDouble() > 0);
        assertTrue(result.get("timings").get("prompt_tokens_per_s").asDouble() > 0);
    }

    @Test
    void streamedTextEqualsTheJsonText() throws Exception {
        String[] common = {"generate", "--model", demo.toString(), "--prompt", "The river", "--max-tokens", "24",
            "--temperature", "0.9", "--top-p", "0.95", "--seed", "7", "--ignore-eos"};
        JsonNode result = json(concat(common, "--json"));
        Run streamed = run(common);
        assertEquals(0, streamed.status());
        assertEquals(result.get("text").asText() + System.lineSeparator(), streamed.out());
    }

    @Test
    void theSameSeedGivesTheSameSampleAndAnotherSeedUsuallyNot() throws Exception {
        String[] args = {"generate", "--model", demo.toString(), "--prompt", "The river", "--max-tokens", "24",
            "--temperature", "1.0", "--ignore-eos", "--json", "--seed"};
        int[] a = ids(json(concat(args, "1")).get("tokens"));
        int[] b = ids(json(concat(args, "1")).get("tokens"));
        int[] c = ids(json(concat(args, "2")).get("tokens"));
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c), "24 tokens sampled at temperature 1 with two seeds were identical");
    }

    @Test
    void aStopStringEndsTheTextBeforeIt() throws Exception {
        String[] args = {"generate", "--model", demo.toString(), "--prompt", "Once", "--max-tokens", "40",
            "--ignore-eos", "--json"};
        String full = json(args).get("text").asText();
        String stop = full.substring(10, 13);
        JsonNode stopped = json(concat(args, "--stop", stop));
        assertEquals(full.substring(0, full.indexOf(stop)), stopped.get("text").asText());
        assertEquals("stop", stopped.get("finish_reason").asText());
    }

    @Test
    void chatWrapsThePromptInTheModelsTemplate() throws Exception {
        JsonNode result = json("generate", "--model", demo.toString(), "--chat", "--system", "Be brief.",
            "--prompt", "hi", "--max-tokens", "2", "--json");
        Tokenizer tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
        String rendered = "<|system|>\nBe brief.<|end|>\n<|user|>\nhi<|end|>\n<|assistant|>\n";
        assertArrayEquals(tokenizer.encode(rendered, false), ids(result.get("prompt_tokens")));
    }

    @Test
    void aMissingModelDirectoryIsOneLineAndExitStatusOne() {
        Run run = run("generate", "--model", cache.resolve("nowhere").toString(), "--prompt", "x");
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("error: "), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
    }

    @Test
    void aTokenOutsideTheVocabularyIsRejectedClearly() {
        Run run = run("generate", "--model", demo.toString(), "--prompt-tokens", "1,2,999999");
        assertEquals(1, run.status());
        assertTrue(run.err().contains("999999"), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
    }

    @Test
    void aCorruptCheckpointIsOneLine() throws Exception {
        Path broken = cache.resolve("broken");
        Files.createDirectories(broken);
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            Files.copy(demo.resolve(f), broken.resolve(f));
        }
        byte[] weights = Files.readAllBytes(demo.resolve("model.safetensors"));
        Files.write(broken.resolve("model.safetensors"), Arrays.copyOf(weights, weights.length / 2));
        Run run = run("generate", "--model", broken.toString(), "--prompt", "x");
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("error: "), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
    }

    @Test
    void optionMistakesAreUsageErrors() {
        assertEquals(2, run("generate", "--model", demo.toString()).status());
        assertEquals(2, run("generate", "--prompt", "a", "--prompt-tokens", "1").status());
        assertEquals(2, run("generate", "--prompt-tokens", "1", "--chat").status());
        assertEquals(2, run("generate", "--max-tokens", "many", "--prompt", "a").status());
        assertEquals(2, run().status());
    }

    @Test
    void backendFlagMistakesAreUsageErrors() {
        Run badName = run("generate", "--prompt", "a", "--backend", "tpu");
        assertEquals(2, badName.status());
        assertTrue(badName.err().contains("unknown backend 'tpu': expected cpu, cuda or auto"), badName.err());
        assertEquals(2, run("generate", "--prompt", "a", "--mem-fraction", "1.5").status());
    }

    @Test
    void autoSaysWhichBackendItPickedAndGeneratesLikeTheCpu() throws Exception {
        String[] request = {"generate", "--model", demo.toString(), "--prompt-tokens", "5,6,7", "--max-tokens", "6",
            "--ignore-eos", "--json"};
        Run cpu = run(concat(request, "--backend", "cpu"));
        Run auto = run(concat(request, "--backend", "auto"));
        assertEquals(0, auto.status(), auto.err());
        assertEquals(1, auto.err().strip().lines().count(), auto.err());
        if (CudaDevice.unavailableReason() == null) {
            assertTrue(auto.err().startsWith("(backend: cuda"), auto.err());
        } else {
            // no usable GPU: auto falls back to the CPU, naming why in one line, and generates exactly as the CPU does
            assertTrue(auto.err().startsWith("(backend: cpu (auto: "), auto.err());
            assertEquals(JSON.readTree(cpu.out()).get("tokens"), JSON.readTree(auto.out()).get("tokens"));
        }
    }

    @Test
    void cudaWhereItCannotRunIsOneLine() {
        assumeTrue(CudaDevice.unavailableReason() != null, "a GPU is present: CUDA can run here");
        Run run = run("generate", "--model", demo.toString(), "--prompt", "x", "--backend", "cuda");
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("error: "), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
    }

    private static String[] concat(String[] head, String... tail) {
        List<String> all = new ArrayList<>(Arrays.asList(head));
        all.addAll(Arrays.asList(tail));
        return all.toArray(String[]::new);
    }
}
