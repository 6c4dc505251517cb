# Sourced by the GPU machine's device scripts (kv_path_device.sh, disagg_device.sh) once they have set d (the
# unpacked bundle directory) and here (this folder): what both share, written once.
#   - the bundle's environment (env.sh: $JAVA, $CP), the JVM options and the collective-library settings, $OUT (the
#     folder that gets run.log and results.tgz, default ./gpu-out) and $R (/tmp/res, where everything lands);
#   - log and alive, for the scripts' own phases;
#   - the phases both offer: facts, models NAME... (checkpoints under $MODELS, which the script sets before a phase
#     runs), junit NAME... (gpu-tagged classes, bounded by $JUNIT_TIMEOUT, default 300 s);
#   - run_phases "$@": runs `PHASE [ARGS] [, PHASE [ARGS]]...` in the order given, teeing all output into
#     $OUT/run.log, then packs /tmp/res into $OUT/results.tgz. A script that sets on_exit to a function's name has
#     it run when the phases end, however they end.
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"
export JAVA_OPTS="--add-opens=java.base/java.util.zip=ALL-UNNAMED -Dchronicle.analytics.disable=true -Dchronicle.announcer.disable=true"
source "$d/env.sh"
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
R=/tmp/res; mkdir -p "$R"
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [[ -n $s && $s != Z* ]]; }
log() { echo "[$(date -u +%H:%M:%S)] $*"; }

phase_facts() {
  date -u; nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm --format=csv
  nvidia-smi topo -m; nproc; free -g | head -2
}

phase_models() {
  mkdir -p /tmp/hf-tokenizers "$MODELS"
  for f in "$d"/hf-tokenizers/*.tgz; do [[ -f $f ]] && tar xzf "$f" -C /tmp/hf-tokenizers; done
  (cd "$here" && timeout 300 python3 serving_models.py "$MODELS" /tmp/hf-tokenizers "$@")
  log "models rc=$?"
}

phase_junit() {
  local names; names=$(IFS='|'; echo "$*")
  timeout "${JUNIT_TIMEOUT:-300}" bash "$d/junit.sh" --include-tag gpu --include-classname ".*\\.($names)" > "$R/junit.log" 2>&1
  log "junit rc=$?"
  grep -E "tests (found|successful|failed|skipped|aborted)|containers failed" "$R/junit.log"
  grep -B2 -A15 "✘" "$R/junit.log" | head -60
}

run_phases() {
  {
    [[ -n ${on_exit:-} ]] && trap "$on_exit" EXIT
    while (($#)); do
      p=$1; shift; a=()
      while (($#)) && [[ $1 != , ]]; do a+=("$1"); shift; done
      (($#)) && shift
      log "== $p ${a[*]}"
      "phase_$p" "${a[@]}"
    done
    log "== done"
  } 2>&1 | tee "$OUT/run.log"
  tar czf "$OUT/results.tgz" -C /tmp res 2>/dev/null
  ls -la "$OUT"
}
