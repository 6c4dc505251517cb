"""Turns the two benchmark CSVs of one device run into the Markdown tables of perf/results/.

usage: python3 report.py JAVA.csv TORCH.csv GPU.txt > report-body.md
"""
import csv
import re
import sys


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main(java_path, torch_path, gpu_path):
    java, torch = load(java_path), load(torch_path)
    copy_java = next(float(r["metric"]) for r in java if r["bench"] == "copy")
    copy_torch = next(float(r["metric"]) for r in torch if r["bench"] == "copy")
    print("Device: " + " / ".join(l.strip() for l in open(gpu_path) if l.strip()) + "\n")
    print(f"Copy bandwidth (device-to-device, 4 GiB, read + write): cuMemcpyDtoD {copy_java:.0f} GB/s, "
          f"torch copy_ {copy_torch:.0f} GB/s.\n")

    print("## GEMM: cuBLAS through the JNI bridge vs torch.matmul (bf16, fp32 accumulation)\n")
    print("| shape | ours ms | torch ms | ours TFLOP/s | torch TFLOP/s | ours / torch speed |")
    print("|---|---:|---:|---:|---:|---:|")
    tg = {r["case"]: r for r in torch if r["bench"] == "gemm"}
    for r in (r for r in java if r["bench"] == "gemm"):
        t = tg.get(r["case"])
        if t:
            ratio = float(t["ms"]) / float(r["ms"])
            print(f"| {r['case']} | {float(r['ms']):.4f} | {float(t['ms']):.4f} | {float(r['metric']):.1f} | "
                  f"{float(t['metric']):.1f} | {ratio:.2f}x |")

    print("\n## Prefill attention vs SDPA (flash backend), head dim 128, 32 query heads\n")
    print("Ours: GQA 32/8 read from the paged pool (page size 16, shuffled pages); SDPA: K/V already expanded to 32 "
          "heads, contiguous. Causal FLOPs = 2 * 2 * batch * heads * dim * len^2 / 2.\n")
    print("| batch x len | ours ms | SDPA ms | ours TFLOP/s | SDPA TFLOP/s | ours / SDPA speed |")
    print("|---|---:|---:|---:|---:|---:|")
    tp = {re.search(r"batch=\d+ len=\d+", r["case"]).group(0): r for r in torch if r["bench"] == "prefill"}
    for r in (r for r in java if r["bench"] == "prefill"):
        key = re.search(r"batch=\d+ len=\d+", r["case"]).group(0)
        t = tp.get(key)
        if t:
            print(f"| {key} | {float(r['ms']):.3f} | {float(t['ms']):.3f} | {float(r['metric']):.0f} | "
                  f"{float(t['metric']):.0f} | {float(t['ms']) / float(r['ms']):.2f}x |")

    print("\n## Decode attention (flash-decoding, page size 16, shuffled pages), KV bytes read per second\n")
    print(f"Fraction is of the measured copy bandwidth ({copy_java:.0f} GB/s).\n")
    print("| case | ms | GB/s | of copy bandwidth |")
    print("|---|---:|---:|---:|")
    for r in (r for r in java if r["bench"] == "decode"):
        print(f"| {r['case']} | {float(r['ms']):.4f} | {float(r['metric']):.0f} | "
              f"{100 * float(r['metric']) / copy_java:.0f}% |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
