// Helpers shared by the TS side of the native kernels: the loaded addon, typed-array access,
// output allocation, the shared dims buffer and the fallback to tfjs' own cpu kernels.
import {
  getKernel, type DataType, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeBinding, Values } from '../binding.ts';
import { NativeBackend } from '../backend.ts';

let binding: NativeBinding | null = null;

export function setBinding(b: NativeBinding): void { binding = b; }

/** The addon (set by loadNativeBackend before any kernel can run). */
export function nb(): NativeBinding {
  if (!binding) throw new Error('nanolab native addon not loaded: call loadNativeBackend()');
  return binding;
}

export type Backend = MathBackendCPU;

/** The stored values of a tensor, whatever typed array they are (cpu Cast can leave an
 * Int32Array under a float32 tensor); the C++ side reads any of them. */
export function raw(backend: Backend, t: TensorInfo): Values {
  return backend.data.get(t.dataId).values as Values;
}

/** The values as the typed array of `dtype` (copied only when stored as another type). */
export function typed(backend: Backend, t: TensorInfo, dtype: DataType = t.dtype): Values {
  const v = raw(backend, t);
  if (dtype === 'float32') return v instanceof Float32Array ? v : Float32Array.from(v);
  if (dtype === 'int32') return v instanceof Int32Array ? v : Int32Array.from(v);
  if (dtype === 'bool') return v instanceof Uint8Array ? v : Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
  throw new Error(`nanolab native: unsupported dtype ${dtype}`);
}

export const f32 = (backend: Backend, t: TensorInfo) => typed(backend, t, 'float32') as Float32Array;

/** An output array for a kernel, from the backend's buffer pool (native/backend.ts). Its
 * contents are undefined unless zero is set: kernels that accumulate into it must ask. */
export function alloc(backend: Backend, dtype: DataType, n: number, zero = false): Values {
  if (backend instanceof NativeBackend) return backend.alloc(dtype, n, zero);
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
    default: throw new Error(`nanolab native: unsupported dtype ${dtype}`);
  }
}

export const allocF32 = (backend: Backend, n: number, zero = false) => alloc(backend, 'float32', n, zero) as Float32Array;

export const isNumeric = (dtype: DataType) => dtype === 'float32' || dtype === 'int32' || dtype === 'bool';

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** Strides of `shape` seen from a broadcast output of rank `rank` (0 where broadcast). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length, st = stridesOf(shape), off = rank - shape.length;
  const s = new Array<number>(rank).fill(0);
  for (let d = 0; d < shape.length; d++) s[d + off] = shape[d] === 1 ? 0 : st[d];
  return s;
}

/** Writes consecutive groups of ints into the shared dims buffer. */
export function setDims(...groups: readonly number[][]): void {
  const dims = nb().dims;
  let k = 0;
  for (const g of groups) for (const v of g) dims[k++] = v;
}

/** tfjs' own cpu kernel, used for the cases a native kernel leaves to it (complex, string,
 * shapes it does not handle): the result is exactly the cpu backend's. */
export function cpuKernel(kernelName: string): KernelFunc {
  const k = getKernel(kernelName, 'cpu');
  if (!k) throw new Error(`no cpu kernel ${kernelName}`);
  return k.kernelFunc;
}

export function config(kernelName: string, kernelFunc: KernelFunc): KernelConfig {
  return { kernelName, backendName: 'native', kernelFunc };
}

export type Attrs = NamedAttrMap;
