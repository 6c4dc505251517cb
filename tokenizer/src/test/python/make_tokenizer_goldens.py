#!/usr/bin/env python3
"""Writes the expected outputs the Java tokenizer tests compare against, produced by Hugging Face.

For each tokenizer directory (tokenizer.json + tokenizer_config.json) it records, with the `tokenizers` library:
ids of every corpus line without and with special tokens, the decode of those ids (special tokens kept and
skipped) and the decode of the first half of the ids (which may end inside a UTF-8 character); and, with
transformers' apply_chat_template(tokenize=False), the chat template rendered for a few conversations with and
without the generation prompt. Run where tokenizers and transformers are installed:

    python3 make_tokenizer_goldens.py --tokenizers DIR --corpus corpus.jsonl --out OUTDIR

DIR holds one sub-directory per tokenizer (qwen3, llama3, llama3_1, demo). Errors are recorded in the output
instead of stopping the run, so one run gives every result it can.
"""
import argparse
import json
import os
import sys
import traceback

import tokenizers
from tokenizers import Tokenizer

CONVERSATIONS = [
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Hi there!"},
     {"role": "assistant", "content": "Hello! How can I help you today?"},
     {"role": "user", "content": "Tell me a joke about tokenizers."}],
    [{"role": "system", "content": "  Answer briefly.  \n"},
     {"role": "user", "content": "\n  Leading and trailing whitespace  \n\n"},
     {"role": "assistant", "content": "<think>\nThe user wants brevity.\n</think>\n\nOkay."},
     {"role": "user", "content": "And now in 中文, with emoji 😀 and \"quotes\" and 'apostrophes'?"}],
    [{"role": "user", "content": "One message only"}],
    [{"role": "system", "content": "sys"},
     {"role": "user", "content": "u1"},
     {"role": "assistant", "content": "a1"},
     {"role": "user", "content": "u2"},
     {"role": "assistant", "content": "<think>\nthinking about u2\n</think>\n\na2"}],
]

# A template written for these tests: it exercises the Jinja features real chat templates rely on
# (namespace, reversed slices, string methods, tojson, tests, loop variables, whitespace control).
FEATURE_TEMPLATE = (
    "{%- set ns = namespace(last_user=-1, count=0) %}"
    "{%- for m in messages[::-1] %}"
    "{%- if ns.last_user < 0 and m.role == 'user' %}{%- set ns.last_user = (messages|length - 1) - loop.index0 %}{%- endif %}"
    "{%- set ns.count = ns.count + 1 %}"
    "{%- endfor %}"
    "{{- bos_token if bos_token is defined and bos_token is not none else '' }}"
    "[count={{ ns.count }} last_user={{ ns.last_user }}]\n"
    "{%- for message in messages %}\n"
    "{%- if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('bad role ' + message['role']) }}{%- endif %}\n"
    "<{{ message.role | upper }}{{ ' first' if loop.first }}{{ ' last' if loop.last }} i={{ loop.index0 }}>"
    "{%- set c = message.content %}"
    "{%- if c.startswith('<think>') and '</think>' in c %}"
    "[think={{ c.split('</think>')[0].split('<think>')[-1].strip('\\n') }}]"
    "{%- set c = c.split('</think>')[-1].lstrip('\\n') %}"
    "{%- endif %}"
    "{{ c.strip() }}|{{ c.lstrip() }}|{{ c.rstrip() }}|{{ c | trim }}|{{ c.endswith('?') }}"
    "{%- if message.content is string %} str{% endif %}"
    "{%- if message.missing is defined %} has-missing{% endif %}"
    "{%- if message.missing is not defined %} no-missing{% endif %}"
    " len={{ c | length }} json={{ c | tojson }}"
    "{%- endfor %}\n"
    "{{ {'k': 'v', 'n': 3, 'list': [1, 'two', none, true]} | tojson }}\n"
    "{%- if add_generation_prompt %}\n<ASSISTANT>{% endif %}"
)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def read_corpus(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def corpus_goldens(tok, corpus):
    rows = []
    for text in corpus:
        plain = tok.encode(text, add_special_tokens=False).ids
        special = tok.encode(text, add_special_tokens=True).ids
        half = plain[: len(plain) // 2]
        rows.append({
            "text": text,
            "ids": plain,
            "ids_special": special,
            "decoded": tok.decode(plain, skip_special_tokens=False),
            "decoded_skip": tok.decode(special, skip_special_tokens=True),
            "decoded_special": tok.decode(special, skip_special_tokens=False),
            "half_ids": half,
            "decoded_half": tok.decode(half, skip_special_tokens=False),
        })
    return rows


def load_transformers_tokenizer(directory):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    try:
        return AutoTokenizer.from_pretrained(directory), "AutoTokenizer"
    except Exception as e:  # fall back to the generic fast tokenizer over tokenizer.json
        log("AutoTokenizer failed for", directory, ":", repr(e))
        with open(os.path.join(directory, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        kwargs = {k: v for k, v in config.items() if k in ("bos_token", "eos_token", "pad_token", "unk_token")}
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(directory, "tokenizer.json"), **kwargs)
        tok.chat_template = config.get("chat_template")
        return tok, "PreTrainedTokenizerFast"


def chat_goldens(directory, template_override=None):
    tok, how = load_transformers_tokenizer(directory)
    if template_override is not None:
        tok.chat_template = template_override
    rows = []
    variants = [{}]
    if "enable_thinking" in (tok.chat_template or ""):
        variants.append({"enable_thinking": False})
    for i, conversation in enumerate(CONVERSATIONS):
        for generation_prompt in (False, True):
            for kwargs in variants:
                row = {"conversation": i, "messages": conversation, "add_generation_prompt": generation_prompt,
                       "kwargs": kwargs}
                try:
                    row["rendered"] = tok.apply_chat_template(conversation, tokenize=False,
                                                              add_generation_prompt=generation_prompt, **kwargs)
                except Exception as e:
                    row["error"] = repr(e)
                rows.append(row)
    context = {"bos_token": getattr(tok, "bos_token", None), "eos_token": getattr(tok, "eos_token", None),
               "loaded_with": how}
    return rows, context


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--tokenizers", default=os.path.join(here, "tokenizers"))
    parser.add_argument("--corpus", default=os.path.join(here, "corpus.jsonl"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import transformers
    os.makedirs(args.out, exist_ok=True)
    corpus = read_corpus(args.corpus)
    versions = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__}
    log("versions", versions, "corpus lines", len(corpus))
    for name in sorted(os.listdir(args.tokenizers)):
        directory = os.path.join(args.tokenizers, name)
        if not os.path.isfile(os.path.join(directory, "tokenizer.json")):
            continue
        result = {"name": name, "versions": versions}
        try:
            tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
            result["vocab_size"] = tok.get_vocab_size(with_added_tokens=True)
            result["corpus"] = corpus_goldens(tok, corpus)
        except Exception:
            result["corpus_error"] = traceback.format_exc()
        try:
            result["chat"], result["chat_context"] = chat_goldens(directory)
            if name == "qwen3":
                result["feature_chat"], _ = chat_goldens(directory, FEATURE_TEMPLATE)
        except Exception:
            result["chat_error"] = traceback.format_exc()
        with open(os.path.join(args.out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
        log(name, "corpus" in result, "chat" in result, result.get("corpus_error", "")[-300:],
            result.get("chat_error", "")[-300:])


if __name__ == "__main__":
    main()
