// Typed interface of the C++ addon (native/src/addon.cc and native/kernels/*.cc) and its loader.
// Conventions: outputs first, then inputs, then sizes; output arrays are allocated by the caller
// (fresh typed arrays, so zero-filled); shapes, strides and permutations go through `dims`, a
// shared Int32Array written right before the call. Seeds and call ids are split into 32-bit
// halves here so C++ never sees a number above 2^32.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Values = Float32Array | Int32Array | Uint8Array;

/** Op codes of native/kernels/unary.cc (same order). */
export enum UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Square, Relu, Step, Tanh, Erf, Floor, LogicalNot, Abs, Sigmoid, Reciprocal, Ceil,
}

/** Op codes of native/kernels/binary.cc (same order). */
export enum BinaryOp {
  Add, Sub, Mul, Div, Max, Min, Pow, SquaredDifference, FloorDiv, Equal, NotEqual, Less, LessEqual, Greater,
  GreaterEqual, LogicalAnd, LogicalOr,
}

/** Op codes of native/kernels/reduce.cc (same order). */
export enum ReduceOp { Sum, Mean, Max, Min, ArgMax, ArgMin }

export interface NativeBinding {
  version: string;
  /** shared dims buffer (1024 int32) read by the kernels that take a rank */
  dims: Int32Array;
  /** bf16: whether matmuls can run in bf16 here (AMX-BF16); precision: the current setting */
  info(): { gemmKernel: string; threads: number; isa: string; bf16: boolean; precision: 'fp32' | 'bf16' };
  setThreads(n: number): void;
  /** Matmul precision of every GEMM (native/src/gemm.h); false, and nothing changed, if unavailable. */
  setPrecision(precision: 'fp32' | 'bf16'): boolean;

  unary(op: UnaryOp, x: Values, out: Values, alpha: number): void;
  /** dims: out shape, a strides, b strides (0 on broadcast dims) */
  binary(op: BinaryOp, a: Values, b: Values, out: Values, rank: number): void;
  cast(x: Values, out: Values): void;
  select(cond: Values, t: Values, e: Values, out: Values): void;
  /** dims: shape, perm */
  transpose(x: Values, out: Values, rank: number): void;
  /** dims: shape, reps */
  tile(x: Values, out: Values, rank: number): void;
  /** dims: width (elements per outer row) of each input */
  concat(xs: Values[], out: Values, outer: number): void;
  /** dims: width of each output */
  split(x: Values, outs: Values[], outer: number): void;
  /** dims: shape, begin, size */
  slice(x: Values, out: Values, rank: number): void;
  /** dims: out shape, before, x shape */
  pad(x: Values, out: Values, rank: number, value: number): void;
  gather(x: Values, indices: Values, out: Values, batch: number, outer: number, dim: number, slice: number): void;
  segmentSum(x: Values, ids: Values, out: Values, inner: number, numSegments: number): void;
  oneHot(indices: Values, out: Values, depth: number, on: number, off: number): void;
  range(out: Values, start: number, step: number): void;
  /** dims: shape, reduced flags */
  reduce(op: ReduceOp, x: Values, out: Values, rank: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** dims: out batch shape, a batch strides, b batch strides (elements, 0 on broadcast dims) */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, transA: boolean, transB: boolean, M: number, N: number,
    K: number, nb: number): void;
  multinomial(x: Float32Array, out: Int32Array, batch: number, events: number, numSamples: number, seed: string,
    normalized: boolean): void;

  layerNormForward(out: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, N: number, C: number,
    eps: number): void;
  layerNormBackward(dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dy: Float32Array, x: Float32Array,
    gamma: Float32Array, N: number, C: number, eps: number): void;
  attentionForward(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, BH: number, T: number,
    D: number, rate: number, seedLo: number, seedHi: number, callLo: number, callHi: number): void;
  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array,
    k: Float32Array, v: Float32Array, BH: number, T: number, D: number, rate: number, seedLo: number, seedHi: number,
    callLo: number, callHi: number): void;
  crossEntropyForward(logits: Float32Array, targets: Values, N: number, V: number): number;
  crossEntropyBackward(dlogits: Float32Array, logits: Float32Array, targets: Values, N: number, V: number,
    dloss: number): void;
  geluForward(out: Float32Array, x: Float32Array): void;
  geluBackward(dx: Float32Array, dy: Float32Array, x: Float32Array): void;
  dropout(out: Float32Array, x: Float32Array, rate: number, seedLo: number, seedHi: number, callLo: number,
    callHi: number): void;
  dropoutMask(out: Float32Array, rate: number, seedLo: number, seedHi: number, callLo: number, callHi: number): void;
  philox(out: Uint32Array, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void;
  /** (y, qkv, atty, y1, h, x, ln1g, ln1b, wqkv, wproj, bproj, ln2g, ln2b, wfc, bfc, wfp, bfp, ...dims); dims: B, T,
   * C, H, F, gelu (0/1), eps, seedLo, seedHi, then rate, callLo, callHi of the attention weights', the projection's
   * and the feed-forward's dropout (native/kernels/block.cc) */
  transformerBlockForward(...args: (Float32Array | number)[]): void;
  /** (dx, dln1g, dln1b, dwqkv, dwproj, dbproj, dln2g, dln2b, dwfc, dbfc, dwfp, dbfp, dy, qkv, atty, y1, h, x, ln1g,
   * ln1b, wqkv, wproj, ln2g, ln2b, wfc, wfp, ...dims), dims as the forward's */
  transformerBlockBackward(...args: (Float32Array | number)[]): void;
  adamw(params: Float32Array[], grads: Float32Array[], m: Float32Array[], v: Float32Array[], decay: Uint8Array,
    decayFactor: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    sqrtBc2: number, eps: number, stepSize: number): void;
}

const TWO_POW_32 = 4294967296;
/** [low, high] 32-bit halves of a non-negative integer below 2^53 (as core/random/philox.ts). */
export function split64(x: number): [number, number] {
  return [x >>> 0, Math.floor(x / TWO_POW_32) >>> 0];
}

export const addonPath = join(dirname(fileURLToPath(import.meta.url)), 'build', 'Release', 'nanolab_native.node');

/** Loads the addon; throws with a readable reason when it is missing or does not load. */
export function loadBinding(): NativeBinding {
  if (!existsSync(addonPath)) {
    throw new Error(`addon not built (${addonPath} missing): run npm run build:native`);
  }
  return createRequire(import.meta.url)(addonPath) as NativeBinding;
}
