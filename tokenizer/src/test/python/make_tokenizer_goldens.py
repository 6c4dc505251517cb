#!/usr/bin/env python3
"""Writes the expected outputs the Java tokenizer tests compare against, produced by Hugging Face.

For each tokenizer directory (tokenizer.json + tokenizer_config.json) it records, with the `tokenizers` library:
ids of every corpus line without and with special tokens, the decode of those ids (special tokens kept and
skipped) and the decode of the first half of the ids (which may end inside a UTF-8 character); and, with
transformers' apply_chat_template(tokenize=False), the chat template rendered for a few conversations with and
without the generation prompt. Run where tokenizers and transformers are installed:

    python3 make_tokenizer_goldens.py --tokenizers DIR --corpus corpus.jsonl \
        --feature-template feature_chat_template.jinja --out OUTDIR

DIR holds one sub-directory per tokenizer (chat templates only where a tokenizer_config.json is present): qwen3,
llama3 and llama3_1 as the build fetches them (target/hf-tokenizers), demo and corpus_trained as the test class
io.splitserve.tokenizer.WriteTrainedTokenizers writes them. The qwen3 one also renders --feature-template, a
template written to exercise the Jinja features chat templates use. From the demo tokenizer the script derives variants that use
tokenizer.json features the real files do not (other normalizers, Split behaviors, added-token flags,
TemplateProcessing) and stores each variant's tokenizer.json in its golden file. Errors are recorded in the output
instead of stopping the run, so one run gives every result it can.
"""
import argparse
import copy
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

def variant_a(base):
    """Normalizer Sequence(NFKC, Lowercase), ByteLevel pre-tokenizer with its own regex and prefix space,
    added tokens with lstrip/rstrip/single_word/normalized, and a TemplateProcessing around the text."""
    t = copy.deepcopy(base)
    t["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]}
    t["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    next_id = max(a["id"] for a in t["added_tokens"]) + 1
    for a in t["added_tokens"]:
        if a["content"] == "<|user|>":
            a["lstrip"] = a["rstrip"] = True
        if a["content"] == "<|end|>":
            a["normalized"] = True
    t["added_tokens"] += [
        {"id": next_id, "content": "hello", "single_word": True, "lstrip": False, "rstrip": False,
         "normalized": False, "special": False},
        {"id": next_id + 1, "content": "world", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": True, "special": False},
    ]
    ids = {a["content"]: a["id"] for a in t["added_tokens"]}
    t["post_processor"] = {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|system|>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "<|end|>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {n: {"id": n, "ids": [ids[n]], "tokens": [n]}
                                              for n in ("<|system|>", "<|end|>")}}
    return t


def variant_b(base):
    """Split pre-tokenizers with every behavior (string and regex patterns, invert), then ByteLevel without regex;
    BPE with ignore_merges."""
    t = copy.deepcopy(base)
    t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"Regex": "\\p{N}"}, "behavior": "Contiguous", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[,.!?]"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[\\r\\n]+"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "MergedWithPrevious", "invert": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    t["model"]["ignore_merges"] = True
    return t


# Byte sequences, as ids of the demo tokenizer (whose ids 0..255 are the bytes 0..255), that are invalid or cut
# UTF-8 in the ways a lossy decoder must handle: truncated, bad continuation, overlong, surrogate, out of range.
BYTE_CASES = [
    [0xF0, 0x9F, 0x98, 0x80], [0xF0, 0x9F, 0x98], [0xF0, 0x9F, 0x41], [0xED, 0xA0, 0x80], [0xC0, 0xAF],
    [0xF4, 0x90, 0x80, 0x80], [0x80, 0x80, 0x41], [0xE2, 0x82], [0xE2, 0x82, 0xAC, 0xE2], [0xFF, 0xFE],
    [0xE0, 0x80, 0x80], [0xF5, 0x41], [0xC2], [0xC3, 0xA9, 0xC3], [0x61, 0xF0, 0x90, 0x80, 0x62],
    [0xE0, 0xA0], [0xF0, 0x90, 0x80], [0xF1, 0x80, 0x80, 0xC3, 0xA9],
]

VARIANTS = {"variant_a": variant_a, "variant_b": variant_b}


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
    parser.add_argument("--feature-template", default=os.path.join(here, "feature_chat_template.jinja"),
                        help="a template exercising Jinja features, rendered with the qwen3 tokenizer")
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
        if os.path.isfile(os.path.join(directory, "tokenizer_config.json")):
            try:
                result["chat"], result["chat_context"] = chat_goldens(directory)
                if name == "qwen3":
                    with open(args.feature_template, encoding="utf-8") as f:
                        result["feature_chat"], _ = chat_goldens(directory, f.read())
            except Exception:
                result["chat_error"] = traceback.format_exc()
        if name == "demo":
            result["byte_decode"] = [{"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)}
                                     for ids in BYTE_CASES]
        write(args.out, result)
        if name == "demo":
            with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
                base = json.load(f)
            for variant, make in VARIANTS.items():
                tokenizer_json = make(base)
                result = {"name": variant, "versions": versions, "tokenizer_json": tokenizer_json}
                try:
                    tok = Tokenizer.from_str(json.dumps(tokenizer_json))
                    result["vocab_size"] = tok.get_vocab_size(with_added_tokens=True)
                    result["corpus"] = corpus_goldens(tok, corpus)
                except Exception:
                    result["corpus_error"] = traceback.format_exc()
                write(args.out, result)


def write(out, result):
    with open(os.path.join(out, result["name"] + ".json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
    log(result["name"], "corpus" in result, "chat" in result, result.get("corpus_error", "")[-400:],
        result.get("chat_error", "")[-400:])


if __name__ == "__main__":
    main()
