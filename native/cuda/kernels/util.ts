// Helpers shared by the CUDA backend's kernels: the loaded addon, dtype codes, the shared dims
// buffer and outputs.
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.ts';
import { DType, type CudaBinding } from '../binding.ts';

let binding: CudaBinding | null = null;
export function setCudaBinding(b: CudaBinding): void { binding = b; }

/** The addon (set by loadCudaBackend before any kernel can run). */
export function cb(): CudaBinding {
  if (!binding) throw new Error('nanolab CUDA addon not loaded: call loadCudaBackend()');
  return binding;
}

export type Backend = CudaBackend;

/** The addon's dtype code, or -1 for a dtype with no device kernels (string, complex64). */
export function dtypeCode(dtype: DataType): DType | -1 {
  return dtype === 'float32' ? DType.F32 : dtype === 'int32' ? DType.I32 : dtype === 'bool' ? DType.U8 : -1;
}
export const onDevice = (...ts: TensorInfo[]) => ts.every((t) => dtypeCode(t.dtype) >= 0);

// shape arithmetic shared with the native backend
export { broadcastStrides, sizeOf, stridesOf } from '../../kernels/util.ts';

/** Writes consecutive groups of numbers into the shared dims buffer. */
export function setDims(...groups: readonly number[][]): void {
  const dims = cb().dims;
  let k = 0;
  for (const g of groups) for (const v of g) dims[k++] = v;
}

/** Kernels are registered under the backend's name by register_all_kernels.ts. */
export const kernel = (kernelName: string, kernelFunc: KernelFunc): KernelConfig => ({ kernelName, backendName: 'cuda', kernelFunc });
