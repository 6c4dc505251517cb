package io.splitserve.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Hugging Face {@code tokenizer.json} byte-level BPE tokenizer (Llama 3, Qwen2/2.5, Qwen3 and the demo model).
 * Encoding runs the same stages as Hugging Face {@code tokenizers} in the same order: added tokens are cut out of
 * the raw text, each remaining span is normalized, pre-tokenized (Split regex, ByteLevel) and BPE-encoded, and the
 * post-processor adds special tokens on request; decoding maps ids back to bytes and replaces invalid UTF-8 as HF
 * does. Given the same file, ids and text equal HF's. Instances are immutable and safe to share between threads.
 */
public final class Tokenizer {
    private static final byte[] NO_BYTES = new byte[0];

    private final AddedVocabulary added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final BpeModel model;
    private final PostProcessor postProcessor;
    /** Bytes each id decodes to (null for unused ids); added tokens take precedence over model tokens. */
    private final byte[][] tokenBytes;

    private Tokenizer(AddedVocabulary added, Normalizer normalizer, PreTokenizer preTokenizer, BpeModel model,
                      PostProcessor postProcessor) {
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.postProcessor = postProcessor;
        this.tokenBytes = new byte[Math.max(model.highestId(), added.highestId()) + 1][];
        for (int id = 0; id < tokenBytes.length; id++) {
            String token = idToToken(id);
            tokenBytes[id] = token == null ? null : ByteLevelAlphabet.decodeToken(token);
        }
    }

    /** Reads a tokenizer.json file (and nothing else). */
    public static Tokenizer load(Path tokenizerJson) throws TokenizerException {
        String text;
        try {
            text = Files.readString(tokenizerJson);
        } catch (NoSuchFileException e) {
            throw new TokenizerException("tokenizer file not found: " + tokenizerJson);
        } catch (IOException e) {
            throw new TokenizerException("cannot read tokenizer file " + tokenizerJson + ": " + e.getMessage());
        }
        return fromJson(text);
    }

    public static Tokenizer fromJson(String tokenizerJson) throws TokenizerException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(tokenizerJson);
        } catch (JsonProcessingException e) {
            throw new TokenizerException("tokenizer.json is not valid JSON (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerException("tokenizer.json must hold a JSON object");
        }
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw new TokenizerException("tokenizer.json has no model section");
        }
        JsonNode decoder = root.get("decoder");
        String decoderType = decoder == null || decoder.isNull() ? "none" : decoder.path("type").asText("");
        if (!"ByteLevel".equals(decoderType)) {
            throw new TokenizerException("tokenizer.json: unsupported decoder '" + decoderType
                    + "' (only byte-level BPE tokenizers with a ByteLevel decoder are supported)");
        }
        return new Tokenizer(AddedVocabulary.fromJson(root.get("added_tokens")),
                Normalizer.fromJson(root.get("normalizer")), PreTokenizer.fromJson(root.get("pre_tokenizer")),
                BpeModel.fromJson(model), PostProcessor.fromJson(root.get("post_processor")));
    }

    /**
     * Encodes text; added and special tokens written in the text become their ids. {@code addSpecialTokens}
     * applies the post-processor (for Llama 3.1 a leading {@code <|begin_of_text|>}).
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        IdBuffer ids = new IdBuffer(Math.max(16, text.length() / 3));
        AddedVocabulary.Sink normalizedSink = new AddedVocabulary.Sink() {
            @Override
            public void text(String span) {
                for (String piece : preTokenizer.apply(java.util.List.of(span))) {
                    ids.addAll(model.encodePiece(piece));
                }
            }

            @Override
            public void token(int id) {
                ids.add(id);
            }
        };
        added.split(text, false, new AddedVocabulary.Sink() {
            @Override
            public void text(String span) {
                added.split(normalizer.normalize(span), true, normalizedSink);
            }

            @Override
            public void token(int id) {
                ids.add(id);
            }
        });
        int[] result = ids.toArray();
        return addSpecialTokens ? postProcessor.process(result) : result;
    }

    /** Decodes ids to text; unknown ids are ignored and invalid UTF-8 becomes U+FFFD, as Hugging Face does. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        byte[] bytes = new byte[ids.length * 4];
        int n = 0;
        for (int id : ids) {
            byte[] token = bytesOf(id, skipSpecialTokens);
            if (n + token.length > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, n + token.length));
            }
            System.arraycopy(token, 0, bytes, n, token.length);
            n += token.length;
        }
        return Utf8Lossy.decode(bytes, n);
    }

    /** The bytes one id contributes to decoded text (none for unknown ids and, when skipped, special tokens). */
    byte[] bytesOf(int id, boolean skipSpecialTokens) {
        if (id < 0 || id >= tokenBytes.length || tokenBytes[id] == null || (skipSpecialTokens && added.isSpecial(id))) {
            return NO_BYTES;
        }
        return tokenBytes[id];
    }

    /** Highest id + 1, added tokens included. */
    public int vocabSize() {
        return tokenBytes.length;
    }

    /** The id of a vocabulary or added token (its exact vocabulary spelling), or -1. */
    public int tokenToId(String token) {
        int id = added.tokenToId(token);
        return id >= 0 ? id : model.tokenToId(token);
    }

    /** The vocabulary spelling of an id (byte-level characters for BPE tokens), or null. */
    public String idToToken(int id) {
        String token = added.idToToken(id);
        return token != null ? token : model.idToToken(id);
    }

    /** True for added tokens marked special (those that decode skips on request). */
    public boolean isSpecial(int id) {
        return added.isSpecial(id);
    }

    /** A growable int list for the ids of one encode call. */
    private static final class IdBuffer {
        private int[] ids;
        private int size;

        IdBuffer(int capacity) {
            ids = new int[capacity];
        }

        void add(int id) {
            if (size == ids.length) {
                ids = Arrays.copyOf(ids, ids.length * 2);
            }
            ids[size++] = id;
        }

        void addAll(int[] more) {
            if (size + more.length > ids.length) {
                ids = Arrays.copyOf(ids, Math.max(ids.length * 2, size + more.length));
            }
            System.arraycopy(more, 0, ids, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return Arrays.copyOf(ids, size);
        }
    }
}
