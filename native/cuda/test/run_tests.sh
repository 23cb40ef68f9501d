#!/bin/sh
# Builds and runs the C++ kernel tests (test/*_test.cu), each against every source in src/:
#   sh native/cuda/test/run_tests.sh emu   g++ -DNL_CUDA_EMU: kernels on the CPU emulator (any machine)
#   sh native/cuda/test/run_tests.sh gpu   nvcc for sm_80/sm_90 (needs a GPU to run)
# Prints each test's lines; exits non-zero if a build or a test fails.
set -eu
mode=${1:-emu}
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/build/tests/$mode"
mkdir -p "$out"
cd "$here"
srcs=$(ls src/*.cu src/*.cc)
if [ "$mode" = emu ]; then
  CXX=${CXX:-g++}
  objs=""
  for f in $srcs; do
    o="$out/$(basename "$f").o"
    $CXX -std=c++17 -O2 -DNL_CUDA_EMU -Wall -Wno-unknown-pragmas -x c++ -c "$f" -o "$o"
    objs="$objs $o"
  done
  for t in test/*_test.cu; do
    $CXX -std=c++17 -O2 -DNL_CUDA_EMU -Wall -Wno-unknown-pragmas -x c++ "$t" -x none $objs -o "$out/$(basename "$t" .cu)" -ldl -pthread
  done
else
  NVCC=${NVCC:-nvcc}
  archs="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90"
  objs=""
  for f in $srcs; do
    o="$out/$(basename "$f").o"
    $NVCC -std=c++17 -O3 $archs -x cu -c "$f" -o "$o"
    objs="$objs $o"
  done
  for t in test/*_test.cu; do
    $NVCC -std=c++17 -O3 $archs "$t" $objs -o "$out/$(basename "$t" .cu)" -ldl
  done
fi
fail=0
for t in "$out"/*_test; do
  echo "== $(basename "$t") ($mode)"
  if ! "$t"; then fail=1; fi
done
exit $fail
