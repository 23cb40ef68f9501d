// The CUDA backend (native/cuda) on its CPU emulator build ('cuda-emu'): the same .cu kernels
// and the same TS backend as on a GPU, with kernels run by emu/cuda_emu.h. Each op is compared
// with the native CPU backend; whole training steps and runs too. The tests on a real GPU are in
// cuda_gpu.test.ts (skipped where there is none).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { loadNativeBackend } from '../native/index.ts';
import { loadCudaBackend } from '../native/cuda/index.ts';
import { cudaCases } from './cuda_cases.ts';

const test = suite('cuda backend (emulated)');
const EMU = 'cuda-emu';

test.before(() => {
  const s = loadCudaBackend({ emulated: true });
  assert.ok(s.ok, `the emulator build must load: ${s.reason}`);
  assert.ok(loadNativeBackend().ok, 'native backend');
});
test.after(() => { tf.setBackend('native'); });

cudaCases(test, EMU);

test.run();
