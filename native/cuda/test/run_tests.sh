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
# unchanged sources, headers and tests since the last build of this mode: run the binaries as they are
stamp=$(cat src/* emu/* test/*_test.cu | cksum)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && ls "$out"/*_test >/dev/null 2>&1; then
  :
elif [ "$mode" = emu ]; then
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
  archs=""
  for a in $(echo "${NANOLAB_CUDA_ARCHS:-80,90}" | tr , ' '); do archs="$archs -gencode arch=compute_$a,code=sm_$a"; done
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
echo "$stamp" > "$out/stamp"
fail=0
for t in "$out"/*_test; do
  echo "== $(basename "$t") ($mode)"
  if ! "$t"; then fail=1; fi
  if [ "$mode" = emu ]; then  # threads in reverse order: a missing barrier shows in one order or the other
    echo "== $(basename "$t") ($mode, NLEMU_ORDER=reverse)"
    if ! NLEMU_ORDER=reverse "$t"; then fail=1; fi
  fi
done
exit $fail
