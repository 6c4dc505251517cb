"""Per-kernel time of one decode step from Nsight Compute's CSV (ncu --csv --metrics gpu__time_duration.sum over
`splitserve bench runner-profile`): kernels are split into steps at each embedding gather (every step starts
with one), and the last step's kernels are summed by name, largest first, beside the step's total.

usage: python3 ncu_step.py NCU.csv
"""
import csv
import sys
from collections import OrderedDict


def main(path):
    kernels = []
    with open(path, newline="") as f:
        lines = [line for line in f if line.startswith('"')]
    for row in csv.DictReader(lines):
        if row.get("Metric Name") == "gpu__time_duration.sum":
            value = float(row["Metric Value"].replace(",", ""))
            unit = row.get("Metric Unit", "nsecond")
            ns = value * {"nsecond": 1, "usecond": 1e3, "msecond": 1e6}.get(unit, 1)
            kernels.append((row["Kernel Name"], ns))
    starts = [i for i, (name, _) in enumerate(kernels) if name.startswith("embedding_gather")]
    if not starts:
        print("no embedding_gather launch found in", len(kernels), "kernels")
        return
    last = kernels[starts[-1]:]
    total = sum(ns for _, ns in last)
    by_name = OrderedDict()
    for name, ns in last:
        short = name.split("(")[0][:70]
        count, sum_ns = by_name.get(short, (0, 0.0))
        by_name[short] = (count + 1, sum_ns + ns)
    print(f"last decode step: {len(last)} kernels, {total / 1e3:.1f} us of kernel time (sum of isolated runs)")
    print(f"{'kernel':72s} {'launches':>8s} {'total us':>9s} {'share':>6s}")
    for name, (count, ns) in sorted(by_name.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:72s} {count:8d} {ns / 1e3:9.1f} {100 * ns / total:5.1f}%")


if __name__ == "__main__":
    main(sys.argv[1])
