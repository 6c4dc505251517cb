#!/usr/bin/env bash
# The whole GPU check in one pass on the GPU machine: every gpu-tagged JUnit test of every module, then the command
# line on the GPU (the demo model on --backend cuda and auto, compared with the CPU's greedy tokens).
# usage: bash perf/gpu/verify_all.sh BUNDLE_DIR    (BUNDLE_DIR made by the pack script, with PACK_EXTRA_MODULES=java.desktop
# for the serving check); logs go to $OUT
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"   # where logs and results go
d=$(cd "$1" && pwd)
export JAVA_OPTS="--add-opens=java.base/java.util.zip=ALL-UNNAMED -Dchronicle.analytics.disable=true -Dchronicle.announcer.disable=true"
source "$d/env.sh"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } | tee "$OUT/gpu.txt"
if [[ -d "$d/tools" ]]; then   # a bundle slimmed for the serving check may leave the test runner out
  timeout 360 bash "$d/junit.sh" --include-tag gpu > "$OUT/junit-gpu.log" 2>&1
  echo "junit rc=$?"
  grep -E "tests (found|successful|failed|skipped|aborted)|containers failed" "$OUT/junit-gpu.log"
  grep -B2 -A12 "✘" "$OUT/junit-gpu.log" | head -60
fi
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
# serving on the GPU: router + prefill node + decode node on GPU 0 with the demo model, driven by the load generator
# through the Aeron client (the bundle's runtime needs java.desktop for the router's chat templates)
{
  echo "== serve --backend cuda (prefill and decode nodes on GPU 0) + load --aeron-dir"
  rm -rf /dev/shm/splitserve-gpu
  $main serve --backend cuda --prefill-gpu 0 --decode-gpu 0 --aeron-dir /dev/shm/splitserve-gpu --port 8011 &
  serve_pid=$!
  for _ in $(seq 60); do curl -sf localhost:8011/health >/dev/null 2>&1 && break; sleep 1; done
  curl -s localhost:8011/v1/completions -H 'Content-Type: application/json' \
    -d '{"model": "demo", "prompt": "Once upon a time", "max_tokens": 16, "temperature": 0}'; echo
  timeout 120 $main bench load --aeron-dir /dev/shm/splitserve-gpu --rate 8 --duration 15 --warmup 3 --workload fixed \
    --prompt-tokens 600 --output-tokens 128 --out /tmp/load-gpu
  echo "load rc=$?"
  kill $serve_pid; wait $serve_pid 2>/dev/null
} > "$OUT/serve-gpu.log" 2>&1
cp /tmp/load-gpu/report.md "$OUT/load-gpu-report.md" 2>/dev/null
grep -E "^== |rc=|choices|requests/s|error" "$OUT/serve-gpu.log" | cut -c1-300
