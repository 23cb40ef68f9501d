#!/bin/sh
# Builds and runs the C++ kernel tests (test/*_test.cu), each against every source in src/:
#   sh native/cuda/test/run_tests.sh emu   g++ -DNL_CUDA_EMU: kernels on the CPU emulator (any machine)
#   sh native/cuda/test/run_tests.sh emu-asan   the same with AddressSanitizer and UBSan: reads or
#                                          writes past a cudaMalloc'd buffer, use after free, integer
#                                          overflow and bad shifts in the kernels stop the test
#   sh native/cuda/test/run_tests.sh gpu   nvcc for sm_80/sm_90 (needs a GPU to run)
#   ... --build-only                       builds (objects in build/tests/<mode>/, which the benchmark links too)
# Sources compile in parallel (up to nproc at a time). Prints each test's lines; exits non-zero if a
# build or a test fails.
set -eu
mode=${1:-emu}
case "$mode" in
  emu|emu-asan|gpu) ;;
  *) echo "usage: sh native/cuda/test/run_tests.sh emu|emu-asan|gpu [--build-only]" >&2; exit 2 ;;
esac
build_only=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/build/tests/$mode"
mkdir -p "$out"
cd "$here"
srcs=$(ls src/*.cu src/*.cc)
archs=""
for a in $(echo "${NANOLAB_CUDA_ARCHS:-80,90}" | tr , ' '); do archs="$archs -gencode arch=compute_$a,code=sm_$a"; done
if [ "$mode" != gpu ]; then
  cc="${CXX:-g++} -std=c++17 -DNL_CUDA_EMU -Wall -Wno-unknown-pragmas"
  if [ "$mode" = emu ]; then
    # a float4 access through a pointer that is not 16-byte aligned stops the test (x86 would
    # load it anyway, a GPU faults), where the compiler has UBSan's runtime
    align="-fsanitize=alignment -fno-sanitize-recover=alignment"
    if echo 'int main(){return 0;}' | ${CXX:-g++} -x c++ $align -o /dev/null - 2>/dev/null; then
      cc="$cc -O2 $align"
    else
      echo "run_tests.sh: no UBSan runtime for ${CXX:-g++}: alignment not checked" >&2
      cc="$cc -O2"
    fi
  else
    cc="$cc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  fi
  # uninitialized locals start as a byte pattern (huge floats), as a GPU's registers hold garbage,
  # not what a reused fiber stack last held (GCC 12+, clang 16+)
  if echo 'int main(){return 0;}' | ${CXX:-g++} -x c++ -ftrivial-auto-var-init=pattern -o /dev/null - 2>/dev/null; then
    cc="$cc -ftrivial-auto-var-init=pattern"
  fi
  # The kernels (not the tests' references) with FMA contraction on, as nvcc builds them by default,
  # where this CPU runs FMA code: an a * b + c that a bit-exact check counts on not fusing then
  # fails here as on a GPU (src/rowwise.cu's fadd, fmul... keep one rounding each)
  fma="-mfma -ffp-contract=fast"
  if echo 'int main(){volatile float a=1.5f,b=2.f,c=3.f;return __builtin_fmaf(a,b,c)==6.f?0:1;}' |
    ${CXX:-g++} -x c++ $fma -o "$out/fma_probe" - 2>/dev/null && "$out/fma_probe"; then
    kernel_flags="$fma"
  else
    echo "run_tests.sh: this CPU or compiler has no FMA: kernels built without contraction" >&2
    kernel_flags=""
  fi
  rm -f "$out/fma_probe"
  cc="$cc -ffp-contract=off"
  compile="$cc $kernel_flags -x c++ -c"
  link_pre="$cc -x c++"; link_post="-ldl -pthread"
else
  cc="${NVCC:-nvcc} -std=c++17 -O3 $archs"
  compile="$cc -x cu -c"
  link_pre="$cc"; link_post="-ldl"
fi
# unchanged sources, headers, tests and compiler flags since the last build of this mode: run the
# binaries as they are
stamp=$( (cat src/* emu/* test/*_test.cu; echo "$mode $compile $cc") | cksum)

# runs the commands on stdin (one per line) up to $(nproc) at a time; fails if any failed
parallel() {
  jobs=$(nproc 2>/dev/null || echo 2)
  pids=""; n=0; fail=0
  while IFS= read -r cmd; do
    sh -c "$cmd" &
    pids="$pids $!"; n=$((n + 1))
    if [ "$n" -ge "$jobs" ]; then
      for p in $pids; do wait "$p" || fail=1; done
      pids=""; n=0
    fi
  done
  for p in $pids; do wait "$p" || fail=1; done
  return $fail
}

if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && ls "$out"/*_test >/dev/null 2>&1; then
  :
else
  rm -f "$out/stamp"
  echo "$cc" > "$out/cc"  # the compiler and flags, for run_bench.sh to link these objects with
  objs=""
  for f in $srcs; do objs="$objs $out/$(basename "$f").o"; done
  for f in $srcs; do echo "$compile $f -o $out/$(basename "$f").o"; done | parallel || { echo "run_tests.sh: build failed ($mode)" >&2; exit 1; }
  xnone=""; [ "$mode" != gpu ] && xnone="-x none"
  for t in test/*_test.cu; do echo "$link_pre $t $xnone $objs -o $out/$(basename "$t" .cu) $link_post"; done | parallel ||
    { echo "run_tests.sh: build failed ($mode)" >&2; exit 1; }
fi
echo "$stamp" > "$out/stamp"
[ "$build_only" = --build-only ] && exit 0
fail=0
for t in "$out"/*_test; do
  echo "== $(basename "$t") ($mode)"
  if ! "$t"; then fail=1; fi
  if [ "$mode" = emu ]; then  # threads and blocks in reverse order: a missing barrier or a read of another block's writes shows in one order or the other
    echo "== $(basename "$t") ($mode, NLEMU_ORDER=reverse)"
    if ! NLEMU_ORDER=reverse "$t"; then fail=1; fi
  fi
done
exit $fail
