package io.splitserve.perf.load;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The request-length mixes a load run can draw from: each is a weighted set of classes with a prompt-length and an
 * output-length distribution. Named mixes:
 * <ul>
 *   <li>{@code fixed} (default 600 prompt / 600 output tokens, the classic serving benchmark shape),</li>
 *   <li>{@code chat}: short prompts, long outputs;</li>
 *   <li>{@code summarization}: long prompts, short outputs;</li>
 *   <li>{@code code}: long prompts, very short outputs;</li>
 *   <li>{@code mixed}: long prompts arriving among long generations (70% chat-like, 30% summarization-like), the
 *   shape where a colocated server's prefills stall its running decodes.</li>
 * </ul>
 * A scale factor shrinks every length alike, so the same shapes fit a small CPU model.
 */
public record WorkloadMix(String name, List<LengthClass> classes) {
    /** One class of requests: its share of the mix and its length distributions. */
    public record LengthClass(String name, double weight, LengthDistribution prompt, LengthDistribution output) { }

    public static final List<String> NAMES = List.of("fixed", "chat", "summarization", "code", "mixed");

    private static final LengthClass CHAT = new LengthClass("chat", 1,
            new LengthDistribution(160, 0.6, 16, 1024), new LengthDistribution(320, 0.5, 32, 1024));
    private static final LengthClass SUMMARIZATION = new LengthClass("summarization", 1,
            new LengthDistribution(1500, 0.4, 256, 3000), new LengthDistribution(120, 0.5, 16, 400));
    private static final LengthClass CODE = new LengthClass("code", 1,
            new LengthDistribution(1200, 0.5, 128, 3000), new LengthDistribution(24, 0.6, 4, 128));

    public WorkloadMix {
        if (classes.isEmpty() || classes.stream().anyMatch(c -> c.weight() <= 0)) {
            throw new IllegalArgumentException("a workload mix needs classes of positive weight");
        }
        classes = List.copyOf(classes);
    }

    public static WorkloadMix fixed(int promptTokens, int outputTokens) {
        return new WorkloadMix("fixed", List.of(new LengthClass("fixed", 1,
                LengthDistribution.fixed(promptTokens), LengthDistribution.fixed(outputTokens))));
    }

    /** A named mix; {@code fixed} uses the given lengths. @throws IllegalArgumentException for an unknown name. */
    public static WorkloadMix named(String name, int fixedPromptTokens, int fixedOutputTokens) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "fixed" -> fixed(fixedPromptTokens, fixedOutputTokens);
            case "chat" -> new WorkloadMix("chat", List.of(CHAT));
            case "summarization" -> new WorkloadMix("summarization", List.of(SUMMARIZATION));
            case "code" -> new WorkloadMix("code", List.of(CODE));
            case "mixed" -> new WorkloadMix("mixed", List.of(
                    new LengthClass("chat", 0.7, CHAT.prompt(), CHAT.output()),
                    new LengthClass("summarization", 0.3, SUMMARIZATION.prompt(), SUMMARIZATION.output())));
            default -> throw new IllegalArgumentException("unknown workload '" + name + "'; expected one of "
                    + String.join(", ", NAMES) + ", " + String.join(", ", SharedPrefixWorkload.NAMES) + " or journal:DIR");
        };
    }

    public WorkloadMix scaled(double factor) {
        if (!(factor > 0)) {
            throw new IllegalArgumentException("length scale must be positive, got " + factor);
        }
        return new WorkloadMix(name, classes.stream().map(c -> new LengthClass(c.name(), c.weight(),
                c.prompt().scaled(factor), c.output().scaled(factor))).toList());
    }

    /** Draws a class by weight, then its prompt and output lengths: {@code [promptTokens, outputTokens]}. */
    int[] sample(SplittableRandom random) {
        double total = 0;
        for (LengthClass c : classes) {
            total += c.weight();
        }
        double pick = random.nextDouble() * total;
        LengthClass chosen = classes.get(classes.size() - 1);
        for (LengthClass c : classes) {
            pick -= c.weight();
            if (pick < 0) {
                chosen = c;
                break;
            }
        }
        return new int[] {chosen.prompt().sample(random), chosen.output().sample(random)};
    }

    /** One line for reports, e.g. {@code mixed: chat 70% (prompt ~160, output ~320), ...}. */
    public String describe() {
        double total = 0;
        for (LengthClass c : classes) {
            total += c.weight();
        }
        final StringBuilder s = new StringBuilder(name).append(':');
        for (int i = 0; i < classes.size(); i++) {
            final LengthClass c = classes.get(i);
            s.append(i == 0 ? " " : "; ").append(c.name()).append(' ')
                    .append(Math.round(100 * c.weight() / total)).append("% (prompt ")
                    .append(describe(c.prompt())).append(", output ").append(describe(c.output())).append(')');
        }
        return s.toString();
    }

    private static String describe(LengthDistribution d) {
        return d.sigma() == 0 ? Integer.toString(d.median())
                : "median " + d.median() + " in [" + d.min() + ", " + d.max() + "]";
    }
}
