#!/usr/bin/env bash
# The prefix cache measured on the GPU machine, cache on against off with the same seeded requests, in phases run in
# the order given (facts, models and junit as in phases.sh, plus):
#   prefixcache MODEL WORKLOAD RATES DURATION [SCALE]   one colocated `serve` (CUDA) with the cache, then one without;
#   prefixdisagg MODEL WORKLOAD RATES DURATION [SCALE]  driver, router, one prefill and one decode process sharing the
#                   GPU, all with the cache, then all without;
# each setup is driven by `bench load --http` open loop at each rate of RATES (comma-separated; seed = the rate, so
# no run finds the prompts of an earlier one cached; 5 s of warm-up each) with WORKLOAD multi-turn, system-prompt or
# few-shot scaled by SCALE (default 1); each report ends with the server's prefix-cache counters and KV bytes per
# transfer. Reports and logs land under /tmp/res/prefix-{colo,disagg}-MODEL-WORKLOAD-on|off-RATE.
# MODEL is a name under $MODELS (default /tmp/models) or a model directory. Environment: BACKEND (cuda; cpu for a
# dry run), GPU (0), MEM_FRACTION (0.85 colocated), NODE_MEM_FRACTION (0.4 per disaggregated node), SLO_TTFT_MS (500),
# SLO_TPOT_MS (25), MAX_INPUT (7000), MAX_BATCH (64: sequences a node decodes at once), HEAP (32g). $OUT gets run.log and results.tgz.
# usage: bash perf/gpu/prefix_cache_device.sh BUNDLE_DIR PHASE [ARGS] [, PHASE [ARGS]]...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
d=$(cd "$1" && pwd); shift
source "$here/phases.sh"
MODELS=${MODELS:-/tmp/models}
BACKEND=${BACKEND:-cuda}
GPU=${GPU:-0}
MEM_FRACTION=${MEM_FRACTION:-0.85}
NODE_MEM_FRACTION=${NODE_MEM_FRACTION:-0.4}
SLO_TTFT_MS=${SLO_TTFT_MS:-500}
SLO_TPOT_MS=${SLO_TPOT_MS:-25}
MAX_INPUT=${MAX_INPUT:-7000}
MAX_BATCH=${MAX_BATCH:-64}
HEAP=${HEAP:-32g}
main="$JAVA $JAVA_OPTS -Xmx$HEAP -cp $CP io.splitserve.launcher.Main"
pids=()
model_dir() { if [[ -d $1 ]]; then (cd "$1" && pwd); else echo "$MODELS/$1"; fi; }
gpu_args() { [[ $BACKEND == cuda ]] && echo "--gpu $GPU --mem-fraction $1"; }
stop_all() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; wait "${pids[i]}" 2>/dev/null; done
  pids=()
}
on_exit=stop_all
await_health() {
  local port=$1 limit=$2
  for _ in $(seq "$limit"); do curl -sf "localhost:$port/health" >/dev/null 2>&1 && return 0; sleep 1; done
  log "no health on port $port within $limit s"; return 1
}

# loads at each rate against the server on $port; $1 names the run
loads() {
  local run=$1 model=$2 workload=$3 rates=$4 duration=$5 scale=$6 port=$7 rate
  for rate in ${rates//,/ }; do
    timeout $((duration + 150)) $main bench load --model "$model" --http "http://127.0.0.1:$port" \
      --workload "$workload" --length-scale "$scale" --rate "$rate" --duration "$duration" --warmup 5 --seed "$rate" \
      --slo-ttft-ms "$SLO_TTFT_MS" --slo-tpot-ms "$SLO_TPOT_MS" --drain-timeout 90 --out "$R/$run-$rate" \
      --label "$run rate $rate" > "$R/$run-$rate.log" 2>&1
    log "load $run rate $rate rc=$?"
    grep -E "^\| (TTFT|TPOT) |requests/s|goodput|prefix|KV bytes" "$R/$run-$rate/report.md" 2>/dev/null | head -12
  done
}

phase_prefixcache() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1")
  local workload=$2 rates=$3 duration=$4 scale=${5:-1} port=8031 mode flag
  log "colocated, max batch $MAX_BATCH"
  for mode in on off; do
    flag=(); [[ $mode == off ]] && flag=(--no-enable-prefix-caching)
    # shellcheck disable=SC2046
    $main serve --colocated --model "$model" --backend "$BACKEND" $(gpu_args "$MEM_FRACTION") --port $port \
      --max-input-length "$MAX_INPUT" --max-batch-size "$MAX_BATCH" "${flag[@]}" > "$R/prefix-colo-$name-$workload-$mode-serve.log" 2>&1 &
    pids+=($!)
    if await_health $port 240; then
      loads "prefix-colo-$name-$workload-$mode-b$MAX_BATCH" "$model" "$workload" "$rates" "$duration" "$scale" $port
    else
      tail -5 "$R/prefix-colo-$name-$workload-$mode-serve.log"
    fi
    stop_all
  done
}

phase_prefixdisagg() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1")
  local workload=$2 rates=$3 duration=$4 scale=${5:-1} port=8032 dir=/dev/shm/ss-prefix mode flag run
  log "disaggregated, max batch $MAX_BATCH"
  for mode in on off; do
    flag=(); [[ $mode == off ]] && flag=(--no-enable-prefix-caching)
    run=prefix-disagg-$name-$workload-$mode-b$MAX_BATCH
    rm -rf "$dir"
    $main driver --aeron-dir "$dir" > "$R/$run-driver.log" 2>&1 & pids+=($!)
    for _ in $(seq 60); do grep -q "ready" "$R/$run-driver.log" 2>/dev/null && break; sleep 0.5; done
    $main router --model "$model" --join-driver "$dir" --port $port --max-input-length "$MAX_INPUT" "${flag[@]}" \
      > "$R/$run-router.log" 2>&1 & pids+=($!)
    # shellcheck disable=SC2046
    $main prefill --model "$model" --join-driver "$dir" --backend "$BACKEND" $(gpu_args "$NODE_MEM_FRACTION") \
      --prefill-token-budget "$MAX_INPUT" "${flag[@]}" > "$R/$run-prefill.log" 2>&1 & pids+=($!)
    # shellcheck disable=SC2046
    $main decode --model "$model" --join-driver "$dir" --backend "$BACKEND" $(gpu_args "$NODE_MEM_FRACTION") \
      --max-batch-size "$MAX_BATCH" "${flag[@]}" > "$R/$run-decode.log" 2>&1 & pids+=($!)
    if await_health $port 240; then
      loads "$run" "$model" "$workload" "$rates" "$duration" "$scale" $port
    else
      tail -5 "$R/$run"-{driver,router,prefill,decode}.log
    fi
    stop_all; rm -rf "$dir"
  done
}

run_phases "$@"
