"""Torch half of the GPU kernel side-by-side (the Java half is `splitserve bench kernels`, io.splitserve.perf.kernels.KernelBenchmark).

Same shapes and the same timing method: CUDA events, the median of 7 rounds after a warm-up, random inputs, and
weights rotated across copies when one would fit in L2. Measures the device-to-device copy bandwidth,
torch.matmul on the model projections, scaled_dot_product_attention with the flash backend (and, over 32k-128k tokens of KV, with one query token and the
backend torch picks), and token selection
over a 151,936-token vocabulary as transformers' generate does it (argmax; or temperature, top-p by sort and
cumulative softmax, softmax and torch.multinomial).

usage: python3 torch_bench.py OUTPUT.csv [SECTIONS]   (SECTIONS: a comma-separated subset of copy,gemm,prefill,decode-long,sampling)
"""
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

ROUNDS = 7
ROTATE_BYTES = 512 << 20


def timed(work, per_round):
    work()
    torch.cuda.synchronize()
    times = []
    for _ in range(ROUNDS):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        work()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / per_round)
    return sorted(times)[ROUNDS // 2]


SECTIONS = ("copy", "gemm", "prefill", "decode-long", "sampling")


def main(path, sections=SECTIONS):
    rows = []

    def record(bench, case, ms, metric, unit):
        row = f"{bench},{case},{ms:.5f},{metric:.2f},{unit}"
        rows.append(row)
        print(row, flush=True)

    dev = torch.device("cuda")
    if "copy" in sections:
        copy_bench(dev, record)
    if "gemm" in sections:
        gemm_bench(dev, record)
    if "prefill" in sections:
        prefill_bench(dev, record)
    if "decode-long" in sections:
        decode_long_bench(dev, record)
    if "sampling" in sections:
        sampling_bench(dev, record)

    with open(path, "w") as f:
        f.write("bench,case,ms,metric,unit\n")
        f.write("\n".join(rows) + "\n")


def sampling_bench(dev, record):
    """The same cases as KernelBenchmark's sampling section: greedy, and temperature 0.7 with top-p 0.9 done as
    transformers' TemperatureLogitsWarper + TopPLogitsWarper + multinomial do it."""
    vocab = 151936
    gen = torch.Generator(device=dev).manual_seed(0)
    for shape in ("gaussian", "flat"):
        for batch in (1, 16, 64, 256):
            if shape == "flat":
                logits = 0.5 * torch.rand(batch, vocab, device=dev)
            else:
                logits = 4 * torch.randn(batch, vocab, device=dev)

            def greedy():
                for _ in range(20):
                    torch.argmax(logits, dim=-1)

            def sampled():
                for _ in range(20):
                    scores = logits / 0.7
                    ordered, order = torch.sort(scores, descending=False)
                    cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
                    remove = cumulative <= (1 - 0.9)
                    remove[..., -1:] = False
                    scores = scores.masked_fill(remove.scatter(1, order, remove), float("-inf"))
                    torch.multinomial(scores.softmax(dim=-1), 1, generator=gen)

            for name, work in (("greedy", greedy), ("t0.7 p0.9", sampled)):
                ms = timed(work, 20)
                record("sampling", f"{shape} {name} batch={batch}", ms, 4.0 * batch * vocab / (ms * 1e-3) / 1e9,
                       "GB/s of logits")


def copy_bench(dev, record):
    n_bytes = 4 << 30
    a = torch.empty(n_bytes // 2, dtype=torch.bfloat16, device=dev).uniform_(-1, 1)
    b = torch.empty_like(a)

    def copy5():
        for _ in range(5):
            b.copy_(a)
    ms = timed(copy5, 5)
    record("copy", "d2d 4GiB", ms, 2.0 * n_bytes / (ms * 1e-3) / 1e9, "GB/s (read+write)")
    del a, b


def gemm_bench(dev, record):
    projections = [("qwen2.5-1.5b", 2048, 1536), ("qwen2.5-1.5b", 1536, 1536), ("qwen2.5-1.5b", 17920, 1536),
                   ("qwen2.5-1.5b", 1536, 8960), ("llama-3-8b", 6144, 4096), ("llama-3-8b", 4096, 4096),
                   ("llama-3-8b", 28672, 4096), ("llama-3-8b", 4096, 14336)]
    for name, n, k in projections:
        w_bytes = 2 * n * k
        copies = max(1, min(16, ROTATE_BYTES // w_bytes))
        ws = [torch.empty(n, k, dtype=torch.bfloat16, device=dev).uniform_(-1, 1) for _ in range(copies)]
        for m in (1, 40, 256, 4096):
            x = torch.empty(m, k, dtype=torch.bfloat16, device=dev).uniform_(-1, 1)
            reps = 4 * copies

            def run():
                for i in range(reps):
                    torch.matmul(x, ws[i % copies].t())
            ms = timed(run, reps)
            record("gemm", f"{name} M={m} N={n} K={k}", ms, 2.0 * m * n * k / (ms * 1e-3) / 1e12, "TFLOP/s")
        del ws


def prefill_bench(dev, record):
    q_heads, hd = 32, 128
    for length in (512, 1024, 2048, 4096, 8192):
        batch = max(1, 16384 // length)
        q = torch.empty(batch, q_heads, length, hd, dtype=torch.bfloat16, device=dev).uniform_(-1, 1)
        k = torch.empty_like(q).uniform_(-1, 1)  # KV heads already expanded to the query heads (GQA 32/8)
        v = torch.empty_like(q).uniform_(-1, 1)

        def attend():
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                for _ in range(5):
                    F.scaled_dot_product_attention(q, k, v, is_causal=True)
        ms = timed(attend, 5)
        flops = 4.0 * batch * q_heads * hd * length * length / 2
        record("prefill", f"sdpa-flash hd128 h32 batch={batch} len={length}", ms, flops / (ms * 1e-3) / 1e12,
               "TFLOP/s (causal)")
        del q, k, v


def decode_long_bench(dev, record):
    """One query token per sequence over 32k-128k tokens of contiguous KV (no pages), GQA as the models have it."""
    for name, q_heads, kv_heads in (("llama-3-8b", 32, 8), ("qwen2.5-1.5b", 12, 2)):
        for batch in (1, 8):
            for ctx in (32768, 65536, 131072):
                q = torch.empty(batch, q_heads, 1, 128, dtype=torch.bfloat16, device=dev).uniform_(-1, 1)
                k = torch.empty(batch, kv_heads, ctx, 128, dtype=torch.bfloat16, device=dev).uniform_(-1, 1)
                v = torch.empty_like(k).uniform_(-1, 1)

                def attend():
                    for _ in range(8):
                        F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                try:
                    ms = timed(attend, 8)
                    kv_bytes = 2 * k.numel() * 2
                    record("decode-long", f"{name} sdpa h{q_heads}/{kv_heads} batch={batch} ctx={ctx}", ms,
                           kv_bytes / (ms * 1e-3) / 1e9, "GB/s (KV read)")
                except RuntimeError as e:
                    print(f"decode-long {name} batch={batch} ctx={ctx}: {str(e).splitlines()[0]}", flush=True)
                del q, k, v


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and not set(sys.argv[2].split(",")) <= set(SECTIONS)):
        sys.exit("usage: python3 torch_bench.py OUTPUT.csv [SECTIONS], SECTIONS a comma-separated subset of "
                 + ",".join(SECTIONS))
    main(sys.argv[1], tuple(sys.argv[2].split(",")) if len(sys.argv) == 3 else SECTIONS)
