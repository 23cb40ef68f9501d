// Kernels the CUDA backend has no device code for run as tfjs' own cpu kernels: inputs are copied
// to a private cpu backend, the cpu kernel runs there, and its outputs are copied back. Correct for
// every kernel (generation, evaluation helpers, rare ops); slow, so the ops of a training step all
// have device kernels (register_all_kernels.ts lists them).
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.ts';

let cpu: MathBackendCPU | null = null;
const cpuBackend = () => (cpu ??= new MathBackendCPU());

/** Which kernels ran on the host, and how often (tests and the profile read it). */
export const fallbackCounts = new Map<string, number>();

export function fallbackKernel(cpuConfig: KernelConfig, backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const gpu = backend as CudaBackend;
    const host = cpuBackend();
    const name = cpuConfig.kernelName;
    fallbackCounts.set(name, (fallbackCounts.get(name) ?? 0) + 1);
    const made: TensorInfo[] = [];
    const toHost = (t: TensorInfo): TensorInfo => {
      const info = { dataId: host.write(gpu.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
      made.push(info);
      return info;
    };
    // inputs is a name -> tensor map, or an array of tensors (Concat, Pack, AddN)
    const hostInputs = (Array.isArray(inputs)
      ? (inputs as TensorInfo[]).map(toHost)
      : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t == null ? t : toHost(t as TensorInfo)]))) as NamedTensorInfoMap;
    try {
      const out = cpuConfig.kernelFunc({ inputs: hostInputs, attrs, backend: host });
      const outs = Array.isArray(out) ? out : [out];
      const back = outs.map((o) => {
        const values = host.readSync(o.dataId);
        return { dataId: gpu.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
      });
      for (const o of outs) if (!made.some((m) => m.dataId === o.dataId)) made.push(o);
      return Array.isArray(out) ? back : back[0];
    } finally {
      for (const m of made) host.disposeData(m.dataId, true);
    }
  };
  return { kernelName: cpuConfig.kernelName, backendName, kernelFunc };
}
