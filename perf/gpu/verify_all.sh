#!/usr/bin/env bash
# The whole GPU check in one pass on the GPU machine: every gpu-tagged JUnit test of every module, then the command
# line on the GPU (the demo model on --backend cuda and auto, compared with the CPU's greedy tokens).
# usage: bash perf/gpu/verify_all.sh BUNDLE_DIR    (BUNDLE_DIR made by the pack script); logs go to $OUT
set -uo pipefail
d=$(cd "$1" && pwd)
export JAVA_OPTS="--add-opens=java.base/java.util.zip=ALL-UNNAMED"
source "$d/env.sh"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } | tee "$OUT/gpu.txt"
timeout 360 bash "$d/junit.sh" --include-tag gpu > "$OUT/junit-gpu.log" 2>&1
echo "junit rc=$?"
grep -E "tests (found|successful|failed|skipped|aborted)|containers failed" "$OUT/junit-gpu.log"
grep -B2 -A12 "✘" "$OUT/junit-gpu.log" | head -60
export SPLITSERVE_CACHE=/tmp/splitserve-cache
main="$JAVA $JAVA_OPTS -cp $CP io.splitserve.launcher.Main"
{
  for b in cpu cuda auto; do
    echo "== generate --backend $b (demo model, greedy, 48 tokens)"
    timeout 90 $main generate --prompt "Once upon a time" --max-tokens 48 --ignore-eos --backend $b --json
    echo "rc=$?"
  done
} > "$OUT/generate.log" 2>&1
cat "$OUT/generate.log" | cut -c1-600
