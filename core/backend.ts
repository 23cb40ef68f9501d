// Which tfjs backend runs a device. cpu: nanolab's native addon ('native'), else tfjs' JS
// backend ('cpu') with a one-line notice. gpu: nanolab's CUDA backend when built, else
// @tensorflow/tfjs-node-gpu when the user installed it; otherwise validation says so.
// NANOLAB_BACKEND=cpu|native forces a CPU backend (benchmarks compare them).
import * as tf from './tf.ts';
import { loadNativeBackend } from '../native/index.ts';

export interface BackendChoice { name: string; notice?: string }

// A static import: a dynamic one can load a second copy of core/ops/registry.ts under test
// runners, and the native fused ops would then register where the layers never look.
// Importing is cheap and safe: the addon itself is only loaded by loadNativeBackend().
let nativeStatus: { ok: boolean; reason?: string } | null = null;
async function nativeReady(): Promise<{ ok: boolean; reason?: string }> {
  nativeStatus ??= loadNativeBackend();
  return nativeStatus;
}

let gpuBackend: string | null | undefined;
async function gpuReady(): Promise<string | null> {
  if (gpuBackend !== undefined) return gpuBackend;
  gpuBackend = null;
  try {
    // optional: only when the user installed it themselves (it downloads TensorFlow binaries)
    const pkg = '@tensorflow/tfjs-node-gpu';
    await import(pkg);
    if (tf.findBackend('tensorflow')) gpuBackend = 'tensorflow';
  } catch { /* not installed */ }
  return gpuBackend;
}

/** Resolves availability once, before validation, so checkDevice can stay synchronous. */
export async function probeDevices(): Promise<{ cpu: BackendChoice; gpu: BackendChoice | null }> {
  const forced = process.env.NANOLAB_BACKEND;
  let cpu: BackendChoice;
  if (forced === 'cpu') cpu = { name: 'cpu' };
  else {
    const n = await nativeReady();
    cpu = n.ok ? { name: 'native' }
      : { name: 'cpu', notice: `nanolab: native CPU backend unavailable (${n.reason}); using tfjs' JS backend, which is much slower` };
    if (forced === 'native' && !n.ok) throw new Error(`NANOLAB_BACKEND=native but the addon is unavailable: ${n.reason}`);
  }
  const g = await gpuReady();
  return { cpu, gpu: g ? { name: g } : null };
}

export function deviceProblem(devices: { gpu: BackendChoice | null }) {
  return (device: string, precision: string): { path: 'device' | 'precision'; message: string } | null => {
    if (device === 'gpu' && !devices.gpu) {
      return { path: 'device', message: "no GPU backend is available on this machine: nanolab's CUDA backend needs an NVIDIA GPU, and @tensorflow/tfjs-node-gpu is not installed" };
    }
    if (device === 'cpu' && precision !== 'fp32') return { path: 'precision', message: `precision ${precision} is for GPUs; the CPU backends compute in fp32` };
    return null;
  };
}

export async function activate(name: string): Promise<void> {
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  }
  await tf.ready();
}
