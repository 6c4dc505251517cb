#!/usr/bin/env bash
# One pass on the GPU machine for tuning a kernel: the kernels module's gpu-tagged tests, the Java benchmark with
# the kernels in the bundle's jar, the same benchmark again for each variant fatbin (placed first on the class
# path, so it replaces the jar's), then torch on the same GPU. Logs and CSVs go to $OUT.
# usage: [SECTIONS=...] [VARIANTS="name:sections ..."] [TORCH_SECTIONS=...] bash variants_run.sh
#   run from a bundle made by the pack script, with perf/gpu copied to BUNDLE/perf and each variant's fatbin at
#   BUNDLE/variants/NAME/io/splitserve/kernels/cuda/native/splitserve_kernels.fatbin; a NAME without a fatbin
#   times the jar's kernels again (a repeat, for the run-to-run spread).
set -u
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"   # where logs and results go
B=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$B/env.sh"
LOG=$OUT/logs.txt
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv; } > "$OUT/gpu.txt"
cat "$OUT/gpu.txt"
timeout ${TEST_S:-120} bash "$B/junit.sh" --include-tag gpu --include-package io.splitserve.kernels > "$OUT/junit.log" 2>&1
echo "junit rc=$?"
grep -E "tests (successful|failed|aborted|skipped)|✘" "$OUT/junit.log" | head -20
timeout ${BENCH_S:-150} $JAVA $JAVA_OPTS -cp "$CP" io.splitserve.launcher.Main bench kernels \
  "$OUT/java_bench.csv" --sections ${SECTIONS:-copy,prefill,decode} >> "$LOG" 2>&1
echo "java bench rc=$?"
: > "$OUT/variants.csv"
for spec in ${VARIANTS:-}; do
  v=${spec%%:*}; sec=${spec#*:}
  timeout 60 $JAVA $JAVA_OPTS -cp "$B/variants/$v:$CP" io.splitserve.launcher.Main bench kernels \
    "/tmp/var_$v.csv" --sections "$sec" >> "$LOG" 2>&1
  echo "variant $v rc=$?"; grep -v "^bench,case" "/tmp/var_$v.csv" | sed "s/^/$v,/" >> "$OUT/variants.csv"
done
PYTHONUNBUFFERED=1 timeout 120 python3 "$B/perf/torch_bench.py" "$OUT/torch_bench.csv" ${TORCH_SECTIONS:-copy,prefill} >> "$LOG" 2>&1
echo "torch rc=$?"
echo "== java"; cat "$OUT/java_bench.csv"; echo "== variants"; cat "$OUT/variants.csv"; echo "== torch"; cat "$OUT/torch_bench.csv"
