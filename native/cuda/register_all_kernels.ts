// Kernel registration for the 'cuda' backend. Every kernel of tfjs' cpu backend is first
// registered as a fallback (kernels/fallback.ts: inputs copied to the host, the cpu kernel run,
// outputs copied back), then the device kernels below replace the ones they implement. Gradients
// are registered per kernel name, shared with the native CPU backend (native/kernels/*.ts).
import { getKernel, getKernelsForBackend, registerKernel, unregisterKernel, Cast, Transpose, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // registers the cpu kernels the fallbacks wrap
// element-wise: unary and binary ops, Cast, Select, AddN (src/tensor_ops.cu)
import { addNKernel, binaryKernel, binaryOps, castKernel, selectKernel, unaryKernel, unaryOps } from './kernels/elementwise.ts';
// shape, copies and fills (src/tensor_ops.cu)
import { shapeKernels } from './kernels/shape.ts';
// reductions and softmax (src/tensor_ops.cu)
import { reduceKernels } from './kernels/reduce.ts';
// BatchMatMul, _FusedMatMul (src/matmul.cu)
import { matmulKernels } from './kernels/MatMul.ts';
// fused ops (src/rowwise.cu, src/attention.cu, src/block.cu)
import { fusedKernels } from './kernels/fused.ts';
import { fallbackKernel } from './kernels/fallback.ts';
import { registerFusedGradients } from '../kernels/fused_gradients.ts';

export function registerAllKernels(backendName: string): void {
  const fallbacks = new Map<string, KernelFunc>();
  for (const k of getKernelsForBackend('cpu')) {
    const f = fallbackKernel(k, backendName);
    fallbacks.set(k.kernelName, f.kernelFunc);
    if (!getKernel(k.kernelName, backendName)) registerKernel(f);
  }
  const fallback = (name: string): KernelFunc => {
    const f = fallbacks.get(name);
    if (!f) throw new Error(`cuda: no kernel ${name} on the device or the host`);
    return f;
  };
  const lazy = (name: string) => () => fallback(name);
  const device: KernelConfig[] = [
    ...unaryOps.map(([name, op, dt]) => unaryKernel(name, op, dt, lazy(name))),
    ...binaryOps.map(([name, op, dt]) => binaryKernel(name, op, dt, lazy(name))),
    castKernel(lazy(Cast)), selectKernel(lazy('Select')), addNKernel(lazy('AddN')),
    ...shapeKernels(fallback),
    ...matmulKernels(fallback),
    ...fusedKernels(() => getKernel(Cast, backendName)!.kernelFunc),
  ];
  // reductions move axes innermost with the device Transpose
  const transpose = device.find((k) => k.kernelName === Transpose)!.kernelFunc;
  device.push(...reduceKernels(fallback, transpose));
  for (const k of device) {
    if (getKernel(k.kernelName, backendName)) unregisterKernel(k.kernelName, backendName);
    registerKernel({ ...k, backendName });
  }
  registerFusedGradients();
}
