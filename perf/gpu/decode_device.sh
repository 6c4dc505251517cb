#!/usr/bin/env bash
# The decode step on the GPU machine, one build measured two ways in the same run, in phases run in the order given
# (facts, models and junit as in phases.sh, plus):
#   runner MODEL LABEL [-Dprop=value ...]  `bench runner` (prefill 40 x 600, decode 40 x (600, 600) greedy and
#                   sampled, single stream 128/256, step time by batch at 1k context) with the given JVM properties,
#                   into /tmp/res/runner-MODEL-LABEL.csv (log beside it)
#   profile MODEL LABEL [-Dprop=value ...] [-- RUNNER_PROFILE_ARGS] a per-kernel profile (Nsight Compute) of one eager
#                   decode step at 1k context (batch 1 unless the args say otherwise, e.g. `-- --batch 256 --sampled`),
#                   into /tmp/res/profile-MODEL-LABEL.txt
#   kernelbench SECTIONS  `bench kernels --sections SECTIONS` and torch_bench.py over the same sections (those it has),
#                   into /tmp/res/kernels-java.csv and kernels-torch.csv
#   hfcheck NAME... hf_models.py's random-weight checkpoints and transformers goldens for the given names (into $MODELS
#                   and /tmp/golden), then `bench runner-check` on each (with $HFCHECK_ARGS, e.g. --prefill-chunk
#                   8192), into /tmp/res/hfcheck-NAME.log
#   long MODEL [N1,N2]  `bench runner-long` (time to first token through chunked prefill, decode at that context)
#                   and hf_bench.py's long setup for the same prompt lengths (default 32768,131072), into
#                   /tmp/res/long-MODEL.csv and long-hf-MODEL.csv
# MODEL is a name under $MODELS (default /tmp/models) or a model directory. $OUT gets run.log and results.tgz.
# usage: bash perf/gpu/decode_device.sh BUNDLE_DIR PHASE [ARGS] [, PHASE [ARGS]]...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
d=$(cd "$1" && pwd); shift
source "$here/phases.sh"
MODELS=${MODELS:-/tmp/models}
model_dir() { if [[ -d $1 ]]; then (cd "$1" && pwd); else echo "$MODELS/$1"; fi; }

phase_runner() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1"); local label=$2; shift 2
  local csv=$R/runner-$name-$label.csv
  timeout 240 $JAVA $JAVA_OPTS "$@" -Xmx48g -cp "$CP" io.splitserve.launcher.Main bench runner "$model" "$csv" \
    > "$R/runner-$name-$label.log" 2>&1
  log "runner $name $label rc=$?"
  cat "$csv" 2>/dev/null | head -40
}

phase_profile() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1"); local label=$2; shift 2
  local props=() extra=(--batch 1)
  while (($#)); do if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi; props+=("$1"); shift; done
  set -- "${props[@]}"
  local ncu_bin; ncu_bin=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || true)
  if [[ -z $ncu_bin ]]; then log "no ncu on this machine"; return; fi
  timeout 200 "$ncu_bin" --clock-control none --metrics gpu__time_duration.sum --csv --log-file "$R/ncu-$name-$label.csv" \
    $JAVA $JAVA_OPTS "$@" -Xmx48g -cp "$CP" io.splitserve.launcher.Main bench runner-profile "$model" \
    --context 1024 --steps 3 "${extra[@]}" > "$R/ncu-$name-$label.log" 2>&1
  log "profile $name $label rc=$?"
  python3 "$here/ncu_step.py" "$R/ncu-$name-$label.csv" > "$R/profile-$name-$label.txt" 2>&1
  head -40 "$R/profile-$name-$label.txt"
}

phase_kernelbench() {
  timeout 200 $JAVA $JAVA_OPTS -Xmx48g -cp "$CP" io.splitserve.launcher.Main bench kernels "$R/kernels-java.csv" \
    --sections "$1" > "$R/kernels-java.log" 2>&1
  log "kernels java rc=$?"; cat "$R/kernels-java.csv"
  PYTHONUNBUFFERED=1 timeout 200 python3 "$here/torch_bench.py" "$R/kernels-torch.csv" "$1" > "$R/kernels-torch.log" 2>&1
  log "kernels torch rc=$?"; cat "$R/kernels-torch.csv"
}
phase_long() {
  local name; name=$(basename "$1"); local model; model=$(model_dir "$1"); local contexts=${2:-32768,131072}
  timeout 420 $JAVA $JAVA_OPTS -Xmx48g -cp "$CP" io.splitserve.launcher.Main bench runner-long "$model" \
    "$R/long-$name.csv" --contexts "$contexts" > "$R/long-$name.log" 2>&1
  log "long $name rc=$?"; cat "$R/long-$name.csv" 2>/dev/null || tail -5 "$R/long-$name.log"
  HF_LONG_CONTEXTS=$contexts timeout 420 python3 "$here/hf_bench.py" "$model" "$R/long-hf-$name.csv" long \
    > "$R/long-hf-$name.log" 2>&1
  log "long hf $name rc=$?"; cat "$R/long-hf-$name.csv" 2>/dev/null || tail -5 "$R/long-hf-$name.log"
}

phase_hfcheck() {
  mkdir -p "$MODELS" /tmp/golden
  timeout 300 python3 "$here/hf_models.py" "$MODELS" /tmp/golden "$@" > "$R/hfcheck-models.log" 2>&1
  log "hf models rc=$?"; grep -E "parameters|reference|Error" "$R/hfcheck-models.log"
  local name
  for name in "$@"; do
    timeout 300 $JAVA $JAVA_OPTS -Xmx48g -cp "$CP" io.splitserve.launcher.Main bench runner-check "$MODELS/$name" \
      "/tmp/golden/$name" ${HFCHECK_ARGS:-} > "$R/hfcheck-$name.log" 2>&1
    log "hfcheck $name rc=$?"; tail -3 "$R/hfcheck-$name.log"
  done
}

run_phases "$@"
