#!/usr/bin/env bash
# The prefix cache measured on the GPU machine, cache on against off with the same seeded requests, in phases run in
# the order given (facts, models and junit as in phases.sh, plus):
#   prefixcache MODEL WORKLOAD RATE DURATION  one colocated `serve` (CUDA) with the cache, then one without,
#                   each driven by `bench load --http` open loop (WORKLOAD: multi-turn, system-prompt or few-shot;
#                   seed 1); each report ends with the server's prefix-cache counters (reports and logs under
#                   /tmp/res/prefix-MODEL-WORKLOAD-on|off)
# MODEL is a name under $MODELS (default /tmp/models) or a model directory. Environment: BACKEND (cuda; cpu for a
# dry run), GPU (0), MEM_FRACTION (0.85), SLO_TTFT_MS (250), SLO_TPOT_MS (10), HEAP (32g). Logs land under /tmp/res;
# $OUT gets run.log and results.tgz.
# usage: bash perf/gpu/prefix_cache_device.sh BUNDLE_DIR PHASE [ARGS] [, PHASE [ARGS]]...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
d=$(cd "$1" && pwd); shift
source "$here/phases.sh"
MODELS=${MODELS:-/tmp/models}
BACKEND=${BACKEND:-cuda}
GPU=${GPU:-0}
MEM_FRACTION=${MEM_FRACTION:-0.85}
SLO_TTFT_MS=${SLO_TTFT_MS:-250}
SLO_TPOT_MS=${SLO_TPOT_MS:-10}
HEAP=${HEAP:-32g}
main="$JAVA $JAVA_OPTS -Xmx$HEAP -cp $CP io.splitserve.launcher.Main"
server=
model_dir() { if [[ -d $1 ]]; then (cd "$1" && pwd); else echo "$MODELS/$1"; fi; }
stop_server() { [[ -n $server ]] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }; server=; }
on_exit=stop_server

phase_prefixcache() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1")
  local workload=$2 rate=$3 duration=$4 port=8031 mode flag
  for mode in on off; do
    flag=(); [[ $mode == off ]] && flag=(--no-enable-prefix-caching)
    $main serve --colocated --model "$model" --backend "$BACKEND" --gpu "$GPU" --mem-fraction "$MEM_FRACTION" \
      --port $port "${flag[@]}" > "$R/prefix-$name-$workload-$mode-serve.log" 2>&1 &
    server=$!
    for _ in $(seq 240); do curl -sf "localhost:$port/health" >/dev/null 2>&1 && break; alive "$server" || break; sleep 1; done
    if ! curl -sf "localhost:$port/health" >/dev/null 2>&1; then
      log "serve ($mode) did not come up"; tail -5 "$R/prefix-$name-$workload-$mode-serve.log"; stop_server; continue
    fi
    timeout $((duration + 120)) $main bench load --model "$model" --http "http://127.0.0.1:$port" --workload "$workload" \
      --rate "$rate" --duration "$duration" --seed 1 --slo-ttft-ms "$SLO_TTFT_MS" --slo-tpot-ms "$SLO_TPOT_MS" \
      --drain-timeout 60 --out "$R/prefix-$name-$workload-$mode" --label "$name $workload cache $mode" \
      > "$R/prefix-$name-$workload-$mode.log" 2>&1
    log "load $mode rc=$?"; grep -E "cache (on|off):|prefix cache:" "$R/prefix-$name-$workload-$mode.log"
    stop_server
  done
}

run_phases "$@"
