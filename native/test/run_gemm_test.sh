#!/bin/sh
# Builds and runs the standalone GEMM correctness test and benchmark (no node, no gyp).
#   sh native/test/run_gemm_test.sh            test (every ISA the CPU has) + full bench
#   sh native/test/run_gemm_test.sh test       test only
#   sh native/test/run_gemm_test.sh bf16       the bf16 (AMX) GEMM only
#   sh native/test/run_gemm_test.sh bench ARGS bench only, ARGS passed on (e.g. --quick --threads 1)
# Output binaries go to native/build/gemm/ (git-ignored).
set -e
cd "$(dirname "$0")/../.."
OUT=native/build/gemm
mkdir -p "$OUT"
CXX=${CXX:-g++}
FLAGS="-O3 -std=c++17 -pthread -Wall -Wextra -Inative/src"
SRC="native/src/gemm.cc native/src/gemm_avx512.cc native/src/gemm_avx2.cc native/src/gemm_amx.cc native/src/threadpool.cc"
what=${1:-all}
[ $# -gt 0 ] && shift

if [ "$what" = all ] || [ "$what" = test ]; then
  $CXX $FLAGS native/test/gemm_test.cc $SRC -o "$OUT/gemm_test"
  "$OUT/gemm_test"
  # The fallbacks (the first line tells which kernel actually ran) and small blocking
  # parameters, so that the K/N/M blocking loops and edge packing run on small matrices too.
  for isa in avx2 portable; do NANOLAB_GEMM_ISA=$isa "$OUT/gemm_test" --quick; done
  NANOLAB_GEMM_PATH=0 NANOLAB_GEMM_KC=24 NANOLAB_GEMM_PANEL_KB=12 NANOLAB_GEMM_MC=12 "$OUT/gemm_test" --quick
  NANOLAB_GEMM_PATH=1 "$OUT/gemm_test" --quick
  # The packed path as it was before reading A in place and splitting C between threads.
  NANOLAB_GEMM_A_IN_PLACE=0 NANOLAB_GEMM_SPLIT=0 "$OUT/gemm_test" --quick
  NANOLAB_GEMM_ISA=avx2 NANOLAB_GEMM_PATH=0 NANOLAB_GEMM_KC=20 NANOLAB_GEMM_PANEL_KB=4 "$OUT/gemm_test" --quick
fi

if [ "$what" = all ] || [ "$what" = test ] || [ "$what" = bf16 ]; then
  # precision: bf16 (AMX): against the bf16-rounded inputs, plus GFLOP/s beside fp32
  $CXX $FLAGS native/test/gemm_bf16_test.cc $SRC -o "$OUT/gemm_bf16_test"
  "$OUT/gemm_bf16_test"
fi

if [ "$what" = all ] || [ "$what" = bench ]; then
  $CXX $FLAGS native/bench/gemm_bench.cc $SRC -o "$OUT/gemm_bench" -ldl
  "$OUT/gemm_bench" "$@"
fi
