#!/usr/bin/env python3
"""Creates the golden fixtures the engine's Java tests compare against.

For each supported architecture (LlamaForCausalLM with llama3 rope scaling and tied embeddings, Qwen2ForCausalLM
with q/k/v bias, untied embeddings and GQA, Qwen3ForCausalLM with q/k norm and an explicit head_dim) it builds a
tiny random-weight model over a small byte-level BPE vocabulary trained here, saves it with save_pretrained (the
Qwen2 one in bf16), reloads it in float32 and records, on the CPU in float32:
  - the logits at every position of a few fixed prompts,
  - the greedy continuation of 32 tokens from model.generate (do_sample False, exactly 32 new tokens, eos ignored),
  - the rotary inverse-frequency table the model built (to pin down rope scaling).
Output per architecture: <out>/fixtures/<arch>/ with the Hugging Face files plus expected.json (token ids,
continuations, facts about the margins) and expected.safetensors (logits.<i> [tokens][vocab] f32, inv_freq f32).
Everything is packed into <out>/fixtures.tar.

With --scale it instead builds one model too large to commit, for a check on the machine that runs the script:
Qwen2ForCausalLM with Qwen2.5-1.5B's widths (hidden 1536, 12/2 heads, intermediate 8960, vocab 151936) but 4
layers, untied, saved in float32 as one safetensors file past 2 GiB, with the same expected.* files for random
prompts, under <out>/fixtures/qwen2-scale (not packed).

Usage: python3 make_model_fixtures.py --out DIR [--scale]
"""
import argparse
import inspect
import json
import math
import os
import shutil
import tarfile
import traceback

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
import transformers
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

CORPUS = """\
Paged attention keeps the key and value cache in fixed-size blocks, so memory is allocated on demand.
A prefill node processes the whole prompt at once; a decode node generates one token per step for many sequences.
The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs!
def add(a, b):
    return a + b

for i in range(10):
    print(i * i)
Numbers like 3.14159, 2718 and 1,000,000 appear in text; so do dates such as 2024-05-17.
Rotary position embeddings rotate pairs of query and key features by an angle that grows with position.
Grouped-query attention shares each key/value head among several query heads to shrink the cache.
Le renard brun saute par-dessus le chien paresseux. Der schnelle braune Fuchs springt.
Speculative decoding, continuous batching and chunked prefill all change how a step is scheduled.
"""

PROMPTS = [
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n\nfor i in range(10):",
    "Paged attention keeps the key and value cache in fixed-size blocks, so memory is allocated on demand. A prefill node",
]

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
NEW_TOKENS = 32


def train_tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS.splitlines() * 4, trainer)
    return tok


def rope_kwargs(config_class, theta, scaling=None):
    """transformers 5 takes rope_parameters; older versions rope_theta + rope_scaling."""
    if "rope_parameters" in inspect.signature(config_class.__init__).parameters:
        params = dict(scaling) if scaling else {"rope_type": "default"}
        params["rope_theta"] = theta
        return {"rope_parameters": params}
    return {"rope_theta": theta, "rope_scaling": scaling}


def randomize(model, generator, std=0.1):
    """Random weights with a spread wide enough that logits have clear winners: norms and biases too."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(std * torch.randn(p.shape, generator=generator))


def expected_llama3_inv_freq(head_dim, theta, s):
    inv = [1.0 / theta ** (2 * i / head_dim) for i in range(head_dim // 2)]
    low_w = s["original_max_position_embeddings"] / s["low_freq_factor"]
    high_w = s["original_max_position_embeddings"] / s["high_freq_factor"]
    out = []
    for f in inv:
        w = 2 * math.pi / f
        if w > low_w:
            out.append(f / s["factor"])
        elif w >= high_w:
            sm = (s["original_max_position_embeddings"] / w - s["low_freq_factor"]) / (
                s["high_freq_factor"] - s["low_freq_factor"])
            out.append((1 - sm) * f / s["factor"] + sm * f)
        else:
            out.append(f)
    return out


def build_specs(vocab, bos, eos):
    llama3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 256}
    common = dict(vocab_size=vocab, bos_token_id=bos, eos_token_id=eos, max_position_embeddings=512,
                  hidden_act="silu", initializer_range=0.1)
    return [
        ("llama", LlamaForCausalLM, LlamaConfig(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, rms_norm_eps=1e-5, tie_word_embeddings=True,
            **rope_kwargs(LlamaConfig, 10000.0, llama3), **common), torch.float32, llama3),
        ("qwen2", Qwen2ForCausalLM, Qwen2Config(
            hidden_size=96, intermediate_size=192, num_hidden_layers=3, num_attention_heads=6,
            num_key_value_heads=2, rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False,
            **rope_kwargs(Qwen2Config, 1000000.0), **common), torch.bfloat16, None),
        ("qwen3", Qwen3ForCausalLM, Qwen3Config(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-6, tie_word_embeddings=False,
            attention_bias=False, use_sliding_window=False,
            **rope_kwargs(Qwen3Config, 1000000.0), **common), torch.float32, None),
    ]


def top_margin(logits_row):
    top = torch.topk(logits_row, 2).values
    return float(top[0] - top[1])


def make_fixture(name, model_class, config, save_dtype, llama3, tok_dir, prompt_ids, out_dir, seed, log):
    generator = torch.Generator().manual_seed(seed)
    model = model_class(config)
    randomize(model, generator)
    model.to(save_dtype)
    model.save_pretrained(out_dir)
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), out_dir)

    # reload exactly what was written, computing in float32 on the (upcast) saved weights
    model = model_class.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager").eval()
    inv_freq = next(m.inv_freq for m in model.modules() if hasattr(m, "inv_freq")).detach().float().clone()
    if llama3 is not None:
        want = torch.tensor(expected_llama3_inv_freq(config.head_dim if getattr(config, "head_dim", None)
                                                     else config.hidden_size // config.num_attention_heads,
                                                     10000.0, llama3))
        log(f"{name}: llama3 inv_freq max rel diff vs formula "
            f"{float(((inv_freq - want).abs() / want).max()):.3e}")

    tensors = {"inv_freq": inv_freq.contiguous()}
    expected = {"architecture": type(model).__name__, "transformers": transformers.__version__,
                "torch": torch.__version__, "saved_dtype": str(save_dtype).replace("torch.", ""),
                "prompts": prompt_ids, "greedy": [], "greedy_recomputed": [], "greedy_min_margin": [],
                "max_abs_logit": []}

    # no eos anywhere while generating, so every continuation has exactly NEW_TOKENS tokens
    model.generation_config.eos_token_id = None
    model.config.eos_token_id = None
    with torch.no_grad():
        for i, ids in enumerate(prompt_ids):
            input_ids = torch.tensor([ids])
            logits = model(input_ids).logits[0].float()
            tensors[f"logits.{i}"] = logits.contiguous()
            expected["max_abs_logit"].append(float(logits.abs().max()))

            generated = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                                       max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, num_beams=1,
                                       pad_token_id=0)[0, len(ids):].tolist()
            # the same continuation by full recomputation: also gives the argmax margins along the path
            seq = list(ids)
            margins = []
            for _ in range(NEW_TOKENS):
                row = model(torch.tensor([seq])).logits[0, -1].float()
                margins.append(top_margin(row))
                seq.append(int(row.argmax()))
            recomputed = seq[len(ids):]
            if recomputed != generated:
                log(f"{name}: WARNING prompt {i}: generate() and recomputed greedy differ")
            expected["greedy"].append(generated)
            expected["greedy_recomputed"].append(recomputed)
            expected["greedy_min_margin"].append(min(margins))
            log(f"{name}: prompt {i}: {len(ids)} tokens, max|logit| {expected['max_abs_logit'][-1]:.3f}, "
                f"greedy min margin {min(margins):.2e}, continuation {generated}")

    save_file(tensors, os.path.join(out_dir, "expected.safetensors"))
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    with open(os.path.join(out_dir, "config.json")) as f:
        log(f"{name}: config.json {f.read()}")
    log(f"{name}: files {sorted(os.listdir(out_dir))}")


def make_scale_fixture(root, log):
    import time
    name = "qwen2-scale"
    out_dir = os.path.join(root, name)
    os.makedirs(out_dir, exist_ok=True)
    config = Qwen2Config(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=4,
                         num_attention_heads=12, num_key_value_heads=2, rms_norm_eps=1e-6, tie_word_embeddings=False,
                         use_sliding_window=False, max_position_embeddings=32768, bos_token_id=151643,
                         eos_token_id=151645, hidden_act="silu", **rope_kwargs(Qwen2Config, 1000000.0))
    generator = torch.Generator().manual_seed(7)
    model = Qwen2ForCausalLM(config)
    randomize(model, generator, std=0.02)
    model.save_pretrained(out_dir, max_shard_size="50GB")
    del model
    for f in sorted(os.listdir(out_dir)):
        log(f"{name}: {f} {os.path.getsize(os.path.join(out_dir, f))} bytes")
    model = Qwen2ForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager").eval()
    model.generation_config.eos_token_id = None
    model.config.eos_token_id = None
    prompts = [torch.randint(0, 151936, (n,), generator=generator).tolist() for n in (40, 7)]
    tensors = {"inv_freq": next(m.inv_freq for m in model.modules() if hasattr(m, "inv_freq")).float().clone()}
    expected = {"architecture": "Qwen2ForCausalLM", "prompts": prompts, "greedy": [], "greedy_min_margin": []}
    with torch.no_grad():
        for i, ids in enumerate(prompts):
            start = time.time()
            logits = model(torch.tensor([ids])).logits[0].float()
            log(f"{name}: prompt {i}: {len(ids)} tokens, HF forward {time.time() - start:.2f} s, "
                f"max|logit| {float(logits.abs().max()):.3f}")
            tensors[f"logits.{i}"] = logits.contiguous()
            generated = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                       do_sample=False, max_new_tokens=16, min_new_tokens=16, num_beams=1,
                                       pad_token_id=0)[0, len(ids):].tolist()
            seq, margins = list(ids), []
            for _ in range(16):
                row = model(torch.tensor([seq])).logits[0, -1].float()
                margins.append(top_margin(row))
                seq.append(int(row.argmax()))
            if seq[len(ids):] != generated:
                log(f"{name}: WARNING prompt {i}: generate() and recomputed greedy differ")
            expected["greedy"].append(generated)
            expected["greedy_min_margin"].append(min(margins))
            log(f"{name}: prompt {i}: greedy {generated}, min margin {min(margins):.2e}")
    save_file(tensors, os.path.join(out_dir, "expected.safetensors"))
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f)
    log("done")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--scale", action="store_true", help="build the large check model instead")
    args = parser.parse_args()
    torch.set_num_threads(8)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    root = os.path.join(args.out, "fixtures")
    os.makedirs(root, exist_ok=True)
    log_file = open(os.path.join(args.out, "fixtures.log"), "w")

    def log(msg):
        print(msg, flush=True)
        log_file.write(msg + "\n")
        log_file.flush()

    log(f"transformers {transformers.__version__}, torch {torch.__version__}")
    if args.scale:
        make_scale_fixture(root, log)
        return
    tok = train_tokenizer(400)
    vocab = tok.get_vocab_size()
    bos = tok.token_to_id("<|endoftext|>")
    eos = tok.token_to_id("<|im_end|>")
    tok_dir = os.path.join(args.out, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    tok.save(os.path.join(tok_dir, "tokenizer.json"))
    prompt_ids = [tok.encode(p).ids for p in PROMPTS]
    log(f"vocab {vocab}, bos {bos}, eos {eos}, prompt lengths {[len(p) for p in prompt_ids]}")

    for seed, (name, model_class, config, dtype, llama3) in enumerate(build_specs(vocab, bos, eos)):
        out_dir = os.path.join(root, name)
        os.makedirs(out_dir, exist_ok=True)
        try:
            make_fixture(name, model_class, config, dtype, llama3, tok_dir, prompt_ids, out_dir, 1000 + seed, log)
        except Exception:  # report and go on, so one architecture's failure does not hide the others' results
            log(f"{name}: FAILED\n{traceback.format_exc()}")

    with tarfile.open(os.path.join(args.out, "fixtures.tar"), "w") as tar:
        tar.add(root, arcname="fixtures")
    shutil.rmtree(root)
    shutil.rmtree(tok_dir)
    log("done")


if __name__ == "__main__":
    main()
