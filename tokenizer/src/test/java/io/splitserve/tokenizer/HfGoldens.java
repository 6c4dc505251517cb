package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Expected outputs recorded from Hugging Face tokenizers/transformers (src/test/python/make_tokenizer_goldens.py)
 * and the tokenizers they belong to: the real Qwen3 and Llama 3 files fetched by the build, and the demo
 * tokenizer trained by {@link BpeTrainer}. Loaded once per test run.
 */
final class HfGoldens {
    static final List<String> REAL = List.of("qwen3", "llama3", "llama3_1");
    /** Real files, trained tokenizers, and tokenizers derived from the demo one (their JSON is in the golden). */
    static final List<String> ALL =
            List.of("qwen3", "llama3", "llama3_1", "demo", "corpus_trained", "variant_a", "variant_b");
    /** The demo golden was recorded for this vocabulary size of the demo corpus. */
    static final int DEMO_VOCAB_SIZE = 1024;
    /** The corpus_trained golden: the test corpus (lines joined by newlines) trained to this size. */
    static final int CORPUS_VOCAB_SIZE = 700;
    static final List<String> CORPUS_SPECIAL_TOKENS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, JsonNode> GOLDENS = new ConcurrentHashMap<>();
    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    private HfGoldens() {
    }

    static JsonNode golden(String name) {
        return GOLDENS.computeIfAbsent(name, n -> {
            try (InputStream in = HfGoldens.class.getResourceAsStream("/golden/" + n + ".json")) {
                return JSON.readTree(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The directory holding tokenizer.json and tokenizer_config.json of a real tokenizer. */
    static Path realDirectory(String name) {
        String root = System.getProperty("splitserve.hfTokenizers", "target/hf-tokenizers");
        Path directory = Path.of(root, name);
        assertTrue(Files.isRegularFile(directory.resolve("tokenizer.json")),
                "missing " + directory + "/tokenizer.json: run the Maven build (it fetches the files with npm)");
        return directory;
    }

    static Tokenizer tokenizer(String name) {
        return TOKENIZERS.computeIfAbsent(name, n -> {
            try {
                if ("demo".equals(n)) {
                    return Tokenizer.fromJson(demoTokenizerJson());
                }
                if ("corpus_trained".equals(n)) {
                    return Tokenizer.fromJson(corpusTrainedTokenizerJson());
                }
                if (golden(n).has("tokenizer_json")) {
                    return Tokenizer.fromJson(golden(n).get("tokenizer_json").toString());
                }
                return Tokenizer.load(realDirectory(n).resolve("tokenizer.json"));
            } catch (TokenizerException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    static String demoTokenizerJson() {
        return BpeTrainer.trainTokenizerJson(BpeTrainer.demoCorpus(), DEMO_VOCAB_SIZE, BpeTrainer.DEMO_SPECIAL_TOKENS);
    }

    static String corpusTrainedTokenizerJson() {
        return BpeTrainer.trainTokenizerJson(String.join("\n", corpus()), CORPUS_VOCAB_SIZE, CORPUS_SPECIAL_TOKENS);
    }

    static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    static List<String> corpus() {
        try {
            List<String> lines = new ArrayList<>();
            Path path = Path.of(HfGoldens.class.getResource("/corpus.jsonl").toURI());
            for (String line : Files.readAllLines(path)) {
                if (!line.isBlank()) {
                    lines.add(JSON.readTree(line).get("text").asText());
                }
            }
            return lines;
        } catch (IOException | java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
