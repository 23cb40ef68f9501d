// Which tfjs backend runs a device. cpu: nanolab's native addon ('native'), else tfjs' JS
// backend ('cpu') with a one-line notice. gpu: nanolab's CUDA backend ('cuda') when it was built
// and finds a device, else @tensorflow/tfjs-node-gpu when the user installed it; otherwise
// validation says so. NANOLAB_BACKEND=cpu|native forces a CPU backend (benchmarks compare them);
// NANOLAB_CUDA_EMU=1 makes gpu the CUDA backend on its CPU emulator ('cuda-emu', for tests).
import * as tf from './tf.ts';
import { isCudaBackend, loadCudaBackend, setCudaPrecision } from '../native/cuda/index.ts';
import { loadNativeBackend, setNativePrecision } from '../native/index.ts';

export interface BackendChoice {
  name: string; notice?: string;
  /** precisions its matmuls can compute in (fp32 always) */
  precisions: string[];
}

// A static import: a dynamic one can load a second copy of core/ops/registry.ts under test
// runners, and the native fused ops would then register where the layers never look.
// Importing is cheap and safe: the addon itself is only loaded by loadNativeBackend().
let nativeStatus: { ok: boolean; reason?: string; precisions?: string[] } | null = null;
async function nativeReady(): Promise<{ ok: boolean; reason?: string; precisions?: string[] }> {
  nativeStatus ??= loadNativeBackend();
  return nativeStatus;
}

let gpuBackend: BackendChoice | null | undefined;
let gpuReason = '';
async function gpuReady(): Promise<BackendChoice | null> {
  if (gpuBackend !== undefined) return gpuBackend;
  gpuBackend = null;
  const cuda = loadCudaBackend({ emulated: process.env.NANOLAB_CUDA_EMU === '1' });
  if (cuda.ok) return (gpuBackend = { name: cuda.backendName, precisions: cuda.precisions });
  gpuReason = cuda.reason ?? '';
  try {
    // optional: only when the user installed it themselves (it downloads TensorFlow binaries)
    const pkg = '@tensorflow/tfjs-node-gpu';
    await import(pkg);
    if (tf.findBackend('tensorflow')) gpuBackend = { name: 'tensorflow', precisions: ['fp32'] };
  } catch { /* not installed */ }
  return gpuBackend;
}

/** Resolves availability once, before validation, so checkDevice can stay synchronous. */
export async function probeDevices(): Promise<{ cpu: BackendChoice; gpu: BackendChoice | null }> {
  const forced = process.env.NANOLAB_BACKEND;
  let cpu: BackendChoice;
  if (forced === 'cpu') cpu = { name: 'cpu', precisions: ['fp32'] };
  else {
    const n = await nativeReady();
    cpu = n.ok ? { name: 'native', precisions: n.precisions ?? ['fp32'] }
      : { name: 'cpu', precisions: ['fp32'], notice: `nanolab: native CPU backend unavailable (${n.reason}); using tfjs' JS backend, which is much slower` };
    if (forced === 'native' && !n.ok) throw new Error(`NANOLAB_BACKEND=native but the addon is unavailable: ${n.reason}`);
  }
  return { cpu, gpu: await gpuReady() };
}

export function deviceProblem(devices: { cpu: BackendChoice; gpu: BackendChoice | null }) {
  return (device: string, precision: string): { path: 'device' | 'precision'; message: string } | null => {
    if (device === 'gpu' && !devices.gpu) {
      return { path: 'device', message: `no GPU backend is available on this machine (nanolab's CUDA backend: ${gpuReason || 'not loaded'}; @tensorflow/tfjs-node-gpu: not installed)` };
    }
    const choice = device === 'gpu' ? devices.gpu! : devices.cpu;
    if (choice.precisions.includes(precision)) return null;
    if (device === 'cpu' && precision === 'tf32') {
      return { path: 'precision', message: 'tf32 is an NVIDIA tensor-core format; on the CPU use fp32, or bf16 where the CPU has AMX' };
    }
    if (device === 'cpu' && precision === 'bf16') {
      return { path: 'precision', message: `bf16 on the CPU needs the native backend on a CPU with AMX-BF16 (Intel Sapphire Rapids or later); here the ${choice.name} backend computes in ${choice.precisions.join(', ')}` };
    }
    return { path: 'precision', message: `the ${choice.name} backend computes in ${choice.precisions.join(', ')}, not ${precision}` };
  };
}

/** Sets the active backend's matmul precision for the runs that follow (training sets it per run). */
export function applyPrecision(precision: string): void {
  const name = tf.getBackend();
  const ok = name === 'native' ? setNativePrecision(precision)
    : isCudaBackend(name) ? setCudaPrecision(precision) : precision === 'fp32';
  if (!ok) throw new Error(`precision ${precision} is not available on the ${name} backend here`);
}

export async function activate(name: string): Promise<void> {
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  }
  await tf.ready();
}
