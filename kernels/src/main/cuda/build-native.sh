#!/usr/bin/env bash
# Builds the GPU side of the kernels module: every cuda/*.cu into ONE fatbin (sm_80, sm_90a and compute_90 PTX)
# and the cuBLAS JNI bridge (c/*.c) into a shared library; both land in the class-path resource folder.
# Where nvcc or gcc is missing it says so and exits 0: the CPU-only build must keep passing, and the CUDA backend
# then reports at start-up that the kernels were not built.
# usage: build-native.sh SRC_MAIN_DIR WORK_DIR RESOURCE_OUT_DIR
set -euo pipefail
src=$(cd "$1" && pwd); work=$2; out=$3
mkdir -p "$work" "$out"

nvcc_bin=${NVCC:-$(command -v nvcc || true)}
if [[ -z "$nvcc_bin" && -x /usr/local/cuda/bin/nvcc ]]; then nvcc_bin=/usr/local/cuda/bin/nvcc; fi
if [[ -z "$nvcc_bin" ]]; then
  echo "[splitserve-kernels] nvcc not found: CUDA kernels NOT built (CPU backend only)"
  rm -f "$out/splitserve_kernels.fatbin"
else
  # one translation unit including every kernel family, so one fatbin holds them all; rebuilt only when a
  # source is newer than the fatbin
  fatbin="$out/splitserve_kernels.fatbin"
  newest=$(ls -t "$src"/cuda/*.cu "$src"/cuda/*.cuh 2>/dev/null | head -1)
  if [[ ! -f "$fatbin" || "$newest" -nt "$fatbin" || "$0" -nt "$fatbin" ]]; then
    unity="$work/all_kernels.cu"
    : > "$unity"
    for f in "$src"/cuda/*.cu; do echo "#include \"$f\"" >> "$unity"; done
    echo "[splitserve-kernels] nvcc: $(ls "$src"/cuda/*.cu | wc -l) kernel files -> $(basename "$fatbin")"
    "$nvcc_bin" -fatbin -O3 -std=c++17 --threads 3 -I "$src/cuda" \
      -gencode arch=compute_80,code=sm_80 \
      -gencode arch=compute_90a,code=sm_90a \
      -gencode arch=compute_90,code=compute_90 \
      -Xptxas -warn-spills ${NVCC_EXTRA:-} \
      -o "$fatbin.tmp" "$unity"
    mv "$fatbin.tmp" "$fatbin"
  fi
fi

gcc_bin=$(command -v gcc || command -v cc || true)
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
if [[ -z "$gcc_bin" || ! -f "$java_home/include/jni.h" ]]; then
  echo "[splitserve-kernels] gcc or jni.h not found: cuBLAS bridge NOT built"
  rm -f "$out/libsplitserve_cublas.so"
else
  lib="$out/libsplitserve_cublas.so"
  newest=$(ls -t "$src"/c/*.c | head -1)
  if [[ ! -f "$lib" || "$newest" -nt "$lib" ]]; then
    "$gcc_bin" -O2 -shared -fPIC -Wall -Wextra -Werror -I "$java_home/include" -I "$java_home/include/linux" \
      -o "$lib" "$src"/c/*.c -ldl
  fi
fi
