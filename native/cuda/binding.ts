// Typed interface of the CUDA addon (native/cuda/addon.cc) and its loader. Device memory is
// addressed by numbers (device pointers); every kernel is queued on the backend's one stream and
// returns at once; download() and sync() wait. Shapes, strides and permutations go through
// `dims`, a shared Float64Array written right before the call. Dtype codes: 0 float32, 1 int32,
// 2 bool (one byte).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Ptr = number;
export type HostArray = Float32Array | Int32Array | Uint8Array;
export enum DType { F32 = 0, I32 = 1, U8 = 2 }

export interface CudaDeviceInfo {
  deviceCount: number; error?: string; emulated?: boolean; name?: string; computeCapability?: string;
  multiprocessors?: number; memoryBytes?: number; driverVersion?: number; runtimeVersion?: number;
  /** how matmuls run: "cuBLASLt 13.x loaded", or why the SIMT fallback is used */
  gemm: string; cublas: boolean;
  /** how precision bf16 feeds its matmuls: "round-in-gemm" or "bf16-copies" (NANOLAB_CUDA_BF16_GEMM) */
  bf16Gemm: string;
}

export interface CudaBinding {
  version: string;
  /** shared dims buffer (256 float64) read by the kernels that take a rank or a list */
  dims: Float64Array;
  info(): CudaDeviceInfo;
  alloc(bytes: number): Ptr;
  free(p: Ptr): void;
  releaseCache(): void;
  memory(): { inUse: number; cached: number; peak: number; allocs: number };
  upload(dst: Ptr, src: HostArray): void;
  download(src: Ptr, dst: HostArray): void;
  copyDevice(dst: Ptr, src: Ptr, bytes: number): void;
  memset(dst: Ptr, byte: number, bytes: number): void;
  sync(): void;
  /** compute type of every matmul that follows; false for an unknown name */
  setPrecision(p: 'fp32' | 'tf32' | 'bf16'): boolean;
  /** how bf16 matmuls that follow get bf16 operands (matmul.h: Bf16Gemm); false for an unknown name */
  setBf16Gemm(mode: 'round-in-gemm' | 'bf16-copies'): boolean;

  // generic tensor kernels (src/tensor_ops.cu); op codes as native/binding.ts UnaryOp, BinaryOp, ReduceOp
  unary(op: number, xdt: DType, odt: DType, x: Ptr, out: Ptr, n: number, alpha: number): void;
  /** dims: out shape, a strides, b strides (0 on broadcast dims) */
  binary(op: number, adt: DType, bdt: DType, odt: DType, a: Ptr, b: Ptr, out: Ptr, rank: number): void;
  cast(from: DType, to: DType, x: Ptr, out: Ptr, n: number): void;
  select(cond: Ptr, dt: DType, t: Ptr, e: Ptr, out: Ptr, n: number): void;
  /** dims: shape, perm */
  transpose(dt: DType, x: Ptr, out: Ptr, rank: number): void;
  /** dims: shape, reps */
  tile(dt: DType, x: Ptr, out: Ptr, rank: number): void;
  /** dims: shape, begin, size */
  slice(dt: DType, x: Ptr, out: Ptr, rank: number): void;
  /** dims: shape, before, after */
  pad(dt: DType, x: Ptr, out: Ptr, rank: number, value: number): void;
  /** dims: width (elements per outer row) of each input */
  concat(dt: DType, xs: Ptr[], out: Ptr, outer: number): void;
  /** dims: width of each output */
  split(dt: DType, x: Ptr, outs: Ptr[], outer: number): void;
  gather(dt: DType, x: Ptr, indices: Ptr, out: Ptr, batch: number, outer: number, dim: number, slice: number, nIndices: number): void;
  /** the first int32 index outside [0, dim), or null (waits for the device) */
  gatherCheck(indices: Ptr, n: number, dim: number): { at: number; value: number } | null;
  oneHot(indices: Ptr, out: Ptr, n: number, depth: number, on: number, off: number, dt: DType): void;
  range(out: Ptr, n: number, start: number, step: number, dt: DType): void;
  fill(out: Ptr, n: number, value: number, dt: DType): void;
  /** over an (outer, inner) view, the reduced axes innermost */
  reduce(op: number, xdt: DType, odt: DType, x: Ptr, out: Ptr, outer: number, inner: number): void;
  softmax(out: Ptr, x: Ptr, rows: number, cols: number): void;
  /** row-major C[b] (M, N) = op(A[b]) op(B[b]), batch strides in elements (0: broadcast) */
  matmul(out: Ptr, a: Ptr, b: Ptr, transA: boolean, transB: boolean, M: number, N: number, K: number, batch: number,
    strideA: number, strideB: number, strideC: number): void;
  /** C (M, N) = op(A) op(B) + bias (N) [then relu] */
  matmulBias(out: Ptr, a: Ptr, b: Ptr, bias: Ptr | null, relu: boolean, transA: boolean, transB: boolean, M: number,
    N: number, K: number): void;

  // the fused ops of core/ops/registry.ts (src/rowwise.cu, src/attention.cu, src/block.cu)
  layerNormForward(out: Ptr, x: Ptr, gamma: Ptr, beta: Ptr, N: number, C: number, eps: number): void;
  layerNormBackward(dx: Ptr, dgamma: Ptr, dbeta: Ptr, dy: Ptr, x: Ptr, gamma: Ptr, N: number, C: number, eps: number): void;
  attentionForward(out: Ptr, q: Ptr, k: Ptr, v: Ptr, B: number, H: number, T: number, D: number, rate: number,
    seedLo: number, seedHi: number, callLo: number, callHi: number): void;
  attentionBackward(dq: Ptr, dk: Ptr, dv: Ptr, dout: Ptr, q: Ptr, k: Ptr, v: Ptr, B: number, H: number, T: number,
    D: number, rate: number, seedLo: number, seedHi: number, callLo: number, callHi: number): void;
  /** loss: one device float, the mean */
  crossEntropyForward(loss: Ptr, logits: Ptr, targets: Ptr, N: number, V: number): void;
  /** dloss: one device float */
  crossEntropyBackward(dlogits: Ptr, logits: Ptr, targets: Ptr, dloss: Ptr, N: number, V: number): void;
  embeddingForward(out: Ptr, table: Ptr, ids: Ptr, N: number, V: number, C: number): void;
  embeddingBackward(dtable: Ptr, ids: Ptr, dout: Ptr, N: number, V: number, C: number): void;
  dropout(out: Ptr, x: Ptr, n: number, rate: number, seedLo: number, seedHi: number, callLo: number, callHi: number): void;
  geluForward(out: Ptr, x: Ptr, n: number): void;
  geluBackward(dx: Ptr, dy: Ptr, x: Ptr, n: number): void;
  /** one launch over every parameter; hyper: decay factor 1 - lr wd, b1, 1 - b1, b2, 1 - b2, sqrt(1 - b2^t), eps, lr / (1 - b1^t) */
  adamw(params: Ptr[], grads: Ptr[], m: Ptr[], v: Ptr[], sizes: number[], decay: Uint8Array, decayFactor: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, sqrtBc2: number, eps: number,
    stepSize: number): void;
  /** (y, qkv, atty, y1, h, lse, x, ln1g, ln1b, wqkv, wproj, bproj, ln2g, ln2b, wfc, bfc, wfp, bfp, ...dims); dims as
   * native/binding.ts transformerBlockForward's */
  transformerBlockForward(...args: number[]): void;
  /** (dx, dln1g, dln1b, dwqkv, dwproj, dbproj, dln2g, dln2b, dwfc, dbfc, dwfp, dbfp, dy, qkv, atty, y1, h, lse, x, ln1g,
   * ln1b, wqkv, wproj, ln2g, ln2b, wfc, wfp, ...dims) */
  transformerBlockBackward(...args: number[]): void;
}

const build = join(dirname(fileURLToPath(import.meta.url)), 'build');
export const cudaAddonPath = (emulated: boolean) => join(build, emulated ? 'nanolab_cuda_emu.node' : 'nanolab_cuda.node');

/** Loads the addon (the emulator build when asked); throws with a readable reason. */
export function loadCudaBinding(emulated: boolean): CudaBinding {
  const path = cudaAddonPath(emulated);
  if (!existsSync(path)) {
    throw new Error(emulated ? `the CUDA emulator build is missing (${path}): run npm run build:cuda`
      : `not built (${path} missing; npm install builds it where nvcc is found)`);
  }
  return createRequire(import.meta.url)(path) as CudaBinding;
}
