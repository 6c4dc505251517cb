#!/usr/bin/env bash
# The two-GPU serving measurements on the GPU machine, in phases run in the order given:
#   facts            GPUs, their link (nvidia-smi topo), CPUs, memory
#   models NAME...   random-weight checkpoints with real tokenizers (serving_models.py) under /tmp/models
#   junit NAME...    gpu-tagged JUnit classes by simple name (e.g. EngineDeviceGreedyGpuTest)
#   serve LABEL ARGS [RATES]  one `splitserve serve` setup (ARGS: its options, one word joined by '+', e.g.
#                    --prefill-gpu+0+--decode-gpu+1), driven by the load generator: unloaded (one user, mixed),
#                    the rate sweep (RATES, default $RATES, mixed), the 40 x 600/600 job (40 users at once)
#   engine           the same 40 x 600/600 job through the engine alone (`bench engine`) on GPU 0
#   kvbench LABEL ARGS  `bench kv-stream` (ARGS joined by '+'), log kvbench-LABEL.log
#   hf MODE RATE...  transformers (hf_serve.py --mode batch|cb) on GPU 0 replaying the sweep's schedule at each rate
# Model: $MODEL (default /tmp/models/qwen2.5-1.5b). Everything lands under /tmp/res; at the end $OUT gets run.log
# and results.tgz (reports, requests.csv files, logs).
# usage: bash perf/gpu/disagg_device.sh BUNDLE_DIR PHASE [ARGS] [, PHASE [ARGS]]...
# facts, models and junit, and the phase loop, are perf/gpu/phases.sh's.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
d=$(cd "$1" && pwd); shift
source "$here/phases.sh"
MODELS=/tmp/models
MODEL=${MODEL:-/tmp/models/qwen2.5-1.5b}
BACKEND=${BACKEND:-cuda}
RATES=${RATES:-4,10,20,35,50}
DURATION=${DURATION:-15}
SLO_TTFT_MS=${SLO_TTFT_MS:-500}
SLO_TPOT_MS=${SLO_TPOT_MS:-20}
KV_IMPORT=${KV_IMPORT:-layers}
mkdir -p "$MODELS"
HEAP=${HEAP:-64g}
main="$JAVA $JAVA_OPTS -Xmx$HEAP -cp $CP io.splitserve.launcher.Main"

load() { timeout "$1" $main bench load --model "$MODEL" --slo-ttft-ms "$SLO_TTFT_MS" --slo-tpot-ms "$SLO_TPOT_MS" "${@:2}"; }

phase_serve() {
  local label=$1; local args=(${2//+/ }); local rates=${3:-$RATES}; local dir=/dev/shm/ss-$label port=8011
  mkdir -p "$R/$label"
  log "serve $label: ${args[*]}"
  rm -rf "$dir"
  $main serve --model "$MODEL" --backend "$BACKEND" --kv-import "$KV_IMPORT" --max-batch-size 128 --aeron-dir "$dir" --port $port "${args[@]}" \
    > "$R/$label/serve.log" 2>&1 &
  local pid=$!
  local up=0
  for _ in $(seq 240); do
    if curl -sf localhost:$port/health >/dev/null 2>&1; then up=1; break; fi
    alive $pid || break
    sleep 1
  done
  if [[ $up != 1 ]]; then log "serve $label did not come up"; tail -30 "$R/$label/serve.log"; kill $pid; return; fi
  log "serve $label up"
  load 120 --aeron-dir "$dir" --users 1 --requests 16 --workload mixed --seed 7 --drain-timeout 60 \
    --out "$R/$label/unloaded" --label "$label unloaded" > "$R/$label/unloaded.log" 2>&1
  log "unloaded rc=$?"; grep -E "TTFT|TPOT|requests" "$R/$label/unloaded.log" | head -8
  load 400 --aeron-dir "$dir" --workload mixed --seed 1 --sweep "$rates" --refine 0 --duration "$DURATION" \
    --drain-timeout 25 --out "$R/$label/sweep" --label "$label" > "$R/$label/sweep.log" 2>&1
  log "sweep rc=$?"; cat "$R/$label/sweep/sweep.csv" 2>/dev/null
  load 200 --aeron-dir "$dir" --workload fixed --prompt-tokens 600 --output-tokens 600 --users 40 --requests 40 \
    --drain-timeout 120 --out "$R/$label/fixed40" --label "$label 40x600" > "$R/$label/fixed40.log" 2>&1
  log "fixed40 rc=$?"; grep -iE "throughput|output tok|wall|duration" "$R/$label/fixed40/report.md" | head -6
  kill $pid; wait $pid 2>/dev/null
  grep -iE "exception|error" "$R/$label/serve.log" | head -10
}

phase_engine() {
  timeout 240 $main bench engine "$MODEL" --prompts 40 --prompt-tokens 600 --new-tokens 600 --backend cuda \
    --max-running 128 --rounds 2 > "$R/engine40.log" 2>&1
  log "engine rc=$?"; grep -E "engine:|round" "$R/engine40.log"
}

phase_kvbench() {
  local label=$1; local args=(${2//+/ })
  timeout 300 $main bench kv-stream "${args[@]}" > "$R/kvbench-$label.log" 2>&1
  log "kvbench rc=$?"; grep -vE "^\s+at " "$R/kvbench-$label.log" | tail -20
}

phase_hf() {
  local mode=$1; shift
  for rate in "$@"; do
    local sched=$R/hf-schedule-$rate.jsonl name=$R/hf-$mode-$rate
    [[ -f $sched ]] || load 60 --rate "$rate" --duration "$DURATION" --workload mixed --seed 1 --write-schedule "$sched" \
      > "$R/hf-schedule-$rate.log" 2>&1
    timeout "${HF_TIMEOUT:-150}" python3 "$here/hf_serve.py" "$MODEL" "$sched" "$name.json" --mode "$mode" \
      --max-batch 128 --time-limit "${HF_TIME_LIMIT:-90}" --slo-ttft-ms "$SLO_TTFT_MS" --slo-tpot-ms "$SLO_TPOT_MS" \
      --label "transformers $mode" --header > "$name.log" 2>&1
    log "hf $mode rate $rate rc=$?"; grep -vE "Loading weights|it/s\]" "$name.log" | tail -4
  done
}

run_phases "$@"
