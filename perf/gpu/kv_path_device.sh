#!/usr/bin/env bash
# The GPU KV path measured on one GPU machine, in phases run in the order given:
#   facts                 GPUs, their link (nvidia-smi topo), CPUs, memory
#   models NAME...        random-weight checkpoints with real tokenizers (serving_models.py) under $MODELS
#   junit NAME...         gpu-tagged JUnit classes by simple name (e.g. DeviceKvPathGpuTest)
#   kvpath MODEL [LENGTHS]  `bench kv-path` (both paths, prefill and decode on GPU 0, the decode side a process of its
#                         own): log kvpath-MODEL.log, rows kvpath-MODEL.csv
#   ttft [MODEL] [LENGTHS]  unloaded TTFT by prompt length: disaggregated as separate processes on ONE GPU (driver,
#                         router, prefill, decode joined over /dev/shm) against `serve --colocated`; one user,
#                         12 requests of L prompt and 8 output tokens per length, after $WARMUP (20) unrecorded
#                         ones of each length; table ttft-MODEL.md
# MODEL is a name under $MODELS (default /tmp/models) or a model directory. LENGTHS: comma-separated, default
# 128,600,2048,8192. Environment: BACKEND (cuda; cpu for a dry run, which measures the host path only), PATHS
# (gpu,host on cuda), REPS (5), GPU (0), MEM_FRACTION (0.35), HEAP (32g). Each phase is bounded by timeout; logs
# land under /tmp/res, and at the end $OUT gets run.log and results.tgz.
# usage: bash perf/gpu/kv_path_device.sh BUNDLE_DIR PHASE [ARGS] [, PHASE [ARGS]]...
# facts, models and junit, and the phase loop, are perf/gpu/phases.sh's.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
d=$(cd "$1" && pwd); shift
source "$here/phases.sh"
MODELS=${MODELS:-/tmp/models}
BACKEND=${BACKEND:-cuda}
if [[ $BACKEND == cuda ]]; then PATHS=${PATHS:-gpu,host}; else PATHS=${PATHS:-host}; fi
LENGTHS=${LENGTHS:-128,600,2048,8192}
REPS=${REPS:-5}
WARMUP=${WARMUP:-20}
GPU=${GPU:-0}
MEM_FRACTION=${MEM_FRACTION:-0.35}
HEAP=${HEAP:-32g}
mkdir -p "$MODELS"
main="$JAVA $JAVA_OPTS -Xmx$HEAP -cp $CP io.splitserve.launcher.Main"
pids=()
model_dir() { if [[ -d $1 ]]; then (cd "$1" && pwd); else echo "$MODELS/$1"; fi; }
# the GPU options of a role (none on the CPU backend)
gpu_args() { [[ $BACKEND == cuda ]] && echo "--gpu $GPU --mem-fraction $MEM_FRACTION"; }

phase_kvpath() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1"); local lengths=${2:-$LENGTHS}
  timeout 240 $main bench kv-path "$model" "$R/kvpath-$name.csv" --backend "$BACKEND" --gpu "$GPU" --paths "$PATHS" \
    --lengths "$lengths" --reps "$REPS" --warmup "${KV_WARMUP:-1}" > "$R/kvpath-$name.log" 2>&1
  log "kvpath $name rc=$?"; grep -vE "^\s+at " "$R/kvpath-$name.log" | tail -24
}

# stops every process this script started in the current setup, newest first
stop_all() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; wait "${pids[i]}" 2>/dev/null; done
  pids=()
}

# waits (at most $2 s) until the router on port $1 says it serves, while every started process lives
await_health() {
  local port=$1 limit=$2 pid
  for _ in $(seq "$limit"); do
    curl -sf "localhost:$port/health" >/dev/null 2>&1 && return 0
    for pid in "${pids[@]}"; do alive "$pid" || { log "process $pid exited before health"; return 1; }; done
    sleep 1
  done
  log "no health on port $port within $limit s"; return 1
}

# one unloaded load per length against the system on aeron dir $3; TTFT P50 and P99 lines "L P50 P99" into $2
ttft_loads() {
  local setup=$1 table=$2 dir=$3 model=$4 lengths=$5 l report p
  : > "$table"
  # warm-up, not recorded: both setups serve the same ${WARMUP} requests of every length first, so neither is measured
  # on code paths the JIT has not compiled yet
  for l in ${lengths//,/ }; do
    timeout 150 $main bench load --model "$model" --aeron-dir "$dir" --users 1 --requests "$WARMUP" --workload fixed \
      --prompt-tokens "$l" --output-tokens 8 --seed 3 --drain-timeout 60 --out "$R/ttft/warmup-$setup-$l" \
      --label "warm-up $setup $l" > "$R/ttft/warmup-$setup-$l.log" 2>&1
  done
  log "warm-up $setup: $WARMUP requests per length"
  for l in ${lengths//,/ }; do
    timeout 150 $main bench load --model "$model" --aeron-dir "$dir" --users 1 --requests 12 --workload fixed \
      --prompt-tokens "$l" --output-tokens 8 --seed 7 --drain-timeout 60 --out "$R/ttft/$setup-$l" \
      --label "$setup $l" > "$R/ttft/$setup-$l.log" 2>&1
    log "load $setup $l rc=$?"
    report=$R/ttft/$setup-$l/report.md
    p=$(awk -F'|' '{n = $2; gsub(/ /, "", n)} n == "TTFT" {a = $4; b = $6; gsub(/ /, "", a); gsub(/ /, "", b); print a, b; exit}' \
      "$report" 2>/dev/null)
    echo "$l ${p:-- -}" >> "$table"
    sed -n '/^## Errors by kind/,/^## Files/p' "$report" 2>/dev/null | grep -vE '^(## |$|None\.)' | head -4
  done
}

phase_ttft() {
  local name; name=$(basename "${1:-qwen2.5-1.5b}"); local model; model=$(model_dir "${1:-qwen2.5-1.5b}")
  local lengths=${2:-$LENGTHS} port=8021 dir=/dev/shm/ss-ttft max_input
  max_input=$(( $(tr ',' '\n' <<< "$lengths" | sort -n | tail -1) + 64 ))
  mkdir -p "$R/ttft"; rm -rf "$dir"
  local kv_path=()
  if $main prefill --help 2>/dev/null | grep -q -- "--kv-path"; then kv_path=(--kv-path auto); fi
  log "ttft $name: disaggregated on one GPU (prefill ${kv_path[*]:-without --kv-path}), lengths $lengths"
  $main driver --aeron-dir "$dir" > "$R/ttft/driver.log" 2>&1 & pids+=($!)
  for _ in $(seq 60); do grep -q "ready" "$R/ttft/driver.log" 2>/dev/null && break; sleep 0.5; done
  $main router --model "$model" --join-driver "$dir" --port $port --max-input-length "$max_input" \
    > "$R/ttft/router.log" 2>&1 & pids+=($!)
  # shellcheck disable=SC2046
  $main prefill --model "$model" --join-driver "$dir" --backend "$BACKEND" $(gpu_args) "${kv_path[@]}" \
    --prefill-token-budget "$max_input" > "$R/ttft/prefill.log" 2>&1 & pids+=($!)
  # shellcheck disable=SC2046
  $main decode --model "$model" --join-driver "$dir" --backend "$BACKEND" $(gpu_args) > "$R/ttft/decode.log" 2>&1 &
  pids+=($!)
  if await_health $port 240; then
    ttft_loads disagg "$R/ttft/disagg.txt" "$dir" "$model" "$lengths"
  else
    tail -5 "$R"/ttft/{driver,router,prefill,decode}.log
  fi
  stop_all; rm -rf "$dir"
  log "ttft $name: colocated"
  # shellcheck disable=SC2046
  $main serve --colocated --model "$model" --backend "$BACKEND" $(gpu_args) --aeron-dir "$dir" --port $port \
    --max-input-length "$max_input" > "$R/ttft/colocated.log" 2>&1 & pids+=($!)
  if await_health $port 240; then
    ttft_loads colocated "$R/ttft/colocated.txt" "$dir" "$model" "$lengths"
  else
    tail -10 "$R/ttft/colocated.log"
  fi
  stop_all; rm -rf "$dir"
  {
    echo "Unloaded TTFT (ms; 1 user, 12 requests after $WARMUP warm-up ones per length, 8 output tokens; $BACKEND, $name), disaggregated on one GPU vs colocated"
    echo
    echo "| prompt tokens | disagg P50 | disagg P99 | colocated P50 | colocated P99 | disagg/colocated P50 (goal <= 1.1) |"
    echo "|---:|---:|---:|---:|---:|---:|"
    join <(sort -k1,1 "$R/ttft/disagg.txt" 2>/dev/null) <(sort -k1,1 "$R/ttft/colocated.txt" 2>/dev/null) | sort -n |
      awk '{r = ($4 + 0 > 0 && $2 + 0 > 0) ? sprintf("%.2f", $2 / $4) : "-"; printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, r}'
  } > "$R/ttft-$name.md"
  cat "$R/ttft-$name.md"
}

on_exit=stop_all
run_phases "$@"
