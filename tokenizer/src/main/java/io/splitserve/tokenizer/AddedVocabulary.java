package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code added_tokens} of a tokenizer.json (special tokens such as {@code <|im_start|>} and extra tokens such
 * as {@code <think>}). They are cut out of the text before normalization and BPE, leftmost first and longest
 * first at one position, so a special token's text always becomes its single id. Tokens marked
 * {@code normalized} are matched in normalized text, the others in the raw text, as Hugging Face does.
 */
final class AddedVocabulary {
    /** Receives the text between added tokens and the ids of the tokens themselves, in order. */
    interface Sink {
        void text(String text);

        void token(int id);
    }

    private record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                              boolean singleWord, boolean normalized) {
    }

    private final Map<String, AddedToken> byContent = new HashMap<>();
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    /** Per first character, the tokens starting with it, longest first; one table per match group. */
    private final Map<Character, List<AddedToken>> rawCandidates = new HashMap<>();
    private final Map<Character, List<AddedToken>> normalizedCandidates = new HashMap<>();
    /** First characters of each group's tokens, so most text positions are rejected without a map lookup. */
    private final BitSet rawFirstChars = new BitSet();
    private final BitSet normalizedFirstChars = new BitSet();
    private int highestId = -1;

    static AddedVocabulary fromJson(JsonNode node) throws TokenizerException {
        AddedVocabulary vocabulary = new AddedVocabulary();
        if (node == null || node.isNull()) {
            return vocabulary;
        }
        if (!node.isArray()) {
            throw new TokenizerException("tokenizer.json: added_tokens is not a list");
        }
        for (JsonNode entry : node) {
            JsonNode id = entry.get("id");
            JsonNode content = entry.get("content");
            if (id == null || !id.canConvertToInt() || id.asInt() < 0 || content == null || content.asText().isEmpty()) {
                throw new TokenizerException("tokenizer.json: an added token needs an id and a non-empty content: " + entry);
            }
            vocabulary.add(new AddedToken(id.asInt(), content.asText(), entry.path("special").asBoolean(false),
                    entry.path("lstrip").asBoolean(false), entry.path("rstrip").asBoolean(false),
                    entry.path("single_word").asBoolean(false), entry.path("normalized").asBoolean(false)));
        }
        Comparator<AddedToken> longestFirst = Comparator.comparingInt((AddedToken t) -> -t.content().length());
        vocabulary.rawCandidates.values().forEach(list -> list.sort(longestFirst));
        vocabulary.normalizedCandidates.values().forEach(list -> list.sort(longestFirst));
        return vocabulary;
    }

    private void add(AddedToken token) {
        byContent.put(token.content(), token);
        byId.put(token.id(), token);
        highestId = Math.max(highestId, token.id());
        Map<Character, List<AddedToken>> group = token.normalized() ? normalizedCandidates : rawCandidates;
        group.computeIfAbsent(token.content().charAt(0), c -> new ArrayList<>()).add(token);
        (token.normalized() ? normalizedFirstChars : rawFirstChars).set(token.content().charAt(0));
    }

    int highestId() {
        return highestId;
    }

    int tokenToId(String content) {
        AddedToken token = byContent.get(content);
        return token == null ? -1 : token.id();
    }

    String idToToken(int id) {
        AddedToken token = byId.get(id);
        return token == null ? null : token.content();
    }

    boolean isSpecial(int id) {
        AddedToken token = byId.get(id);
        return token != null && token.special();
    }

    /**
     * Cuts {@code text} at the added tokens of one group: those matched in raw text ({@code normalizedGroup}
     * false) or those matched after normalization (true).
     */
    void split(String text, boolean normalizedGroup, Sink sink) {
        Map<Character, List<AddedToken>> candidates = normalizedGroup ? normalizedCandidates : rawCandidates;
        BitSet firstChars = normalizedGroup ? normalizedFirstChars : rawFirstChars;
        if (candidates.isEmpty()) {
            if (!text.isEmpty()) {
                sink.text(text);
            }
            return;
        }
        int emitted = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken match = firstChars.get(text.charAt(i)) ? longestAt(candidates, text, i) : null;
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = i + match.content().length();
            if (match.singleWord() && !(isWordBoundary(text, start - 1) && isWordBoundary(text, stop))) {
                i = stop;
                continue;
            }
            if (match.lstrip()) {
                while (start > emitted && isWhiteSpace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (match.rstrip()) {
                while (stop < text.length() && isWhiteSpace(text.charAt(stop))) {
                    stop++;
                }
            }
            if (start > emitted) {
                sink.text(text.substring(emitted, start));
            }
            sink.token(match.id());
            emitted = stop;
            i = stop;
        }
        if (emitted < text.length()) {
            sink.text(text.substring(emitted));
        }
    }

    private static AddedToken longestAt(Map<Character, List<AddedToken>> candidates, String text, int at) {
        List<AddedToken> tokens = candidates.get(text.charAt(at));
        if (tokens != null) {
            for (AddedToken token : tokens) {
                if (text.startsWith(token.content(), at)) {
                    return token;
                }
            }
        }
        return null;
    }

    private static boolean isWordBoundary(String text, int index) {
        return index < 0 || index >= text.length() || !(Character.isLetterOrDigit(text.charAt(index))
                || text.charAt(index) == '_');
    }

    /** Unicode White_Space, the set Rust's {@code char::is_whitespace} uses. */
    static boolean isWhiteSpace(char c) {
        return (c >= 9 && c <= 13) || c == 0x85 || Character.isSpaceChar(c);
    }
}
