// Entry point of the native backend: loads the addon and registers the tfjs backend 'native'
// with its kernels and fused ops. The lead selects it with tf.setBackend('native').
import * as tf from '@tensorflow/tfjs-core';
import { registerFusedImpls } from '../core/ops/registry.ts';
import { NativeBackend } from './backend.ts';
import { loadBinding } from './binding.ts';
import { nativeFusedAll } from './fused.ts';
import { nb, setBinding } from './kernels/util.ts';
import { registerAllKernels } from './register_all_kernels.ts';

export interface NativeStatus {
  ok: boolean; reason?: string; version?: string; gemmKernel?: string; threads?: number;
  /** precisions the matmuls can run in here: fp32 always, bf16 on CPUs with AMX-BF16 */
  precisions?: string[];
}

let status: NativeStatus | null = null;

/** Sets the matmul precision of the native backend (fp32 or bf16); false if it cannot. */
export function setNativePrecision(precision: string): boolean {
  if (!status?.ok || (precision !== 'fp32' && precision !== 'bf16')) return precision === 'fp32';
  return nb().setPrecision(precision);
}

/** Loads the addon, registers the tfjs backend 'native' (not made active) and the fused ops
 * under 'native'. Idempotent. Never throws: ok is false, with a reason, when the addon is missing
 * or does not load. */
export function loadNativeBackend(): NativeStatus {
  if (status) return status;
  try {
    const binding = loadBinding();
    setBinding(binding);
    registerAllKernels('native');
    // priority 0: below 'cpu' (1), so tfjs never picks it by itself
    if (!tf.findBackendFactory('native')) tf.registerBackend('native', () => new NativeBackend(), 0);
    registerFusedImpls('native', nativeFusedAll);
    const info = binding.info();
    status = {
      ok: true, version: binding.version, gemmKernel: info.gemmKernel, threads: info.threads,
      precisions: info.bf16 ? ['fp32', 'bf16'] : ['fp32'],
    };
  } catch (e) {
    status = { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  return status;
}

export { NativeBackend } from './backend.ts';
