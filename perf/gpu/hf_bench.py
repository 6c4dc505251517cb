"""Transformers' half of the CUDA runner side-by-side (ours: `splitserve bench runner`, io.splitserve.perf.runner.RunnerBenchmark).

Same model directory, same GPU, same cases, greedy with end-of-sequence ignored (min_new_tokens), bf16 and sdpa:
1. prefill: 40 prompts x 600 tokens, 1 new token: prompt tokens/s;
2. decode: 40 x 600-token prompts, 600 new tokens: generated tokens/s;
3. single stream: 1 x 128-token prompt, 256 new tokens: tokens/s and ms per token.
Setups: "dynamic" (generate's default cache) and "static" (cache_implementation="static", with which generate
compiles the forward). Each case runs once to warm up (and compile), then is timed with the device synchronised.
Also measures the device-to-device copy bandwidth (bytes read plus written), the floor's denominator, and the
peak memory torch allocated.
Setup "long" (beside `splitserve bench runner-long`) instead times one random prompt of each length in
$HF_LONG_CONTEXTS (default 32768,131072): its prefill in one forward with logits for the last position only, to the
first token (time to first token), then 63 greedy decode steps on the dynamic cache (median step); a length that
does not fit in memory is reported as such.

usage: python3 hf_bench.py MODEL_DIR OUT.csv SETUP [SETUP ...]
"""
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM

rows = []


def record(bench, case, value, unit):
    row = f"{bench},{case},{value:.4f},{unit}"
    rows.append(row)
    print(row, flush=True)


def copy_bandwidth():
    n = 4 << 30
    src = torch.empty(n, dtype=torch.uint8, device="cuda").random_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(7):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    record("0_ceiling", "copy_bandwidth", 2 * n / sorted(times)[3] / 1e9, "GB/s")
    del src, dst
    torch.cuda.empty_cache()


@torch.no_grad()
def generate(model, batch, prompt_len, new_tokens, setup):
    ids = torch.randint(4, 32000, (batch, prompt_len), device="cuda")
    kwargs = dict(attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                  do_sample=False, pad_token_id=0)
    if setup == "static":
        kwargs["cache_implementation"] = "static"
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(ids, **kwargs)
    torch.cuda.synchronize()
    assert out.shape[1] == prompt_len + new_tokens
    return time.perf_counter() - t0


def run(model, setup):
    torch.cuda.reset_peak_memory_stats()
    generate(model, 40, 600, 1, setup)
    t = min(generate(model, 40, 600, 1, setup) for _ in range(3))
    record("1_prefill", f"hf_{setup}_40x600_prompt_tokens_per_s", 40 * 600 / t, "tok/s")
    generate(model, 40, 600, 600 if setup == "static" else 8, setup)
    t = generate(model, 40, 600, 600, setup)
    record("2_decode", f"hf_{setup}_decode_40x600x600_generated_tokens_per_s", 40 * 600 / t, "tok/s")
    generate(model, 1, 128, 256 if setup == "static" else 8, setup)
    t = generate(model, 1, 128, 256, setup)
    record("3_single_stream", f"hf_{setup}_single_128x256_tokens_per_s", 256 / t, "tok/s")
    record("3_single_stream", f"hf_{setup}_single_128x256_ms_per_token", 1e3 * t / 256, "ms")
    record("memory", f"hf_{setup}_peak_allocated", torch.cuda.max_memory_allocated() / 2**20, "MiB")


@torch.no_grad()
def long_context(model, contexts, steps=64):
    vocab = model.config.vocab_size

    def one(n, report):
        ids = torch.randint(4, min(vocab, 32000), (1, n), device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(ids, use_cache=True, logits_to_keep=1)
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        torch.cuda.synchronize()
        ttft = time.perf_counter() - t0
        past, times = out.past_key_values, []
        del out
        for _ in range(steps - 1):
            s0 = time.perf_counter()
            out = model(token, past_key_values=past, use_cache=True)
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            past = out.past_key_values
            torch.cuda.synchronize()
            times.append(time.perf_counter() - s0)
        if report:
            step = sorted(times)[len(times) // 2]
            record("1_ttft", f"hf_long_ctx{n}_ms", 1e3 * ttft, "ms")
            record("1_ttft", f"hf_long_ctx{n}_prompt_tokens_per_s", n / ttft, "tok/s")
            record("2_decode", f"hf_long_ctx{n}_step_ms_median", 1e3 * step, "ms")
            record("2_decode", f"hf_long_ctx{n}_tokens_per_s", 1 / step, "tok/s")
        del past

    one(4096, False)
    for n in contexts:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        try:
            one(n, True)
            record("memory", f"hf_long_ctx{n}_peak_allocated", torch.cuda.max_memory_allocated() / 2**20, "MiB")
        except torch.OutOfMemoryError as e:
            print(f"ctx {n}: out of memory: {str(e).splitlines()[0]}", flush=True)
            record("memory", f"hf_long_ctx{n}_out_of_memory", 1, "flag")


def main(model_dir, out_csv, setups):
    copy_bandwidth()
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, attn_implementation="sdpa",
                                                 device_map="cuda")
    model.eval()
    for setup in setups:
        t0 = time.time()
        if setup == "long":
            long_context(model, [int(c) for c in os.environ.get("HF_LONG_CONTEXTS", "32768,131072").split(",")])
        else:
            run(model, setup)
        print(f"setup {setup}: {time.time() - t0:.1f} s", flush=True)
    with open(out_csv, "w") as f:
        f.write("bench,case,value,unit\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
