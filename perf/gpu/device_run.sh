#!/usr/bin/env bash
# One pass on the GPU machine: the gpu-tagged JUnit tests, then the Java kernel benchmarks and the torch
# benchmarks on the same GPU. Logs and CSVs go to $OUT.
# usage: bash device_run.sh BUNDLE_DIR [tests|bench|all]   (BUNDLE_DIR made by the pack script, with perf/gpu in it)
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"   # where logs and results go
d=$(cd "$1" && pwd); what=${2:-all}
source "$d/env.sh"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv; } > "$OUT/gpu.txt"
cat "$OUT/gpu.txt"
if [[ $what == tests || $what == all ]]; then
  timeout 300 bash "$d/junit.sh" --include-tag gpu > "$OUT/junit.log" 2>&1
  echo "junit rc=$?"
  grep -E "tests (successful|failed)|✘" "$OUT/junit.log"
  grep -A12 "^Failures" "$OUT/junit.log" | head -60
fi
if [[ $what == bench || $what == all ]]; then
  timeout 200 $JAVA $JAVA_OPTS -cp "$CP" io.splitserve.launcher.Main bench kernels \
    "$OUT/java_bench.csv" > "$OUT/java_bench.log" 2>&1
  echo "java bench rc=$?"; tail -3 "$OUT/java_bench.log"
  PYTHONUNBUFFERED=1 timeout 200 python3 "$d/perf/torch_bench.py" "$OUT/torch_bench.csv" > "$OUT/torch_bench.log" 2>&1
  echo "torch bench rc=$?"; tail -3 "$OUT/torch_bench.log"
fi
