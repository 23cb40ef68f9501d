#!/bin/sh
# Builds and runs the kernel benchmark (bench/kernels_bench.cu) with every source in src/:
#   sh native/cuda/bench/run_bench.sh gpu [args]   nvcc for ${NANOLAB_CUDA_ARCHS:-80,90} (needs a GPU to run)
#   sh native/cuda/bench/run_bench.sh emu [args]   g++ -DNL_CUDA_EMU: the CPU emulator (always --quick)
# args go to the benchmark: --quick, --precision fp32|tf32|bf16, --only SUBSTRING, --reps N, --warmup N.
# Output binary: native/cuda/build/bench/<mode>/kernels_bench, linked with the kernel tests' objects
# (test/run_tests.sh --build-only), rebuilt when a source, header or the flags change. Exits with
# the benchmark's status (non-zero when the build fails).
set -eu
mode=${1:-}
case "$mode" in
  gpu|emu) shift ;;
  *) echo "usage: sh native/cuda/bench/run_bench.sh gpu|emu [--quick] [--precision fp32|tf32|bf16] [--only SUBSTRING]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/build/bench/$mode"
mkdir -p "$out"
cd "$here"
# the kernels' objects are the kernel tests' (same flags): built there, in parallel, when stale
sh test/run_tests.sh "$mode" --build-only || { echo "run_bench.sh: build failed ($mode)" >&2; exit 1; }
objs=$(ls "$here/build/tests/$mode"/*.o)
stamp=$( (cat "$here/build/tests/$mode/stamp" "$here/build/tests/$mode/cc" bench/kernels_bench.cu) | cksum)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -x "$out/kernels_bench" ]; then
  :
else
  rm -f "$out/stamp"
  cc=$(cat "$here/build/tests/$mode/cc")  # the tests' compiler and flags
  if [ "$mode" = emu ]; then
    $cc -x c++ bench/kernels_bench.cu -x none $objs -o "$out/kernels_bench" -ldl -pthread
  else
    $cc bench/kernels_bench.cu $objs -o "$out/kernels_bench" -ldl
  fi
  echo "$stamp" > "$out/stamp"
fi
exec "$out/kernels_bench" "$@"
