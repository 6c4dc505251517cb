"""Builds the random-weight checkpoints the CUDA runner is checked and benchmarked on, and HF's golden outputs.

For each of the Qwen2.5-1.5B, Llama-3.2-1B and Qwen3-1.7B configurations (their published shapes, random weights
from transformers' own initialisation, bf16, sdpa) it saves the model with save_pretrained to MODELS/<name>, then
for a few random prompts of different lengths generates HF's greedy continuation and records HF's teacher-forced
logits at every position that predicts a continuation token (GOLDEN/<name>/golden.json and logits.safetensors),
which `splitserve bench runner-check` (io.splitserve.perf.runner.RunnerCheck) compares with the runner.

qwen2.5-yarn-tiny is a small Qwen2 (4 layers, head dim 128) with YaRN rope scaling (factor 4 over an original 4096
positions, max_position_embeddings 16384); it is built only when named, and its prompts run past 4096 tokens so the
interpolated frequencies and the YaRN attention factor both shape the logits being compared.
qwen2.5-yarn-128k-tiny is the same shape with Qwen2.5's published long-context scaling (YaRN factor 4 over 32768
positions, 131072 in all) and prompts of 37, 32768 and 131000 tokens, which the runner check prefills in chunks.
Logits are computed for the compared positions only (logits_to_keep), so 131k-token prompts fit.

usage: python3 hf_models.py MODELS_DIR GOLDEN_DIR [name ...]
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, DynamicCache, LlamaConfig, Qwen2Config, Qwen3Config

PROMPT_LENGTHS = [37, 128, 300, 517]
# per-model prompt lengths where the defaults would not exercise what the model is there to check
PROMPT_LENGTHS_OF = {"qwen2.5-yarn-tiny": [37, 1500, 4600, 6000], "qwen2.5-yarn-128k-tiny": [37, 32768, 131000]}
NEW_TOKENS = 48

CONFIGS = {
    "qwen2.5-1.5b": lambda: Qwen2Config(
        hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, tie_word_embeddings=True,
        bos_token_id=151643, eos_token_id=151643, use_sliding_window=False),
    "llama-3.2-1b": lambda: LlamaConfig(
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, head_dim=64, vocab_size=128256, max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        tie_word_embeddings=True, bos_token_id=128000, eos_token_id=128001),
    "qwen3-1.7b": lambda: Qwen3Config(
        hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
        num_key_value_heads=8, head_dim=128, vocab_size=151936, max_position_embeddings=40960, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, tie_word_embeddings=True,
        bos_token_id=151643, eos_token_id=151645),
    "qwen2.5-yarn-tiny": lambda: Qwen2Config(
        hidden_size=1024, intermediate_size=2816, num_hidden_layers=4, num_attention_heads=8,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=16384, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                         "original_max_position_embeddings": 4096}, tie_word_embeddings=True,
        bos_token_id=151643, eos_token_id=151643, use_sliding_window=False),
    "qwen2.5-yarn-128k-tiny": lambda: Qwen2Config(
        hidden_size=1024, intermediate_size=2816, num_hidden_layers=4, num_attention_heads=8,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=131072, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                         "original_max_position_embeddings": 32768}, tie_word_embeddings=True,
        bos_token_id=151643, eos_token_id=151643, use_sliding_window=False),
}
# built by default (a run with no names); the others only when named
DEFAULT_NAMES = ["qwen2.5-1.5b", "llama-3.2-1b", "qwen3-1.7b"]


def build(name, models_dir):
    torch.manual_seed(1234)
    config = CONFIGS[name]()
    config._attn_implementation = "sdpa"
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.eval()
    path = os.path.join(models_dir, name)
    model.save_pretrained(path)
    return model


@torch.no_grad()
def golden(name, model, golden_dir):
    gen = torch.Generator().manual_seed(99)
    vocab = model.config.vocab_size
    prompts, continuations, tensors, fulls = [], [], {}, []
    for i, length in enumerate(PROMPT_LENGTHS_OF.get(name, PROMPT_LENGTHS)):
        prompt = torch.randint(4, min(vocab, 32000), (1, length), generator=gen).cuda()
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0)
        continuation = out[0, length:]
        full = torch.cat([prompt[0], continuation])[None]
        logits = model(full, logits_to_keep=NEW_TOKENS + 1).logits[0, :NEW_TOKENS].float().contiguous()
        prompts.append(prompt[0].tolist())
        continuations.append(continuation.tolist())
        tensors[f"logits.{i}"] = logits.cpu()
        fulls.append((full, length))
    model.float()
    cos_min, agree, rows = 1.0, 0, 0
    for i, (full, length) in enumerate(fulls):
        reference = fp32_logits(model, full, length).float().cpu().contiguous()
        tensors[f"reference.{i}"] = reference
        ours = tensors[f"logits.{i}"]
        cos = torch.nn.functional.cosine_similarity(ours.double(), reference.double(), dim=-1)
        cos_min = min(cos_min, cos.min().item())
        agree += (ours.argmax(-1) == reference.argmax(-1)).sum().item()
        rows += reference.shape[0]
    print(f"{name}: transformers bf16 vs fp32 reference: {rows} rows, cosine min {cos_min:.6f}, "
          f"top-1 {100 * agree / rows:.2f}%", flush=True)
    path = os.path.join(golden_dir, name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "golden.json"), "w") as f:
        json.dump({"prompts": prompts, "continuations": continuations}, f)
    save_file(tensors, os.path.join(path, "logits.safetensors"))


def fp32_logits(model, full, length):
    """The fp32 model's logits at the compared positions. fp32 has no flash kernel, so past a few thousand tokens the
    prompt goes through the cache in chunks, each chunk's score matrix small enough for the math backend."""
    keep = NEW_TOKENS + 1
    if length <= 8192:
        return model(full, logits_to_keep=keep).logits[0, :NEW_TOKENS]
    past, n = DynamicCache(), full.shape[1]
    for start in range(0, n - keep, 2048):
        model(full[:, start:min(start + 2048, n - keep)], past_key_values=past, use_cache=True, logits_to_keep=1)
    return model(full[:, n - keep:], past_key_values=past, use_cache=True).logits[0, :NEW_TOKENS]


def main(models_dir, golden_dir, names):
    for name in names or DEFAULT_NAMES:
        t0 = time.time()
        model = build(name, models_dir)
        golden(name, model, golden_dir)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {params / 1e9:.3f} B parameters, saved and scored in {time.time() - t0:.1f} s", flush=True)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
