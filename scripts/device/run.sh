#!/usr/bin/env bash
# Runs on a GPU machine lent by the `device` tool, in the repository root, with .device/ carried
# (made by scripts/device/pack.sh). First it sets up Node from .device/node.xz and builds the CUDA
# addon with that machine's nvcc (kept between calls while the machine stays warm: 30 s), then runs
# the stages named, one after another: `bash scripts/device/run.sh check bench` is one call, one
# machine start and one build (stage arguments: `bench=1`, `scaleup=2000`).
#   bash scripts/device/run.sh check     kernel tests built by nvcc, the tfjs-level checks on the GPU, the kernel benchmark
#   bash scripts/device/run.sh bench[=rounds]   full/medium/small steps beside PyTorch eager (fp32, tf32, bf16), alternating
#   bash scripts/device/run.sh scaleup[=steps]  scale-up.yaml on Tiny Shakespeare in bf16 and in fp32
#   bash scripts/device/run.sh cpu-vs-gpu       experiments/cpu-vs-gpu.yaml (the device's CPU and its GPU)
#   bash scripts/device/run.sh sanitize         the kernel tests under compute-sanitizer (memcheck, racecheck, synccheck)
# NANOLAB_CUDA_ATTENTION=fp32 in the command keeps bf16 runs' attention on the fp32 kernels (if the
# tensor-core kernels fail their checks on the device); NANOLAB_CUDA_BF16_GEMM=bf16-copies makes
# bf16 runs copy matmul operands to bf16 first (if `bench` finds that faster; meta.json records it).
# Output goes to $OUT (logs, JSON lines, and one results tarball per stage: $OUT holds at most 8 files).
# STOP_AFTER=seconds (default 540, inside a call's 600 s): bench starts no new step after that, and
# a later stage is skipped with a line saying so, so the call ends with its files instead of being killed.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || set -- check
OUT=${OUT:-/tmp/nanolab-out}
mkdir -p "$OUT"
log="$OUT/$(echo "$@" | tr ' =' '+-').log"
exec > >(tee -a "$log") 2>&1
start=$(date +%s)
stop_after=${STOP_AFTER:-540}
late() { [ $(( $(date +%s) - start )) -ge "$stop_after" ]; }

# ---- setup: node, headers, the CUDA addon
node_dir=/tmp/nanolab-node
if [ ! -x "$node_dir/bin/node" ]; then
  mkdir -p "$node_dir/bin" "$node_dir/include"
  xz -dc .device/node.xz > "$node_dir/bin/node" && chmod +x "$node_dir/bin/node"
  cp -r .device/node-include/node "$node_dir/include/"
fi
export PATH="$node_dir/bin:$PATH"
for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null); do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
export NANOLAB_COMMIT=$(cat .device/COMMIT)
echo "== $(date -u +%FT%TZ) stages $*, commit $NANOLAB_COMMIT, node $(node --version)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
nvcc --version | tail -n 1
t0=$(date +%s)
export NANOLAB_CUDA_ARCHS=${NANOLAB_CUDA_ARCHS:-90}   # H100 and H200: sm_90 only, half the compile time
NANOLAB_SKIP_CUDA_EMU=1 NANOLAB_REQUIRE_CUDA=1 NANOLAB_NAPI_INCLUDE="$PWD/.device/napi" node native/cuda/build.mjs || { tail -n 60 native/cuda/build/build.log; exit 1; }
echo "addon build: $(( $(date +%s) - t0 )) s"
cp native/cuda/build/nanolab_cuda.node .device/app/build/
app=.device/app

for arg in "$@"; do
  stage=${arg%%=*}; param=${arg#*=}; [ "$param" = "$arg" ] && param=""
  if late; then echo "== stage $stage skipped: $(( $(date +%s) - start )) s gone (STOP_AFTER=$stop_after)"; continue; fi
  ts=$(date +%s)
  case "$stage" in
    check)
      sh native/cuda/test/run_tests.sh gpu 2>&1 | grep -v '^ok ' ; echo "run_tests.sh gpu exit ${PIPESTATUS[0]}"
      node "$app/gpu_test.mjs"; echo "gpu_test exit $?"
      sh native/cuda/bench/run_bench.sh gpu | tee "$OUT/kernels_bench.txt"
      sh native/cuda/bench/run_bench.sh gpu --precision bf16 --only block
      echo "-- the same, attention on the fp32 kernels (what the tensor-core attention buys)"
      NANOLAB_CUDA_ATTENTION=fp32 sh native/cuda/bench/run_bench.sh gpu --precision bf16 --only block
      echo "-- the same, matmul operands copied to bf16 first (NANOLAB_CUDA_BF16_GEMM=bf16-copies)"
      NANOLAB_CUDA_BF16_GEMM=bf16-copies sh native/cuda/bench/run_bench.sh gpu --precision bf16 --only block
      ;;
    sanitize)  # the kernel tests under compute-sanitizer: out-of-bounds accesses, shared-memory races, barrier misuse
      sh native/cuda/test/run_tests.sh gpu > /dev/null 2>&1
      for t in native/cuda/build/tests/gpu/*_test; do
        for tool in memcheck racecheck synccheck; do
          echo "== $(basename "$t") $tool"
          compute-sanitizer --tool $tool --error-exitcode 3 "$t" | grep -v '^ok ' | tail -n 20
        done
      done
      ;;
    bench)
      rounds=${param:-2}  # a round starts PyTorch 18 times (an estimate: 2 rounds fit a 10-minute call, not yet timed)
      for r in $(seq 1 "$rounds"); do
        for p in fp32 tf32 bf16; do
          for size in ${SIZES:-full medium small}; do
            if late; then echo "== bench: stopped before round $r $p $size (STOP_AFTER=$stop_after)"; break 3; fi
            for impl in batched lecture; do
              python3 .device/reference/bench_step.py --size "$size" --device cuda --dtype "$p" --impl "$impl" --steps 50 | sed "s/^{/{\"round\": $r, /"
            done | tee -a "$OUT/bench.jsonl"
            node "$app/step.mjs" "$size" --device gpu --precision "$p" | sed "s/^{/{\"round\": $r, /" | tee -a "$OUT/bench.jsonl"
            if [ "$p" = bf16 ]; then  # the other way to feed bf16 matmuls (matmul.h: Bf16Gemm)
              NANOLAB_CUDA_BF16_GEMM=bf16-copies node "$app/step.mjs" "$size" --device gpu --precision bf16 |
                sed "s/^{/{\"round\": $r, /" | tee -a "$OUT/bench.jsonl"
            fi
          done
        done
      done
      ;;
    scaleup)
      steps=${param:-5000}
      for p in bf16 fp32; do
        node "$app/nanolab.mjs" experiments/scale-up.yaml --set data.path=.device/data/tinyshakespeare.txt --set precision=$p \
          --set train.steps=$steps --out "/tmp/scaleup-$p" --force
      done
      tar -C /tmp -czf "$OUT/scaleup.tgz" scaleup-bf16 scaleup-fp32
      ;;
    cpu-vs-gpu)
      node "$app/nanolab.mjs" experiments/cpu-vs-gpu.yaml --out /tmp/cpu-vs-gpu --force
      tar -C /tmp -czf "$OUT/cpu-vs-gpu.tgz" cpu-vs-gpu
      ;;
    *) echo "unknown stage $stage"; exit 2 ;;
  esac
  echo "== stage $stage done in $(( $(date +%s) - ts )) s"
done
echo "== all done in $(( $(date +%s) - start )) s"
