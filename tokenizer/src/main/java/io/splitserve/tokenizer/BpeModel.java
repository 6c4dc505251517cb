package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code model} of type BPE: turns one pre-tokenized piece into ids by applying merges lowest rank first,
 * leftmost first among equal ranks, exactly as Hugging Face's BPE does. Results are cached per piece (bounded), so
 * running text costs one map lookup per frequent word; one piece costs O(n log n) in its length.
 */
final class BpeModel {
    private static final int CACHE_CAPACITY = 10_000;
    /** Longer pieces (long runs of letters or digits) are rarely repeated: caching them would only hold memory. */
    private static final int CACHED_PIECE_MAX_LENGTH = 256;
    private static final int[] NO_IDS = new int[0];

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final MergeTable merges;
    private final boolean ignoreMerges;
    private final boolean byteFallback;
    private final String continuingSubwordPrefix;
    private final String endOfWordSuffix;
    private final int unkId;
    private final boolean fuseUnk;
    /** Ids of single-character tokens for characters below 512, when no prefix or suffix changes them. */
    private final int[] smallCharIds;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeModel(Map<String, Integer> vocab, String[] idToToken, MergeTable merges, boolean ignoreMerges,
                     boolean byteFallback, String continuingSubwordPrefix, String endOfWordSuffix, int unkId,
                     boolean fuseUnk) {
        this.vocab = vocab;
        this.idToToken = idToToken;
        this.merges = merges;
        this.ignoreMerges = ignoreMerges;
        this.byteFallback = byteFallback;
        this.continuingSubwordPrefix = continuingSubwordPrefix;
        this.endOfWordSuffix = endOfWordSuffix;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        if (continuingSubwordPrefix.isEmpty() && endOfWordSuffix.isEmpty()) {
            smallCharIds = new int[512];
            for (int c = 0; c < smallCharIds.length; c++) {
                smallCharIds[c] = vocab.getOrDefault(String.valueOf((char) c), -1);
            }
        } else {
            smallCharIds = null;
        }
    }

    static BpeModel fromJson(JsonNode model) throws TokenizerException {
        String type = model.path("type").asText("BPE");
        if (!"BPE".equals(type)) {
            throw new TokenizerException("tokenizer.json: unsupported model type '" + type + "' (only BPE is supported)");
        }
        JsonNode vocabNode = model.get("vocab");
        if (vocabNode == null || !vocabNode.isObject()) {
            throw new TokenizerException("tokenizer.json: model.vocab is missing or not an object");
        }
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (!entry.getValue().canConvertToInt() || entry.getValue().asInt() < 0) {
                throw new TokenizerException("tokenizer.json: model.vocab['" + entry.getKey() + "'] is not a token id");
            }
            int id = entry.getValue().asInt();
            vocab.put(entry.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        String[] idToToken = new String[maxId + 1];
        vocab.forEach((token, id) -> idToToken[id] = token);

        String prefix = textOrEmpty(model.get("continuing_subword_prefix"));
        JsonNode mergesNode = model.path("merges");
        MergeTable merges = new MergeTable(Math.max(1, mergesNode.size()));
        int rank = 0;
        for (JsonNode merge : mergesNode) {
            String left;
            String right;
            if (merge.isArray() && merge.size() == 2) {
                left = merge.get(0).asText();
                right = merge.get(1).asText();
            } else if (merge.isTextual() && merge.asText().indexOf(' ') > 0
                    && merge.asText().indexOf(' ') == merge.asText().lastIndexOf(' ')) {
                String text = merge.asText();
                left = text.substring(0, text.indexOf(' '));
                right = text.substring(text.indexOf(' ') + 1);
            } else {
                throw new TokenizerException("tokenizer.json: merge #" + rank + " is neither \"a b\" nor [a, b]: " + merge);
            }
            Integer leftId = vocab.get(left);
            Integer rightId = vocab.get(right);
            String mergedToken = left + (right.startsWith(prefix) ? right.substring(prefix.length()) : right);
            Integer mergedId = vocab.get(mergedToken);
            if (leftId == null || rightId == null || mergedId == null) {
                throw new TokenizerException("tokenizer.json: merge #" + rank + " (" + left + " " + right
                        + ") uses a token missing from model.vocab");
            }
            merges.put(leftId, rightId, rank, mergedId);
            rank++;
        }
        int unkId = -1;
        JsonNode unk = model.get("unk_token");
        if (unk != null && !unk.isNull()) {
            Integer id = vocab.get(unk.asText());
            if (id == null) {
                throw new TokenizerException("tokenizer.json: model.unk_token '" + unk.asText() + "' is not in model.vocab");
            }
            unkId = id;
        }
        return new BpeModel(vocab, idToToken, merges, model.path("ignore_merges").asBoolean(false),
                model.path("byte_fallback").asBoolean(false), prefix, textOrEmpty(model.get("end_of_word_suffix")),
                unkId, model.path("fuse_unk").asBoolean(false));
    }

    private static String textOrEmpty(JsonNode node) {
        return node == null || node.isNull() ? "" : node.asText();
    }

    int highestId() {
        return idToToken.length - 1;
    }

    int tokenToId(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** The ids of one pre-tokenized piece; the returned array is shared and must not be modified. */
    int[] encodePiece(String piece) {
        int[] cached = cache.get(piece);
        if (cached != null) {
            return cached;
        }
        int[] ids = computePiece(piece);
        if (piece.length() <= CACHED_PIECE_MAX_LENGTH && cache.size() < CACHE_CAPACITY) {
            cache.put(piece, ids);
        }
        return ids;
    }

    private int[] computePiece(String piece) {
        if (ignoreMerges) {
            Integer whole = vocab.get(piece);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] symbols = initialSymbols(piece);
        int count = symbols.length;
        if (count < 2) {
            return count == 0 ? NO_IDS : symbols;
        }
        int[] next = new int[count];
        int[] prev = new int[count];
        for (int i = 0; i < count; i++) {
            next[i] = i + 1 < count ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // min-heap of (rank << 32 | position): lowest rank first, then leftmost, as HF orders its merge queue
        long[] heap = new long[count * 2];
        int heapSize = 0;
        for (int i = 0; i + 1 < count; i++) {
            long rule = merges.get(symbols[i], symbols[i + 1]);
            if (rule != MergeTable.ABSENT) {
                heapSize = heapPush(heap, heapSize, ((long) MergeTable.rankOf(rule) << 32) | i);
                if (heapSize == heap.length) {
                    heap = java.util.Arrays.copyOf(heap, heap.length * 2);
                }
            }
        }
        int alive = count;
        while (heapSize > 0) {
            long top = heap[0];
            heapSize = heapPop(heap, heapSize);
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            int right = next[pos];
            if (symbols[pos] < 0 || right < 0) {
                continue;
            }
            long rule = merges.get(symbols[pos], symbols[right]);
            if (rule == MergeTable.ABSENT || MergeTable.rankOf(rule) != rank) {
                continue; // a neighbour changed since this pair was queued
            }
            symbols[pos] = MergeTable.mergedIdOf(rule);
            symbols[right] = -1;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            alive--;
            if (heapSize + 2 >= heap.length) {
                heap = java.util.Arrays.copyOf(heap, heap.length * 2);
            }
            if (prev[pos] >= 0) {
                long left = merges.get(symbols[prev[pos]], symbols[pos]);
                if (left != MergeTable.ABSENT) {
                    heapSize = heapPush(heap, heapSize, ((long) MergeTable.rankOf(left) << 32) | prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                long after = merges.get(symbols[pos], symbols[next[pos]]);
                if (after != MergeTable.ABSENT) {
                    heapSize = heapPush(heap, heapSize, ((long) MergeTable.rankOf(after) << 32) | pos);
                }
            }
        }
        int[] ids = new int[alive];
        int n = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            ids[n++] = symbols[i];
        }
        return ids;
    }

    /** One symbol per character (with prefix/suffix applied), byte fallback or unk for characters not in vocab. */
    private int[] initialSymbols(String piece) {
        int[] symbols = new int[piece.length() * (byteFallback ? 4 : 1)];
        int count = 0;
        boolean lastWasUnk = false;
        for (int i = 0; i < piece.length(); ) {
            int cp = piece.codePointAt(i);
            int end = i + Character.charCount(cp);
            int id;
            if (smallCharIds != null && cp < smallCharIds.length) {
                id = smallCharIds[cp];
            } else {
                StringBuilder token = new StringBuilder();
                if (i > 0) {
                    token.append(continuingSubwordPrefix);
                }
                token.appendCodePoint(cp);
                if (end == piece.length()) {
                    token.append(endOfWordSuffix);
                }
                id = tokenToId(token.toString());
            }
            int filled = id < 0 && byteFallback ? byteFallback(piece.substring(i, end), symbols, count) : count;
            if (id >= 0) {
                symbols[count++] = id;
                lastWasUnk = false;
            } else if (filled > count) {
                count = filled;
                lastWasUnk = false;
            } else if (unkId >= 0) {
                if (!(fuseUnk && lastWasUnk)) {
                    symbols[count++] = unkId;
                }
                lastWasUnk = true;
            }
            i = end;
        }
        return count == symbols.length ? symbols : java.util.Arrays.copyOf(symbols, count);
    }

    /** Writes {@code <0xXX>} ids for the character's bytes; returns the new count, or {@code count} if one is missing. */
    private int byteFallback(String character, int[] symbols, int count) {
        byte[] bytes = character.getBytes(StandardCharsets.UTF_8);
        int n = count;
        for (byte b : bytes) {
            int id = tokenToId(String.format("<0x%02X>", b & 0xFF));
            if (id < 0) {
                return count;
            }
            symbols[n++] = id;
        }
        return n;
    }

    private static int heapPush(long[] heap, int size, long value) {
        int i = size;
        heap[i] = value;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= heap[i]) {
                break;
            }
            long t = heap[parent];
            heap[parent] = heap[i];
            heap[i] = t;
            i = parent;
        }
        return size + 1;
    }

    private static int heapPop(long[] heap, int size) {
        int last = size - 1;
        heap[0] = heap[last];
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            if (l >= last) {
                break;
            }
            int r = l + 1;
            int m = r < last && heap[r] < heap[l] ? r : l;
            if (heap[i] <= heap[m]) {
                break;
            }
            long t = heap[m];
            heap[m] = heap[i];
            heap[i] = t;
            i = m;
        }
        return last;
    }
}
