"""Tables for the two-GPU serving report, recomputed from the per-request rows the load generator (and hf_serve.py)
write, so any SLO can be applied afterwards.

For each labelled run directory (a `load --sweep` output with rate-*/requests.csv, or a single run's requests.csv)
it prints one Markdown row per rate: requests, completed, TTFT P50/P99, TPOT P50/P99, the P99 over requests of
each request's longest gap between tokens, TPOT P99 as a multiple of the unloaded run's, goodput (requests per
second of the offered window meeting TTFT <= SLO and TPOT <= SLO; unfinished and failed requests miss) and SLO
attainment. Percentiles are nearest-rank, as HdrHistogram reports them.

usage: python3 serving_report.py --slo-ttft-ms 250 --slo-tpot-ms 10 [--unloaded LABEL=DIR ...] LABEL=PATH ...
  PATH: a sweep directory (rate-R/requests.csv, or rate-R.requests.csv files side by side), a requests.csv, or an
  hf_serve.py *.requests.csv; the rate comes from the name (rate-R, hf-MODE-R), the offered window is requests / rate.
"""
import argparse
import csv
import math
import os
import re
import sys


def nearest_rank(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def rate_of(path):
    m = re.search(r"rate-([0-9.]+)", path) or re.search(r"hf-[a-z]+-([0-9.]+)\.requests\.csv$", path)
    return float(m.group(1)) if m else float("nan")


def summarize(rows, rate, slo_ttft, slo_tpot):
    ok = [r for r in rows if r["status"] == "OK"]
    ttft = [float(r["ttft_ms"]) for r in ok]
    tpot = [float(r["tpot_ms"]) for r in ok if int(r["output_tokens"]) > 1]
    gaps = [float(r["max_gap_ms"]) for r in ok if r["max_gap_ms"]]
    good = sum(1 for r in ok if float(r["ttft_ms"]) <= slo_ttft and float(r["tpot_ms"]) <= slo_tpot)
    window = len(rows) / rate if rate == rate and rate > 0 else float("nan")
    return {"rate": rate, "requests": len(rows), "completed": len(ok),
            "ttft50": nearest_rank(ttft, 50), "ttft99": nearest_rank(ttft, 99),
            "tpot50": nearest_rank(tpot, 50), "tpot99": nearest_rank(tpot, 99),
            "gap99": nearest_rank(gaps, 99) if gaps else float("nan"),
            "goodput": good / window if window == window else float("nan"),
            "attainment": good / len(rows) if rows else float("nan")}


def runs(path):
    if os.path.isdir(path):
        found = []
        for name in os.listdir(path):
            csv_path = os.path.join(path, name, "requests.csv")
            if name.startswith("rate-") and os.path.exists(csv_path):
                found.append(csv_path)
            elif name.startswith("rate-") and name.endswith(".requests.csv"):
                found.append(os.path.join(path, name))  # a sweep's rows copied flat
        if os.path.exists(os.path.join(path, "requests.csv")):
            found.append(os.path.join(path, "requests.csv"))
        return sorted(found, key=rate_of)
    return [path]


def fmt(v, digits=1):
    return "-" if v != v else f"{v:.{digits}f}"


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--slo-ttft-ms", type=float, required=True)
    parser.add_argument("--slo-tpot-ms", type=float, required=True)
    parser.add_argument("--unloaded", action="append", default=[], help="LABEL=DIR of the label's unloaded run")
    parser.add_argument("runs", nargs="+", help="LABEL=PATH")
    args = parser.parse_args(argv)
    unloaded = {}
    for item in args.unloaded:
        label, path = item.split("=", 1)
        unloaded[label] = summarize(read_rows(runs(path)[0]), float("nan"), args.slo_ttft_ms, args.slo_tpot_ms)
    print(f"SLO: TTFT <= {args.slo_ttft_ms:g} ms and TPOT <= {args.slo_tpot_ms:g} ms\n")
    print("| setup | rate (req/s) | requests | completed | TTFT P50 / P99 (ms) | TPOT P50 / P99 (ms) | TPOT P99 / unloaded"
          " | longest gap P99 (ms) | goodput (req/s) | attainment |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for item in args.runs:
        label, path = item.split("=", 1)
        for csv_path in runs(path):
            s = summarize(read_rows(csv_path), rate_of(csv_path), args.slo_ttft_ms, args.slo_tpot_ms)
            base = unloaded.get(label)
            ratio = s["tpot99"] / base["tpot99"] if base else float("nan")
            print(f"| {label} | {fmt(s['rate'], 0)} | {s['requests']} | {s['completed']} | {fmt(s['ttft50'])} / "
                  f"{fmt(s['ttft99'])} | {fmt(s['tpot50'], 2)} / {fmt(s['tpot99'], 2)} | {fmt(ratio, 2)}x | "
                  f"{fmt(s['gap99'])} | {fmt(s['goodput'], 2)} | {100 * s['attainment']:.1f}% |")
    for label, s in unloaded.items():
        print(f"\nunloaded {label}: {s['requests']} requests one at a time: TTFT P50 {fmt(s['ttft50'])} ms, "
              f"TPOT P50 / P99 {fmt(s['tpot50'], 2)} / {fmt(s['tpot99'], 2)} ms, longest gap P99 {fmt(s['gap99'])} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
