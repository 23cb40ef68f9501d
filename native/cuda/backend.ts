// The 'cuda' tfjs backend: every numeric tensor is a block of GPU memory (native/cuda/src/memory.cu
// caches them), identified by its device address. Strings and complex numbers stay on the host
// (no kernel of ours reads them; tfjs' cpu kernels handle them through the fallback).
//
// Data records are shared by reference count, as in tfjs' own backends: Reshape and Identity hand
// out the same dataId with one more reference, and the device block is freed when the count
// reaches zero. Reads copy to the host and wait for the queued work (the only synchronisation
// points besides sync()).
import { DataStorage, KernelBackend, engine, type BackendTimingInfo, type BackendValues, type DataId, type DataType, type TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBinding } from './binding.ts';

export interface CudaData {
  /** device address (0 for an empty tensor or a host-only one) */
  ptr: number;
  bytes: number;
  dtype: DataType;
  refCount: number;
  /** strings and complex values: kept on the host, never on the device */
  host?: BackendValues;
}

export const bytesPerElement = (dtype: DataType) => (dtype === 'bool' ? 1 : dtype === 'int32' || dtype === 'float32' ? 4 : 0);

function hostArray(dtype: DataType, n: number): Float32Array | Int32Array | Uint8Array {
  return dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
}

/** The values as the typed array tfjs expects for the dtype (tfjs accepts plain arrays too). */
function asTyped(values: BackendValues, dtype: DataType): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (x) => (x ? 1 : 0));
}

export class CudaBackend extends KernelBackend {
  readonly data: DataStorage<CudaData>;
  private freed = false;

  constructor(readonly binding: CudaBinding, readonly name: string) {
    super();
    this.data = new DataStorage(this, engine());
  }

  /** A fresh device block for an output of `shape` (contents undefined). */
  makeOutput(shape: number[], dtype: DataType): TensorInfo {
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = n * bytesPerElement(dtype);
    const dataId = {};
    this.data.set(dataId, { ptr: bytes > 0 ? this.binding.alloc(bytes) : 0, bytes, dtype, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** The device address of a tensor's data. */
  ptr(t: TensorInfo): number { return this.data.get(t.dataId).ptr; }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.data.set(dataId, this.upload(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, this.upload(values, shape, dtype, refCount));
  }

  private upload(values: BackendValues, shape: number[], dtype: DataType, refCount: number): CudaData {
    if (dtype === 'string' || dtype === 'complex64') return { ptr: 0, bytes: 0, dtype, refCount, host: values };
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = n * bytesPerElement(dtype);
    const ptr = bytes > 0 ? this.binding.alloc(bytes) : 0;
    if (values != null && bytes > 0) this.binding.upload(ptr, asTyped(values, dtype));
    return { ptr, bytes, dtype, refCount };
  }

  override readSync(dataId: DataId): BackendValues {
    const d = this.data.get(dataId);
    if (d.host !== undefined) return d.host;
    const out = hostArray(d.dtype, d.bytes / bytesPerElement(d.dtype));
    if (d.bytes > 0) this.binding.download(d.ptr, out);
    return out;
  }

  override async read(dataId: DataId): Promise<BackendValues> { return this.readSync(dataId); }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (d.ptr) this.binding.free(d.ptr);
    this.data.delete(dataId);
    return true;
  }

  override incRef(dataId: DataId): void { this.data.get(dataId).refCount++; }
  override refCount(dataId: DataId): number { return this.data.has(dataId) ? this.data.get(dataId).refCount : 0; }
  override numDataIds(): number { return this.data.numDataIds(); }

  /** Drops a kernel's intermediate output (one reference). */
  disposeIntermediateTensorInfo(t: TensorInfo): void { this.disposeData(t.dataId); }

  /** tf.memory() adds these: device bytes held by tensors, kept free in the cache, and the peak. */
  override memory() {
    const m = this.binding.memory();
    const info = { unreliable: false, numBytesInGPU: m.inUse, numBytesInGPUCached: m.cached, numBytesInGPUPeak: m.peak };
    return info;
  }

  override timerAvailable(): boolean { return true; }
  override async time(f: () => void): Promise<BackendTimingInfo> {
    this.binding.sync();
    const t0 = performance.now();
    f();
    this.binding.sync();
    return { kernelMs: performance.now() - t0 };
  }

  /** Waits for every queued kernel (timing a step needs it; reads do it themselves). */
  sync(): void { this.binding.sync(); }

  override floatPrecision(): 32 { return 32; }
  override epsilon(): number { return 1e-7; }

  override dispose(): void {
    if (this.freed) return;
    this.freed = true;
    this.binding.sync();
    this.binding.releaseCache();
  }
}
