package io.splitserve.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Splits text on a Hugging Face pre-tokenizer regex with one of the HF split behaviors. HF compiles these patterns
 * with Oniguruma in Unicode mode, where {@code \s}, {@code \w} and {@code \d} are Unicode classes and {@code (?i)}
 * folds Unicode case; Java gives the same meaning with {@link Pattern#UNICODE_CHARACTER_CLASS}.
 */
final class RegexSplitter {
    enum Behavior {
        REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

        static Behavior fromJson(String name) throws TokenizerException {
            switch (name) {
                case "Removed": return REMOVED;
                case "Isolated": return ISOLATED;
                case "MergedWithPrevious": return MERGED_WITH_PREVIOUS;
                case "MergedWithNext": return MERGED_WITH_NEXT;
                case "Contiguous": return CONTIGUOUS;
                default: throw new TokenizerException("tokenizer.json: unknown Split behavior '" + name + "'");
            }
        }
    }

    private final Pattern pattern;
    private final Behavior behavior;
    private final boolean invert;

    RegexSplitter(Pattern pattern, Behavior behavior, boolean invert) {
        this.pattern = pattern;
        this.behavior = behavior;
        this.invert = invert;
    }

    static Pattern compile(String hfRegex) throws TokenizerException {
        try {
            return Pattern.compile(hfRegex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new TokenizerException("tokenizer.json: invalid Split regex: " + e.getDescription());
        }
    }

    /** Appends the non-empty pieces of {@code text} to {@code out}. */
    void split(String text, List<String> out) {
        Sink sink = new Sink(out);
        Matcher matcher = pattern.matcher(text);
        int last = 0;
        while (matcher.find()) {
            if (matcher.start() == matcher.end()) {
                continue;
            }
            if (matcher.start() > last) {
                sink.accept(text.substring(last, matcher.start()), invert);
            }
            sink.accept(text.substring(matcher.start(), matcher.end()), !invert);
            last = matcher.end();
        }
        if (last < text.length()) {
            sink.accept(text.substring(last), invert);
        }
        sink.finish();
    }

    /** Joins delimiter segments to their neighbours as the behavior says; one per split call. */
    private final class Sink {
        private final List<String> out;
        private final int floor;
        private boolean lastWasDelimiter;
        private String pendingPrefix;

        Sink(List<String> out) {
            this.out = out;
            this.floor = out.size();
        }

        void accept(String segment, boolean delimiter) {
            switch (behavior) {
                case ISOLATED:
                    out.add(segment);
                    break;
                case REMOVED:
                    if (!delimiter) {
                        out.add(segment);
                    }
                    break;
                case MERGED_WITH_PREVIOUS:
                    if (delimiter && out.size() > floor) {
                        appendToLast(segment);
                    } else {
                        out.add(segment);
                    }
                    break;
                case MERGED_WITH_NEXT:
                    if (delimiter) {
                        pendingPrefix = pendingPrefix == null ? segment : pendingPrefix + segment;
                    } else {
                        out.add(pendingPrefix == null ? segment : pendingPrefix + segment);
                        pendingPrefix = null;
                    }
                    break;
                case CONTIGUOUS:
                    if (delimiter && lastWasDelimiter) {
                        appendToLast(segment);
                    } else {
                        out.add(segment);
                    }
                    break;
                default:
                    throw new IllegalStateException(behavior.name());
            }
            lastWasDelimiter = delimiter;
        }

        void finish() {
            if (pendingPrefix != null) {
                out.add(pendingPrefix);
            }
        }

        private void appendToLast(String segment) {
            out.set(out.size() - 1, out.get(out.size() - 1) + segment);
        }
    }
}
