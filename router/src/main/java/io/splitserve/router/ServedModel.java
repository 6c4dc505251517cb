package io.splitserve.router;

import io.splitserve.model.GenerationConfig;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.tokenizer.ChatTemplate;
import io.splitserve.tokenizer.Tokenizer;
import io.splitserve.tokenizer.TokenizerException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What the router needs to know about the model it serves, without its weights: the name clients use, the
 * tokenizer, the chat template (if the checkpoint has one), the end-of-sequence ids and the context length.
 */
public final class ServedModel {
    private final String name;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final int[] stopTokenIds;
    private final int contextLength;

    private ServedModel(String name, Tokenizer tokenizer, ChatTemplate chatTemplate, int[] stopTokenIds,
                        int contextLength) {
        this.name = name;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.stopTokenIds = stopTokenIds;
        this.contextLength = contextLength;
    }

    /** Loads config.json, generation_config.json, tokenizer.json and tokenizer_config.json (for its chat template). */
    public static ServedModel load(Path modelDir, String name) throws ModelLoadException, TokenizerException {
        final ModelConfig config = ModelConfig.load(modelDir);
        final GenerationConfig generation = GenerationConfig.load(modelDir);
        final Tokenizer tokenizer = Tokenizer.load(modelDir.resolve("tokenizer.json"));
        final Path tokenizerConfig = modelDir.resolve("tokenizer_config.json");
        ChatTemplate template = null;
        if (Files.isRegularFile(tokenizerConfig)) {
            try {
                template = ChatTemplate.load(tokenizerConfig);
            } catch (TokenizerException e) {
                template = null; // a checkpoint without a chat template still serves completions
            }
        }
        final Set<Integer> stops = new LinkedHashSet<>();
        for (int id : config.eosTokenIds()) {
            stops.add(id);
        }
        for (int id : generation.eosTokenIds()) {
            stops.add(id);
        }
        return new ServedModel(name == null ? modelDir.getFileName().toString() : name, tokenizer, template,
                stops.stream().mapToInt(Integer::intValue).toArray(), config.maxPositionEmbeddings());
    }

    public String name() {
        return name;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Null when the checkpoint has none; chat requests are then refused. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    public int contextLength() {
        return contextLength;
    }
}
