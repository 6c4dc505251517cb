package io.splitserve.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.engine.generate.GenerationRequest;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.engine.generate.TextGenerator;
import io.splitserve.model.GenerationConfig;
import io.splitserve.model.SamplingParams;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.tokenizer.ChatMessage;
import io.splitserve.tokenizer.ChatTemplate;
import io.splitserve.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code splitserve generate}: one prompt through the local engine, text streamed as it is generated. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
        "Generate a continuation of one prompt on this machine (CPU or CUDA backend) and stream it to standard output.",
        "Without --model the built-in demo model is used: its weights are random, so its output is gibberish."})
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
        description = "Hugging Face model directory (config.json, *.safetensors, tokenizer.json). Default: the demo model.")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt text.")
    String prompt;

    @Option(names = "--prompt-tokens", paramLabel = "IDS", split = ",",
        description = "The prompt as comma-separated token ids (bypasses the tokenizer and the chat template).")
    int[] promptTokens;

    @Option(names = "--chat", description = "Wrap the prompt as a user message in the model's chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message for --chat.")
    String system;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "128",
        description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T",
        description = "Sampling temperature; 0 is greedy. Default: the model's generation_config.json, else 0.")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most likely tokens (0 = off).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling: smallest set with mass >= P (1 = off).")
    Double topP;

    @Option(names = "--min-p", paramLabel = "P", description = "Drop tokens below P times the top probability (0 = off).")
    Double minP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", paramLabel = "STR", description = "Stop when this text appears (repeatable); it is not printed.")
    List<String> stop = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "Do not stop at the model's end-of-sequence tokens.")
    boolean ignoreEos;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16",
        description = "KV cache page size in tokens (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--backend", paramLabel = "cpu|cuda|auto", defaultValue = "cpu",
        description = "Where the forward pass runs; auto picks CUDA when a GPU and the kernels are present and says which"
            + " it picked (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--mem-fraction", paramLabel = "F", defaultValue = "0.85",
        description = "CUDA: share of the GPU memory free after weights and work buffers given to the KV cache"
            + " (default: ${DEFAULT-VALUE}).")
    double memFraction;

    @Option(names = "--json", description = "Print one JSON object at the end (ids, text, finish_reason, timings) instead of streaming text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if ((prompt == null) == (promptTokens == null)) {
            throw new ParameterException(spec.commandLine(), "give exactly one of --prompt and --prompt-tokens");
        }
        if (chat && prompt == null) {
            throw new ParameterException(spec.commandLine(), "--chat needs --prompt");
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Path dir = model;
        if (dir == null) {
            dir = DemoModel.ensure(DemoModel.defaultLocation());
            if (!json) {
                System.err.println("(built-in demo model at " + dir + ": random weights, so the text is gibberish;"
                    + " use --model DIR for a real checkpoint)");
            }
        }
        EngineOptions options = engineOptions();
        try (Engine engine = Engine.load(dir, options)) {
            if (options.backend() != Backend.CPU) {
                System.err.println("(backend: " + engine.backend() + ")");
            }
            Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
            int[] ids = promptIds(dir, tokenizer);
            GenerationRequest request = new GenerationRequest(
                ids, sampling(engine.generationConfig()), maxTokens, stop, stopTokens(engine));
            TextGenerator generator = new TextGenerator(engine, tokenizer);
            GenerationResult result = generator.generate(request, piece -> {
                if (!json) {
                    out.print(piece);
                    out.flush();
                }
            });
            if (json) {
                out.println(toJson(result));
            } else {
                out.println();
            }
        }
        return 0;
    }

    /** The engine's options from the flags; a bad backend name or memory fraction is a usage error. */
    private EngineOptions engineOptions() {
        EngineOptions options;
        try {
            options = new EngineOptions().pageSize(pageSize).backend(Backend.parse(backend)).memFraction(memFraction);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (options.backend() == Backend.CUDA) {
            String unavailable = CudaDevice.unavailableReason();
            if (unavailable != null) {
                throw new IllegalArgumentException("--backend cuda: " + unavailable);
            }
        }
        return options;
    }

    private int[] promptIds(Path dir, Tokenizer tokenizer) throws Exception {
        if (promptTokens != null) {
            return promptTokens;
        }
        if (!chat) {
            return tokenizer.encode(prompt, true);
        }
        ChatTemplate template = ChatTemplate.load(dir.resolve("tokenizer_config.json"));
        List<ChatMessage> messages = new ArrayList<>();
        if (system != null) {
            messages.add(new ChatMessage("system", system));
        }
        messages.add(new ChatMessage("user", prompt));
        return tokenizer.encode(template.render(messages, true), false);
    }

    private SamplingParams sampling(GenerationConfig defaults) {
        double t = temperature != null ? temperature : defaults.doSample() ? defaults.temperature() : 0.0;
        int k = topK != null ? topK : defaults.doSample() ? defaults.topK() : 0;
        double p = topP != null ? topP : defaults.doSample() ? defaults.topP() : 1.0;
        double m = minP != null ? minP : defaults.doSample() ? defaults.minP() : 0.0;
        return new SamplingParams(t, k, p, m, seed);
    }

    private int[] stopTokens(Engine engine) {
        return ignoreEos ? new int[0] : engine.stopTokenIds();
    }

    private static String toJson(GenerationResult result) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.set("prompt_tokens", mapper.valueToTree(result.promptTokens()));
        root.set("tokens", mapper.valueToTree(result.tokens()));
        root.put("text", result.text());
        root.put("finish_reason", result.finishReason().apiName());
        ObjectNode timings = root.putObject("timings");
        timings.put("time_to_first_token_ms", result.timeToFirstTokenNanos() / 1e6);
        timings.put("decode_ms", result.decodeNanos() / 1e6);
        timings.put("prompt_tokens_per_s", result.promptTokensPerSecond());
        timings.put("decode_tokens_per_s", result.decodeTokensPerSecond());
        return root.toString();
    }
}
