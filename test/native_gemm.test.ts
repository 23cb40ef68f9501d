// The standalone C++ GEMM tests (native/test/gemm_test.cc: every shape class, transpose, path,
// thread count and epilogue against a reference, on each kernel the CPU has; gemm_bf16_test.cc:
// the AMX path where there is one), built and run by native/test/run_gemm_test.sh, so CI runs
// them beside the tfjs-level tests. Needs a C++ compiler, as the addon's build does.
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('native gemm (C++)');

test('gemm_test and gemm_bf16_test: no failures', () => {
  const r = spawnSync('sh', ['native/test/run_gemm_test.sh', 'test'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = `${r.stdout}${r.stderr}`;
  const summaries = out.split('\n').filter((l) => /^gemm_test: \d+ cases, \d+ failures/.test(l));
  assert.ok(r.status === 0, `run_gemm_test.sh exited ${r.status}:\n${out.slice(-4000)}`);
  assert.ok(summaries.length >= 6, `expected a summary per kernel and blocking variant:\n${out.slice(-4000)}`);
  for (const l of summaries) assert.match(l, / 0 failures /);
});

test.run();
