// The CUDA kernels' C++ tests (native/cuda/test/*_test.cu: attention, row-wise ops, tensor ops,
// matmul, the emulator itself), each launcher against a double-precision CPU reference, built
// with g++ for the CPU emulator and run here, on every machine, plainly (both thread orders) and
// under AddressSanitizer and UBSan. On a GPU the same tests are built by nvcc and run by
// cuda_gpu.test.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('cuda kernels (C++, emulated)');

// The emulator can only start a static __shared__ array as garbage (as a GPU does) where the
// kernel names it: NL_SHARED_GARBAGE(name) right after the declaration (src/compat.h).
test('every static __shared__ array in the CUDA sources is followed by NL_SHARED_GARBAGE', () => {
  const missing: string[] = [];
  let arrays = 0;
  for (const dir of ['native/cuda/src', 'native/cuda/test']) {
    for (const file of readdirSync(dir).filter((f) => /\.(cu|cuh|h)$/.test(f))) {
      const lines = readFileSync(`${dir}/${file}`, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const decl = /^\s*__shared__\s([^;]*);/.exec(line.replace(/\/\/.*/, ''));
        if (!decl) return;
        arrays++;
        const name = decl[1].replace(/\[[^\]]*\]/g, '').trim().split(/\s+/).pop();
        if (!lines.slice(i + 1, i + 4).some((l) => l.includes(`NL_SHARED_GARBAGE(${name})`))) missing.push(`${dir}/${file}:${i + 1}: ${name}`);
      });
    }
  }
  assert.ok(arrays >= 10, `found only ${arrays} static __shared__ arrays: has the declaration form changed?`);
  assert.equal(missing, [], `without NL_SHARED_GARBAGE:\n${missing.join('\n')}`);
});

test('every *_test.cu passes under the emulator', () => {
  const r = spawnSync('sh', ['native/cuda/test/run_tests.sh', 'emu'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = `${r.stdout}${r.stderr}`;
  assert.ok(r.status === 0, `run_tests.sh emu exited ${r.status}:\n${out.split('\n').filter((l) => !l.startsWith('ok')).join('\n').slice(-4000)}`);
  const tests = out.split('\n').filter((l) => l.startsWith('== ')).length;
  const summaries = out.split('\n').filter((l) => /^\d+ failures$/.test(l));
  assert.ok(tests >= 5 && summaries.length === tests, `expected one summary per test binary:\n${out.slice(-4000)}`);
  for (const l of summaries) assert.is(l, '0 failures');
  assert.ok(out.split('\n').filter((l) => l.startsWith('ok')).length > 500, 'the tests printed their checks');
});

// AddressSanitizer and UBSan ship with g++ on the usual Linux distributions; where this compiler
// has no runtime for them, the run is skipped and counted as skipped.
const cxx = process.env.CXX ?? 'g++';
const sanitizers = spawnSync('sh', ['-c', `echo 'int main(){return 0;}' | ${cxx} -x c++ -fsanitize=address,undefined -o /dev/null -`]).status === 0;
(sanitizers ? test : test.skip)('every *_test.cu passes under AddressSanitizer and UBSan (buffer overruns, overflow)', () => {
  const r = spawnSync('sh', ['native/cuda/test/run_tests.sh', 'emu-asan'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = `${r.stdout}${r.stderr}`;
  assert.ok(r.status === 0, `run_tests.sh emu-asan exited ${r.status}:\n${out.split('\n').filter((l) => !l.startsWith('ok')).join('\n').slice(-4000)}`);
  const summaries = out.split('\n').filter((l) => /^\d+ failures$/.test(l));
  assert.ok(summaries.length >= 5, `expected one summary per test binary:\n${out.slice(-4000)}`);
  for (const l of summaries) assert.is(l, '0 failures');
});

test('the kernel benchmark (native/cuda/bench) builds and runs every launcher at its quick sizes', () => {
  const r = spawnSync('sh', ['native/cuda/bench/run_bench.sh', 'emu', '--quick'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = `${r.stdout}${r.stderr}`;
  assert.ok(r.status === 0, `run_bench.sh emu exited ${r.status}:\n${out.slice(-4000)}`);
  assert.match(out, /block_backward fp32 simt/);
  assert.match(out, /\nbench done\n/);
});

test.run();
