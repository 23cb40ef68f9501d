// Entry point of the CUDA backend: loads the addon, checks for a device, and registers the tfjs
// backend 'cuda' with its kernels and the fused ops. With { emulated: true } it loads the CPU
// emulator build instead and registers 'cuda-emu' (tests of the backend on machines without a
// GPU; never chosen for `device: gpu`).
import * as tf from '@tensorflow/tfjs-core';
import { registerFusedImpls, type FusedImpls } from '../../core/ops/registry.ts';
import { nativeFusedAll } from '../fused.ts';
import { CudaBackend } from './backend.ts';
import { loadCudaBinding, type CudaBinding, type CudaDeviceInfo } from './binding.ts';
import { adamwCuda } from './kernels/AdamW.ts';
import { setCudaBinding } from './kernels/util.ts';
import { registerAllKernels } from './register_all_kernels.ts';

export interface CudaStatus {
  ok: boolean; reason?: string; backendName: string; device?: CudaDeviceInfo;
  /** precisions the matmuls can run in */
  precisions: string[];
}

const statuses = new Map<boolean, CudaStatus>();
let active: CudaBinding | null = null;

/** Loads and registers the backend (not made active). Idempotent; never throws. */
export function loadCudaBackend(opts: { emulated?: boolean } = {}): CudaStatus {
  const emulated = opts.emulated ?? false;
  const cached = statuses.get(emulated);
  if (cached) return cached;
  const backendName = emulated ? 'cuda-emu' : 'cuda';
  let status: CudaStatus;
  try {
    const binding = loadCudaBinding(emulated);
    const device = binding.info();
    if (!(device.deviceCount > 0)) throw new Error(`no CUDA device: ${device.error ?? 'none found'}`);
    if (active && active !== binding) throw new Error('only one CUDA addon (GPU or emulator) can be loaded per process');
    active = binding;
    setCudaBinding(binding);
    registerAllKernels(backendName);
    // priority 0: tfjs never picks it by itself; nanolab activates it for device: gpu
    if (!tf.findBackendFactory(backendName)) tf.registerBackend(backendName, () => new CudaBackend(binding, backendName), 0);
    registerFusedImpls(backendName, { ...nativeFusedAll, adamw: adamwCuda } as FusedImpls);
    status = { ok: true, backendName, device, precisions: ['fp32', 'tf32', 'bf16'] };
  } catch (e) {
    status = { ok: false, backendName, reason: e instanceof Error ? e.message : String(e), precisions: [] };
  }
  statuses.set(emulated, status);
  return status;
}

/** Whether a tfjs backend name is this backend's (on a GPU or on the emulator). */
export const isCudaBackend = (name: string | undefined) => name === 'cuda' || name === 'cuda-emu';

/** Sets the matmul precision of the CUDA backend; false if it is not loaded or the name is unknown. */
export function setCudaPrecision(precision: string): boolean {
  if (!active) return false;
  return active.setPrecision(precision as 'fp32' | 'tf32' | 'bf16');
}

export { CudaBackend } from './backend.ts';
