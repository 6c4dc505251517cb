#!/usr/bin/env bash
# One pass of the CUDA model runner on the GPU machine: build the random-weight checkpoints and HF goldens there,
# run the gpu-tagged JUnit tests, compare the runner with HF on each model, then benchmark the runner and
# transformers (default cache, then static cache with a compiled forward) on Qwen2.5-1.5B in the same run.
# Then a per-kernel profile of one eager decode step at batch 1 (Nsight Compute, when the machine has it).
# Eight files go to $OUT: models.log (GPU state first), junit.log, check.log (with our benchmark's log), ours.csv,
# hf.csv, hf_static.csv, hf.log, profile.txt.
# usage: bash runner_device.sh BUNDLE_DIR   (BUNDLE_DIR made by the pack script, with perf/gpu copied inside)
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"   # where logs and results go
d=$(cd "$1" && pwd)
export JAVA_OPTS="--add-opens=java.base/java.util.zip=ALL-UNNAMED"
source "$d/env.sh"
export PYTHONUNBUFFERED=1
main="$JAVA $JAVA_OPTS -Xmx48g -cp $CP io.splitserve.launcher.Main"
bench="$main bench"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv; } > "$OUT/models.log"
cat "$OUT/models.log"
mkdir -p /tmp/models /tmp/golden
timeout 150 python3 "$d/perf/gpu/hf_models.py" /tmp/models /tmp/golden >> "$OUT/models.log" 2>&1
echo "models rc=$?"; grep -E "parameters|reference|Error" "$OUT/models.log"
timeout 150 bash "$d/junit.sh" --include-tag gpu > "$OUT/junit.log" 2>&1
echo "junit rc=$?"
grep -E "tests (successful|failed|skipped)|✘" "$OUT/junit.log" | head -20
: > "$OUT/check.log"
for m in qwen2.5-1.5b llama-3.2-1b qwen3-1.7b; do
  [[ -d /tmp/golden/$m ]] || continue
  timeout 90 $bench runner-check /tmp/models/$m /tmp/golden/$m >> "$OUT/check.log" 2>&1
  echo "check $m rc=$?"
done
grep -E "ours vs|Exception|error" "$OUT/check.log" | head -12
timeout 120 $bench runner /tmp/models/qwen2.5-1.5b "$OUT/ours.csv" > /tmp/ours.log 2>&1
echo "ours bench rc=$?"; cat /tmp/ours.log >> "$OUT/check.log"; grep -vE "^\s+at " /tmp/ours.log | tail -26
echo "== the same benchmark with every kernel launched eagerly (no graphs)" >> "$OUT/check.log"
timeout 90 $bench runner /tmp/models/qwen2.5-1.5b /tmp/ours_eager.csv --eager >> "$OUT/check.log" 2>&1
echo "ours eager bench rc=$?"; grep -E "single_128x256_step|batch1_ctx1024_ms|decode_40x600x600_generated" /tmp/ours_eager.csv
timeout 100 python3 "$d/perf/gpu/hf_bench.py" /tmp/models/qwen2.5-1.5b "$OUT/hf.csv" dynamic > "$OUT/hf.log" 2>&1
echo "hf dynamic rc=$?"
timeout 240 python3 "$d/perf/gpu/hf_bench.py" /tmp/models/qwen2.5-1.5b "$OUT/hf_static.csv" static >> "$OUT/hf.log" 2>&1
echo "hf static rc=$?"; grep -vE "Loading weights|Warning|warn" "$OUT/hf.log" | tail -16
# the command line end to end: generate on the GPU (a stand-in tokenizer makes the random checkpoint a full model
# directory), auto on the demo model (head size 32, which the CUDA kernels do not take: falls back to the CPU)
m=/tmp/models/qwen2.5-1.5b
launch="$main generate"
{ python3 "$d/perf/gpu/byte_tokenizer.py" $m
  for b in cuda auto; do
    echo "== generate --backend $b on qwen2.5-1.5b"
    timeout 60 $launch --model $m --prompt-tokens 100,200,300,400,500 --max-tokens 64 --ignore-eos --backend $b --json
    echo "rc=$?"
  done
  echo "== generate --backend auto on the demo model"; timeout 60 $launch --prompt "Hello" --max-tokens 8 --backend auto
  echo "rc=$?"
  echo "== generate --backend cuda on the demo model"; timeout 60 $launch --prompt "Hello" --max-tokens 8 --backend cuda
  echo "rc=$?"
} >> "$OUT/check.log" 2>&1
grep -A3 "^== generate" "$OUT/check.log" | cut -c1-400
ncu_bin=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || true)
if [[ -n "$ncu_bin" ]]; then
  timeout 150 "$ncu_bin" --clock-control none --metrics gpu__time_duration.sum --csv --log-file /tmp/ncu.csv \
    $bench runner-profile /tmp/models/qwen2.5-1.5b --batch 1 --context 1024 --steps 3 > /tmp/ncu.log 2>&1
  echo "ncu rc=$?"; tail -3 /tmp/ncu.log
  python3 "$d/perf/gpu/ncu_step.py" /tmp/ncu.csv > "$OUT/profile.txt" 2>&1; head -30 "$OUT/profile.txt"
else
  echo "no ncu on this machine" | tee "$OUT/profile.txt"
fi
