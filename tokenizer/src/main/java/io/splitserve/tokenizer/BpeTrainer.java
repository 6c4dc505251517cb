package io.splitserve.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Trains a small byte-level BPE vocabulary and writes it as a Hugging Face tokenizer.json (Llama-3-style Split
 * regex and ByteLevel pre-tokenizer, ByteLevel decoder, the 256 byte tokens, the learned merges and the given
 * special tokens as added tokens). It exists to give the built-in demo model a real tokenizer without shipping
 * one. Training is deterministic: the most frequent adjacent pair is merged first, ties going to the pair whose
 * (left, right) spelling sorts first, so the same corpus and size always give the same file text.
 */
public final class BpeTrainer {
    /** The pre-tokenizer regex of Llama 3, also used by the demo tokenizer. */
    public static final String LLAMA3_SPLIT_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Special tokens of the demo model, in id order after the learned vocabulary. */
    public static final List<String> DEMO_SPECIAL_TOKENS =
            List.of("<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>");

    /** Chat template of the demo model: {@code <|role|>\ncontent<|end|>\n} per message. */
    public static final String DEMO_CHAT_TEMPLATE = "{% for message in messages %}"
            + "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

    private static final int BYTE_TOKENS = 256;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private BpeTrainer() {
    }

    /**
     * The tokenizer_config.json of the demo model: its chat template and end token, in the form transformers
     * reads (so the demo directory loads with {@code AutoTokenizer} too).
     */
    public static String demoTokenizerConfigJson() {
        ObjectNode config = JSON.createObjectNode();
        config.putNull("bos_token");
        config.put("eos_token", "<|end|>");
        config.put("pad_token", "<|endoftext|>");
        config.put("chat_template", DEMO_CHAT_TEMPLATE);
        config.put("clean_up_tokenization_spaces", false);
        config.put("model_max_length", 4096);
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        try {
            return JSON.writeValueAsString(config) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The small English corpus shipped for training the demo tokenizer. */
    public static String demoCorpus() {
        try (InputStream in = BpeTrainer.class.getResourceAsStream("demo-corpus.txt")) {
            if (in == null) {
                throw new IllegalStateException("demo-corpus.txt is missing from the tokenizer jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Learns merges from {@code corpus} until the vocabulary (bytes + merges + special tokens) reaches
     * {@code vocabSize} (or every word of the corpus is one token), and returns the tokenizer.json text.
     */
    public static String trainTokenizerJson(String corpus, int vocabSize, List<String> specialTokens) {
        if (new HashSet<>(specialTokens).size() != specialTokens.size() || specialTokens.contains("")) {
            throw new IllegalArgumentException("special tokens must be distinct and non-empty: " + specialTokens);
        }
        if (vocabSize < BYTE_TOKENS + specialTokens.size()) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " is below the 256 byte tokens plus "
                    + specialTokens.size() + " special tokens");
        }
        List<String> tokens = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (int b = 0; b < BYTE_TOKENS; b++) {
            String token = String.valueOf(ByteLevelAlphabet.charOf(b));
            ids.put(token, tokens.size());
            tokens.add(token);
        }
        List<int[]> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (Map.Entry<String, Integer> word : countWords(corpus).entrySet()) {
            String spelled = word.getKey();
            int[] symbols = new int[spelled.length()];
            for (int i = 0; i < symbols.length; i++) {
                symbols[i] = ids.get(String.valueOf(spelled.charAt(i)));
            }
            words.add(symbols);
            counts.add(word.getValue());
        }
        List<String[]> merges = new ArrayList<>();
        int modelSize = vocabSize - specialTokens.size();
        while (tokens.size() < modelSize) {
            long best = bestPair(words, counts, tokens);
            if (best < 0) {
                break;
            }
            int left = (int) (best >>> 32);
            int right = (int) best;
            String merged = tokens.get(left) + tokens.get(right);
            Integer mergedId = ids.get(merged);
            if (mergedId == null) {
                mergedId = tokens.size();
                ids.put(merged, mergedId);
                tokens.add(merged);
            }
            merges.add(new String[] {tokens.get(left), tokens.get(right)});
            for (int w = 0; w < words.size(); w++) {
                words.set(w, applyMerge(words.get(w), left, right, mergedId));
            }
        }
        return toJson(tokens, merges, specialTokens);
    }

    /** Byte-level pre-tokenized words of the corpus with their counts, sorted so iteration order is fixed. */
    private static TreeMap<String, Integer> countWords(String corpus) {
        List<String> pieces = new ArrayList<>();
        try {
            new RegexSplitter(RegexSplitter.compile(LLAMA3_SPLIT_PATTERN), RegexSplitter.Behavior.ISOLATED, false)
                    .split(corpus, pieces);
        } catch (TokenizerException e) {
            throw new IllegalStateException(e);
        }
        TreeMap<String, Integer> counts = new TreeMap<>();
        for (String piece : pieces) {
            counts.merge(ByteLevelAlphabet.encode(piece), 1, Integer::sum);
        }
        return counts;
    }

    /** The most frequent adjacent pair as (left << 32 | right), or -1 when every word is a single token. */
    private static long bestPair(List<int[]> words, List<Integer> counts, List<String> tokens) {
        Map<Long, Integer> pairCounts = new HashMap<>();
        for (int w = 0; w < words.size(); w++) {
            int[] symbols = words.get(w);
            for (int i = 0; i + 1 < symbols.length; i++) {
                pairCounts.merge(((long) symbols[i] << 32) | symbols[i + 1], counts.get(w), Integer::sum);
            }
        }
        long best = -1;
        int bestCount = 0;
        for (Map.Entry<Long, Integer> entry : pairCounts.entrySet()) {
            int count = entry.getValue();
            if (count > bestCount || (count == bestCount && best >= 0 && spellsBefore(entry.getKey(), best, tokens))) {
                best = entry.getKey();
                bestCount = count;
            }
        }
        return best;
    }

    private static boolean spellsBefore(long pair, long other, List<String> tokens) {
        int byLeft = tokens.get((int) (pair >>> 32)).compareTo(tokens.get((int) (other >>> 32)));
        return byLeft != 0 ? byLeft < 0 : tokens.get((int) pair).compareTo(tokens.get((int) other)) < 0;
    }

    private static int[] applyMerge(int[] symbols, int left, int right, int mergedId) {
        int[] out = null;
        int n = 0;
        for (int i = 0; i < symbols.length; i++) {
            if (i + 1 < symbols.length && symbols[i] == left && symbols[i + 1] == right) {
                if (out == null) {
                    out = java.util.Arrays.copyOf(symbols, symbols.length);
                    n = i;
                }
                out[n++] = mergedId;
                i++;
            } else if (out != null) {
                out[n++] = symbols[i];
            }
        }
        return out == null ? symbols : java.util.Arrays.copyOf(out, n);
    }

    private static String toJson(List<String> tokens, List<String[]> merges, List<String> specialTokens) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specialTokens.size(); i++) {
            ObjectNode token = added.addObject();
            token.put("id", tokens.size() + i);
            token.put("content", specialTokens.get(i));
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode preTokenizer = root.putObject("pre_tokenizer");
        preTokenizer.put("type", "Sequence");
        ArrayNode stages = preTokenizer.putArray("pretokenizers");
        ObjectNode split = stages.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", LLAMA3_SPLIT_PATTERN);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        byteLevel(stages.addObject(), false, true, false);
        byteLevel(root.putObject("post_processor"), true, false, true);
        byteLevel(root.putObject("decoder"), true, true, true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < tokens.size(); id++) {
            vocab.put(tokens.get(id), id);
        }
        ArrayNode mergeList = model.putArray("merges");
        for (String[] merge : merges) {
            mergeList.addArray().add(merge[0]).add(merge[1]);
        }
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void byteLevel(ObjectNode node, boolean addPrefixSpace, boolean trimOffsets, boolean useRegex) {
        node.put("type", "ByteLevel");
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", trimOffsets);
        node.put("use_regex", useRegex);
    }
}
