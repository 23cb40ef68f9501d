#!/usr/bin/env node
// Builds the CUDA backend's addon, run by `npm install` after the CPU addon (also
// `npm run build:cuda`). Two builds:
//   build/nanolab_cuda_emu.node  g++ only, kernels on the CPU emulator (emu/cuda_emu.h): the
//                                tests of the backend run it on machines without a GPU;
//   build/nanolab_cuda.node      nvcc for the kernels (sm_80, sm_90 and compute_90 PTX), linked with
//                                the static CUDA runtime; cuBLAS is loaded at run time, so no
//                                cuBLAS files are needed to build. Skipped, with one line, when
//                                nvcc is not found (NANOLAB_REQUIRE_CUDA=1 makes that an error);
//                                where nvcc is found, NANOLAB_REQUIRE_NATIVE=1 (CI) makes a failed
//                                build an error, so CUDA sources that do not compile never land.
// Never downloads anything. Output of the compilers goes to native/cuda/build/build.log. A build
// is skipped when the stamp of its sources and flags is unchanged.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build');
const log = join(out, 'build.log');
const require = createRequire(import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(log, '');

const say = (line) => console.log(`nanolab cuda: ${line}`);
const prefix = dirname(dirname(process.execPath));
const nodeInclude = [join(prefix, 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')]
  .find((d) => d && existsSync(join(d, 'node_api.h')));
if (!nodeInclude) {
  say(`no Node headers at ${join(prefix, 'include', 'node')}; CUDA backend not built`);
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')).version;
// NANOLAB_NAPI_INCLUDE: node-addon-api's headers where there is no node_modules (scripts/device)
const napiInclude = process.env.NANOLAB_NAPI_INCLUDE ?? require('node-addon-api').include_dir.replace(/^"|"$/g, '');
const kernels = readdirSync(join(here, 'src')).filter((f) => f.endsWith('.cu') || f.endsWith('.cc')).sort().map((f) => join(here, 'src', f));
const common = ['-std=c++17', `-I${nodeInclude}`, `-I${napiInclude}`, `-I${here}`, '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_CPP_EXCEPTIONS_ALL', '-DNODE_ADDON_API_DISABLE_DEPRECATED', `-DNANOLAB_NATIVE_VERSION="${version}"`];
const gxxFlags = ['-O2', '-fPIC', '-fvisibility=hidden', '-fexceptions', '-ffp-contract=off', '-Wall', '-Wno-unknown-pragmas'];

function stampOf(parts) {
  const h = createHash('sha256');
  for (const f of [...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f)), join(here, 'addon.cc'), join(here, 'emu', 'cuda_emu.h')].sort()) {
    h.update(f); h.update(readFileSync(f));
  }
  h.update(JSON.stringify(parts));
  return h.digest('hex');
}

/** Runs compile jobs, a few at a time; resolves to the first failure's message or null. */
async function runAll(jobs) {
  let next = 0, failure = null;
  const width = Math.max(1, Math.min(cpus().length, 8));
  const worker = async () => {
    while (next < jobs.length && !failure) {
      const [cmd, args] = jobs[next++];
      appendFileSync(log, `$ ${cmd} ${args.join(' ')}\n`);
      const code = await new Promise((res) => {
        const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        p.stdout.on('data', (d) => appendFileSync(log, d));
        p.stderr.on('data', (d) => appendFileSync(log, d));
        p.on('close', res);
        p.on('error', () => res(-1));
      });
      if (code !== 0) failure = `${cmd} failed on ${args.find((a) => a.endsWith('.cu') || a.endsWith('.cc')) ?? 'link'} (see ${log})`;
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return failure;
}

async function build(name, jobs, link, parts) {
  const target = join(out, name);
  const stampFile = `${target}.stamp`;
  const stamp = stampOf(parts);
  if (existsSync(target) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return null;
  const failure = (await runAll(jobs)) ?? (await runAll([link]));
  if (!failure) writeFileSync(stampFile, stamp);
  return failure;
}

const cxx = process.env.CXX || 'g++';
// 1. The emulator build: every kernel file and the addon through g++.
const emuObjs = [...kernels, join(here, 'addon.cc')].map((f) => join(out, 'emu', `${f.split('/').pop()}.o`));
mkdirSync(join(out, 'emu'), { recursive: true });
// The emulator stops at a float4 access off 16-byte alignment, as a GPU would fault (x86 would
// not), where the compiler has UBSan's runtime.
// Uninitialized locals start as a byte pattern (huge floats), as a GPU's registers hold garbage,
// not what a reused fiber stack last held (GCC 12+, clang 16+).
const alignmentCheck = ['-fsanitize=alignment', '-fno-sanitize-recover=alignment'];
const patternInit = ['-ftrivial-auto-var-init=pattern'];
const compiles = (flags) => spawnSync('sh', ['-c', `echo 'int main(){return 0;}' | ${cxx} -x c++ ${flags.join(' ')} -o /dev/null -`]).status === 0;
const emuFlags = [...gxxFlags, '-DNL_CUDA_EMU', ...(compiles(alignmentCheck) ? alignmentCheck : []), ...(compiles(patternInit) ? patternInit : [])];
// The kernels with FMA contraction on, as nvcc builds them by default, where this CPU runs FMA code
// (see test/run_tests.sh): results round here as on a GPU.
const fma = ['-mfma', '-ffp-contract=fast'];
const fmaProbe = join(out, 'emu', 'fma_probe');
const fmaRuns = process.env.NANOLAB_SKIP_CUDA_EMU !== '1' && spawnSync('sh', ['-c', `echo 'int main(){volatile float a=1.5f,b=2.f,c=3.f;return __builtin_fmaf(a,b,c)==6.f?0:1;}' | ` +
  `${cxx} -x c++ ${fma.join(' ')} -o ${fmaProbe} - && ${fmaProbe}`]).status === 0;
rmSync(fmaProbe, { force: true });
const emuJobs = [...kernels, join(here, 'addon.cc')].map((f, i) =>
  [cxx, [...common, ...emuFlags, ...(fmaRuns && f !== join(here, 'addon.cc') ? fma : []), '-x', 'c++', '-c', f, '-o', emuObjs[i]]]);
const emuLink = [cxx, ['-shared', '-o', join(out, 'nanolab_cuda_emu.node'), ...emuObjs, ...emuFlags.filter((f) => f.startsWith('-fsanitize')), '-pthread']];
let failure = process.env.NANOLAB_SKIP_CUDA_EMU === '1' ? null : await build('nanolab_cuda_emu.node', emuJobs, emuLink, ['emu', common, emuFlags, fmaRuns]);
if (process.env.NANOLAB_SKIP_CUDA_EMU === '1') say('emulator build skipped (NANOLAB_SKIP_CUDA_EMU=1)');
else if (failure) {
  say(`emulator build failed: ${failure}`);
  if (process.env.NANOLAB_REQUIRE_NATIVE === '1' || process.env.NANOLAB_REQUIRE_CUDA === '1') process.exit(1);
} else say('emulator build ok (build/nanolab_cuda_emu.node)');

// 2. The GPU build, where nvcc exists.
const cudaHome = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].find((d) => d && existsSync(join(d, 'bin', 'nvcc')));
const nvccOnPath = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).stdout.trim();
const nvcc = cudaHome ? join(cudaHome, 'bin', 'nvcc') : nvccOnPath;
if (process.env.NANOLAB_SKIP_CUDA === '1' || !nvcc) {
  say(process.env.NANOLAB_SKIP_CUDA === '1' ? 'GPU build skipped (NANOLAB_SKIP_CUDA=1)'
    : 'nvcc not found: GPU build skipped (device: gpu needs an NVIDIA GPU and the CUDA toolkit at build time)');
  if (process.env.NANOLAB_REQUIRE_CUDA === '1') process.exit(1);
  process.exit(0);
}
const root = cudaHome ?? dirname(dirname(nvcc));
const archs = (process.env.NANOLAB_CUDA_ARCHS ?? '80,90').split(',').map((a) => a.trim()).filter(Boolean);
const gencode = [...archs.flatMap((a) => ['-gencode', `arch=compute_${a},code=sm_${a}`]),
  '-gencode', `arch=compute_${archs[archs.length - 1]},code=compute_${archs[archs.length - 1]}`];
mkdirSync(join(out, 'gpu'), { recursive: true });
const gpuObjs = [...kernels, join(here, 'addon.cc')].map((f) => join(out, 'gpu', `${f.split('/').pop()}.o`));
const gpuJobs = [
  ...kernels.map((f, i) => (f.endsWith('.cu')
    ? [nvcc, [...common, '-O3', ...gencode, '-Xcompiler', '-fPIC,-fvisibility=hidden,-Wall', '-c', f, '-o', gpuObjs[i]]]
    : [cxx, [...common, ...gxxFlags, `-I${join(root, 'include')}`, '-c', f, '-o', gpuObjs[i]]])),
  [cxx, [...common, ...gxxFlags, `-I${join(root, 'include')}`, '-c', join(here, 'addon.cc'), '-o', gpuObjs[gpuObjs.length - 1]]],
];
const libdir = [join(root, 'lib64'), join(root, 'lib'), join(root, 'targets', 'x86_64-linux', 'lib')].find((d) => existsSync(join(d, 'libcudart_static.a')));
if (!libdir) {
  say(`no libcudart_static.a under ${root}: GPU build skipped`);
  process.exit(process.env.NANOLAB_REQUIRE_CUDA === '1' ? 1 : 0);
}
const gpuLink = [cxx, ['-shared', '-o', join(out, 'nanolab_cuda.node'), ...gpuObjs, `-L${libdir}`, '-lcudart_static', '-ldl', '-lrt', '-pthread']];
failure = await build('nanolab_cuda.node', gpuJobs, gpuLink, ['gpu', common, gencode, nvcc]);
if (failure) {
  // with nvcc here, a compile error is a bug: CI (NANOLAB_REQUIRE_NATIVE=1) fails on it
  say(`GPU build failed: ${failure}`);
  process.exit(process.env.NANOLAB_REQUIRE_CUDA === '1' || process.env.NANOLAB_REQUIRE_NATIVE === '1' ? 1 : 0);
}
say(`GPU build ok (build/nanolab_cuda.node, ${archs.map((a) => `sm_${a}`).join(', ')} + PTX)`);
