package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chat templates render exactly as transformers' apply_chat_template(tokenize=False) rendered them. */
class ChatTemplateTest {
    static final List<String> REAL = HfGoldens.REAL;

    @ParameterizedTest(name = "{0}")
    @FieldSource("REAL")
    void realTemplatesRenderAsTransformers(String name) throws TokenizerException {
        ChatTemplate template = ChatTemplate.load(HfGoldens.realDirectory(name).resolve("tokenizer_config.json"));
        assertRendersAsGolden(template, HfGoldens.golden(name).get("chat"));
    }

    @Test
    void demoTemplateRendersAsTransformers(@TempDir Path dir) throws IOException, TokenizerException {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, BpeTrainer.demoTokenizerConfigJson());
        assertRendersAsGolden(ChatTemplate.load(config), HfGoldens.golden("demo").get("chat"));
    }

    /** A template written to use namespace, reversed slices, string methods, tojson, tests and loop variables. */
    @Test
    void jinjaFeaturesRenderAsTransformers() throws IOException {
        String feature = new String(ChatTemplateTest.class.getResourceAsStream("/feature_chat_template.jinja")
                .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        JsonNode context = HfGoldens.golden("qwen3").get("chat_context");
        ChatTemplate template = ChatTemplate.of(feature, context.get("bos_token").asText(null),
                context.get("eos_token").asText(null));
        assertRendersAsGolden(template, HfGoldens.golden("qwen3").get("feature_chat"));
    }

    @Test
    void raiseExceptionBecomesAOneLineError() {
        ChatTemplate template = ChatTemplate.of("{% if messages[0].role != 'user' %}"
                + "{{ raise_exception('Conversation must start with a user message') }}{% endif %}ok", null, null);
        assertEquals("ok", template.render(List.of(new ChatMessage("user", "hi")), false));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> template.render(List.of(new ChatMessage("assistant", "hi")), false));
        assertEquals("chat template rejected the conversation: Conversation must start with a user message",
                error.getMessage());
    }

    @Test
    void configWithoutChatTemplateIsAClearError(@TempDir Path dir) throws IOException {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"eos_token\": \"</s>\"}");
        TokenizerException error = assertThrows(TokenizerException.class, () -> ChatTemplate.load(config));
        assertTrue(error.getMessage().contains("has no chat_template"), error.getMessage());
        TokenizerException missing = assertThrows(TokenizerException.class,
                () -> ChatTemplate.load(dir.resolve("absent.json")));
        assertTrue(missing.getMessage().startsWith("tokenizer config not found"), missing.getMessage());
    }

    @Test
    void templateFileBesideTheConfigIsUsedWhenTheConfigHasNone(@TempDir Path dir) throws IOException, TokenizerException {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"bos_token\": {\"content\": \"<s>\"}, \"eos_token\": \"</s>\"}");
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}");
        ChatTemplate template = ChatTemplate.load(config);
        assertEquals("<s>hi", template.render(List.of(new ChatMessage("user", "hi")), false));
        assertEquals("</s>", template.eosToken());
    }

    /** One parsed template serves renders from several threads at once. */
    @Test
    void rendersConcurrently() throws Exception {
        ChatTemplate template = ChatTemplate.load(HfGoldens.realDirectory("qwen3").resolve("tokenizer_config.json"));
        List<ChatMessage> messages = List.of(new ChatMessage("system", "s"), new ChatMessage("user", "u"));
        String expected = template.render(messages, true);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                results.add(pool.submit(() -> expected.equals(template.render(messages, true))));
            }
            for (java.util.concurrent.Future<Boolean> result : results) {
                assertTrue(result.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void strftimeNowFormatsPythonDirectives() {
        assertEquals("05 Mar 2026 14:07:09 Thursday 064 PM %",
                TemplateFunctions.strftime(java.time.LocalDateTime.of(2026, 3, 5, 14, 7, 9), "%d %b %Y %H:%M:%S %A %j %p %%"));
        String today = ChatTemplate.of("{{ strftime_now('%Y-%m-%d') }}", null, null).render(List.of(), false);
        assertEquals(java.time.LocalDate.now().toString(), today);
    }

    private static void assertRendersAsGolden(ChatTemplate template, JsonNode rows) {
        List<String> mismatches = new ArrayList<>();
        for (JsonNode row : rows) {
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode message : row.get("messages")) {
                messages.add(new ChatMessage(message.get("role").asText(), message.get("content").asText()));
            }
            Map<String, Object> variables = new LinkedHashMap<>();
            row.get("kwargs").fields().forEachRemaining(e -> variables.put(e.getKey(),
                    e.getValue().isBoolean() ? e.getValue().asBoolean() : e.getValue().asText()));
            boolean generationPrompt = row.get("add_generation_prompt").asBoolean();
            String rendered = template.render(messages, generationPrompt, variables);
            String expected = row.get("rendered").asText();
            if (!expected.equals(rendered)) {
                mismatches.add("conversation " + row.get("conversation") + " generation prompt " + generationPrompt
                        + " " + variables + ":\nexpected " + HfEquivalenceTest.quote(expected, 100000)
                        + "\n     got " + HfEquivalenceTest.quote(rendered, 100000));
            }
        }
        assertTrue(rows.size() >= 10, "golden holds the conversations");
        assertTrue(mismatches.isEmpty(), mismatches.size() + " of " + rows.size() + " differ:\n"
                + String.join("\n", mismatches.subList(0, Math.min(3, mismatches.size()))));
    }
}
