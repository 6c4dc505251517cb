"""Builds the random-weight checkpoints the two-GPU serving measurements run on, each a complete model directory:
transformers' own initialisation of the published Qwen2.5-1.5B or Llama-3-8B shapes, bf16, saved with
save_pretrained, plus the real tokenizer of that family (tokenizer.json and tokenizer_config.json from TOKENIZERS/
<family>/), so prompts of exact token counts can be built and served.

Llama-3-8B's context is raised from 8192 to 16384 positions so that an 8192-token prompt plus its first token fits;
nothing else depends on it. KV per token: Qwen2.5-1.5B 28 layers x 2 KV heads x 128 x 2 (K, V) x 2 bytes = 28 KiB; Llama-3-8B 32 x 8 x 128 x 2 x 2
= 128 KiB.

The long-context variants have the same shapes and their family's published 128k scaling: qwen2.5-1.5b-128k YaRN
factor 4 over 32768 positions (Qwen2.5's recipe), llama-3.1-8b llama3 scaling factor 8 over 8192 (Llama 3.1's).

usage: python3 serving_models.py MODELS_DIR TOKENIZERS_DIR name [name ...]
       (names: qwen2.5-1.5b, qwen2.5-1.5b-128k, llama-3-8b, llama-3.1-8b)
A directory that already holds config.json is kept as it is. Without TOKENIZERS/<family>/ the checkpoint gets no
tokenizer: enough for the engine-level benchmarks, not for serving.
"""
import os
import shutil
import sys
import time

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

from hf_models import CONFIGS

MODELS = {
    "qwen2.5-1.5b": (CONFIGS["qwen2.5-1.5b"], "qwen2_5"),
    "qwen2.5-1.5b-128k": (lambda: Qwen2Config(
        hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=131072, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                         "original_max_position_embeddings": 32768}, tie_word_embeddings=True,
        bos_token_id=151643, eos_token_id=151643, use_sliding_window=False), "qwen2_5"),
    "llama-3-8b": (lambda: LlamaConfig(
        hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, head_dim=128, vocab_size=128256, max_position_embeddings=16384, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0}, tie_word_embeddings=False,
        bos_token_id=128000, eos_token_id=128001), "llama3"),
    "llama-3.1-8b": (lambda: LlamaConfig(
        hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, head_dim=128, vocab_size=128256, max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        tie_word_embeddings=False, bos_token_id=128000, eos_token_id=128001), "llama3"),
}


def build(name, models_dir, tokenizers_dir):
    path = os.path.join(models_dir, name)
    if os.path.exists(os.path.join(path, "config.json")):
        print(f"{name}: already at {path}", flush=True)
        return
    t0 = time.time()
    make_config, family = MODELS[name]
    torch.manual_seed(1234)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(make_config(), dtype=torch.bfloat16, attn_implementation="sdpa")
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(path)
    del model
    torch.cuda.empty_cache()
    source = os.path.join(tokenizers_dir, family)
    if os.path.isdir(source):
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(source, f), os.path.join(path, f))
        tokenizer = f"{family} tokenizer"
    else:
        tokenizer = f"no tokenizer ({source} missing: enough for engine-level benchmarks, not for serving)"
    print(f"{name}: {params / 1e9:.3f} B parameters, {tokenizer}, saved in {time.time() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    for n in sys.argv[3:]:
        build(n, sys.argv[1], sys.argv[2])
