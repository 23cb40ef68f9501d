// The CUDA backend on a real NVIDIA GPU: the op-by-op checks of cuda_cases.ts against the native
// CPU backend, and the C++ kernel tests (native/cuda/test/*_test.cu) built by nvcc and run on the
// device. Where the backend does not load (no GPU, no nvcc at install), every test is skipped and
// counted as skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { loadNativeBackend } from '../native/index.ts';
import { loadCudaBackend } from '../native/cuda/index.ts';
import { cudaAddonPath } from '../native/cuda/binding.ts';
import { cudaCases } from './cuda_cases.ts';

const test = suite('cuda backend (GPU)');

// Where nvcc is, npm install must have built the GPU addon (CI has nvcc and no GPU: this checks
// that the CUDA sources compile there).
const nvcc = spawnSync('sh', ['-c', 'command -v nvcc || ls /usr/local/cuda/bin/nvcc'], { encoding: 'utf8' }).status === 0;
if (nvcc) {
  test('nvcc is here, so the GPU build exists (sm_80, sm_90 + PTX)', () => {
    assert.ok(existsSync(cudaAddonPath(false)), `${cudaAddonPath(false)} is missing: see native/cuda/build/build.log`);
  });
} else {
  test.skip('nvcc is here, so the GPU build exists (sm_80, sm_90 + PTX)', () => {});
}
const status = process.env.NANOLAB_CUDA_EMU === '1' ? { ok: false, reason: 'NANOLAB_CUDA_EMU=1' } : loadCudaBackend();

if (!status.ok) {
  console.log(`cuda_gpu.test.ts: skipped (${status.reason})`);
  test.skip('op-by-op checks against the native CPU backend', () => {});
  test.skip('C++ kernel tests built by nvcc', () => {});
} else {
  test.before(() => { assert.ok(loadNativeBackend().ok, 'native backend'); });
  test.after(() => { tf.setBackend('native'); });
  cudaCases(test, 'cuda');
  test('C++ kernel tests built by nvcc', () => {
    const r = spawnSync('sh', ['native/cuda/test/run_tests.sh', 'gpu'], { encoding: 'utf8' });
    assert.is(r.status, 0, `native/cuda/test/run_tests.sh gpu failed:\n${r.stdout}\n${r.stderr}`);
  });
}

test.run();
