package io.splitserve.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rewrites of Python Jinja syntax, and the Python behaviours templates get when rendered. */
class PythonJinjaCompatibilityTest {
    @Test
    void slicesBecomeFilterCallsOutsideStringsAndText() {
        assertEquals("{% for m in (messages|py_slice(none, none, -1)) %}",
                TemplateRewriter.rewrite("{% for m in messages[::-1] %}"));
        assertEquals("{{ py_print( (a.b[0]|py_slice(1, none, none)) ) }} text[1:2] {{ py_print( 'x[1:2]' ) }}",
                TemplateRewriter.rewrite("{{ a.b[0][1:] }} text[1:2] {{ 'x[1:2]' }}"));
    }

    @Test
    void keywordArgumentValuesAreParenthesised() {
        assertEquals("{% set ns = namespace(a=(messages|length - 1), b=(f(x, y=(2)))) %}",
                TemplateRewriter.rewrite("{% set ns = namespace(a=messages|length - 1, b=f(x, y=2)) %}"));
        assertEquals("{% if (a == b) %}", TemplateRewriter.rewrite("{% if (a == b) %}"), "comparisons are untouched");
    }

    @Test
    void commentsAreLeftAlone() {
        assertEquals("{# x[::-1] #}", TemplateRewriter.rewrite("{# x[::-1] #}"));
    }

    @Test
    void pythonSlicesAndMethodsRender() {
        ChatTemplate template = ChatTemplate.of("{{ messages[0].content[::-1] }}|{{ messages[0].content[-2:] }}|"
                + "{{ messages[1:]|length }}|{{ messages[0].content.split(' ', 1)[-1] }}|"
                + "{{ ' x\u00a0'.strip() }}|{{ 'a-b-c'.replace('-', '+', 1) }}|{{ messages[0].content.startswith(('z', 'h')) }}",
                null, null);
        String rendered = template.render(List.of(new ChatMessage("user", "h\u00e9 \uD83D\uDE00 you"),
                new ChatMessage("assistant", "b")), false);
        assertEquals("uoy \uD83D\uDE00 \u00e9h|ou|1|\uD83D\uDE00 you|x|a+b-c|True", rendered);
    }

    @Test
    void loopControlsAndGenerationBlocksRenderAsInTransformers() {
        ChatTemplate template = ChatTemplate.of("{% for m in messages %}{% if loop.index0 == 1 %}{% continue %}{% endif %}"
                + "{% if loop.index0 == 3 %}{% break %}{% endif %}{% generation %}[{{ m.content }}]{% endgeneration %}"
                + "{% endfor %}", null, null);
        List<ChatMessage> messages = List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"),
                new ChatMessage("user", "c"), new ChatMessage("user", "d"), new ChatMessage("user", "e"));
        assertEquals("[a][c]", template.render(messages, false));
    }

    @Test
    void brokenTemplateIsAOneLineError() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplate.of("{% if %}x{% endif %}", null, null).render(List.of(), false));
        assertTrue(error.getMessage().startsWith("chat template failed at line 1: "), error.getMessage());
        assertTrue(!error.getMessage().contains("\n"), error.getMessage());
    }
}
