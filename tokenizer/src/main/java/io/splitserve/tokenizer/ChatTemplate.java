package io.splitserve.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import jinjava.javax.el.CompositeELResolver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template (the Jinja {@code chat_template} of tokenizer_config.json) rendered the way
 * transformers' {@code apply_chat_template(..., tokenize=False)} renders it: same context variables
 * ({@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}), {@code trim_blocks}
 * and {@code lstrip_blocks}, and transformers' globals and filters, with Python string methods available.
 * Instances are immutable and may render from several threads.
 */
public final class ChatTemplate {
    /** Newer transformers versions save the template as its own file next to tokenizer_config.json. */
    private static final String SIBLING_TEMPLATE = "chat_template.jinja";

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    private ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = TemplateRewriter.rewrite(template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethodResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .build())
                .build();
        jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                TemplateFunctions.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                TemplateFunctions.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.ToJsonFilter());
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.LengthFilter());
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.TrimFilter());
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.SliceFilter());
        jinjava.getGlobalContext().registerTag(new TemplateFunctions.GenerationTag());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", TemplateRewriter.PRINT_FUNCTION,
                TemplateFunctions.class, "pyPrint", Object.class));
    }

    /** Reads {@code chat_template}, {@code bos_token} and {@code eos_token} from a tokenizer_config.json. */
    public static ChatTemplate load(Path tokenizerConfigJson) throws TokenizerException {
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(Files.readString(tokenizerConfigJson));
        } catch (NoSuchFileException e) {
            throw new TokenizerException("tokenizer config not found: " + tokenizerConfigJson);
        } catch (JsonProcessingException e) {
            throw new TokenizerException(tokenizerConfigJson + " is not valid JSON (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + tokenizerConfigJson + ": " + e.getMessage());
        }
        if (config == null || !config.isObject()) {
            throw new TokenizerException(tokenizerConfigJson + " must hold a JSON object");
        }
        JsonNode template = config.get("chat_template");
        if (template != null && template.isArray()) {
            template = namedTemplate(template, "default");
        }
        String text = template != null && template.isTextual() ? template.asText() : siblingTemplate(tokenizerConfigJson);
        if (text == null || text.isEmpty()) {
            throw new TokenizerException(tokenizerConfigJson + " has no chat_template (nor is there a "
                    + SIBLING_TEMPLATE + " beside it): this model has no chat format, send a plain prompt instead");
        }
        return of(text, tokenText(config.get("bos_token")), tokenText(config.get("eos_token")));
    }

    private static String siblingTemplate(Path tokenizerConfigJson) throws TokenizerException {
        Path sibling = tokenizerConfigJson.resolveSibling(SIBLING_TEMPLATE);
        if (!Files.isRegularFile(sibling)) {
            return null;
        }
        try {
            return Files.readString(sibling);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + sibling + ": " + e.getMessage());
        }
    }

    private static JsonNode namedTemplate(JsonNode templates, String name) {
        for (JsonNode entry : templates) {
            if (name.equals(entry.path("name").asText())) {
                return entry.get("template");
            }
        }
        return null;
    }

    /** A token in tokenizer_config.json is a string or an object with its text under "content". */
    private static String tokenText(JsonNode token) {
        if (token == null || token.isNull()) {
            return null;
        }
        return token.isObject() ? token.path("content").asText(null) : token.asText();
    }

    public static ChatTemplate of(String jinjaTemplate, String bosToken, String eosToken) {
        return new ChatTemplate(jinjaTemplate, bosToken, eosToken);
    }

    /** The text of the model's beginning-of-sequence token, or null when it has none. */
    public String bosToken() {
        return bosToken;
    }

    /** The text of the model's end-of-sequence token (the end of an assistant turn for chat models), or null. */
    public String eosToken() {
        return eosToken;
    }

    /**
     * Renders the conversation (encode the result with {@code addSpecialTokens=false}: templates that need a
     * beginning-of-sequence token write it themselves, as transformers assumes); {@code addGenerationPrompt} appends the header that starts the assistant's turn.
     *
     * @throws IllegalArgumentException with the template's own one-line message when it rejects the conversation
     *                                  (e.g. roles out of order), or when the template itself is broken
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** As {@link #render(List, boolean)}, with extra template variables (e.g. {@code enable_thinking=false}). */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> variables) {
        List<Map<String, Object>> turns = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            Map<String, Object> turn = new LinkedHashMap<>();
            turn.put("role", message.role());
            turn.put("content", message.content());
            turns.add(turn);
        }
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", turns);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (TemplateFunctions.TemplateRaisedException e) {
            throw new IllegalArgumentException("chat template rejected the conversation: " + e.getMessage());
        }
        for (TemplateError error : result.getErrors()) {
            Throwable cause = error.getException();
            while (cause != null && !(cause instanceof TemplateFunctions.TemplateRaisedException)) {
                cause = cause.getCause();
            }
            if (cause != null) {
                throw new IllegalArgumentException("chat template rejected the conversation: " + cause.getMessage());
            }
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template failed at line " + error.getLineno() + ": "
                        + error.getMessage());
            }
        }
        return result.getOutput();
    }
}
