// The 'native' tfjs backend: tfjs' cpu backend (storage of typed arrays, reads, disposal and
// every kernel not written natively) with the kernels of native/kernels registered over it.
//
// Tensor data stays in JS typed arrays, which the addon reads and writes in place. Outputs of the
// native kernels come from a pool of recycled ArrayBuffers: a fresh multi-megabyte typed array
// costs more in page faults than most kernels cost to compute (a 4 MB output: ~1 ms of faults for
// a ~0.5 ms add), and a training step makes the same shapes every time. A buffer goes back to the
// pool when its tensor's data is disposed, and only when nothing else can still see it:
//   - it was made by alloc() and written to exactly one dataId (a second tensor or a view on the
//     same buffer, e.g. from a cpu fallback kernel, marks it shared and it is never recycled);
//   - reads (dataSync, data, arraySync, print, moves to another backend) return copies, so user
//     code never holds a pooled array.
// The pool is capped (NANOLAB_POOL_MB, default 1/8 of RAM within [256 MB, 2 GB]; 0 turns pooling
// off): past the cap, the sizes used least recently are let go (e.g. evaluation shapes during
// training), so memory stays flat.
import { totalmem } from 'node:os';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendValues, DataId, DataType } from '@tensorflow/tfjs-core';

type Values = Float32Array | Int32Array | Uint8Array;

/** Below this size a plain typed array is cheap. */
const MIN_POOLED_BYTES = 16 * 1024;

export class NativeBackend extends MathBackendCPU {
  private readonly pool = new Map<number, ArrayBuffer[]>();   // byte size -> free buffers
  private readonly lastUse = new Map<number, number>();        // byte size -> tick of last use
  private tick = 0;
  private poolBytes = 0;
  private maxPoolBytes: number;
  private minPooledBytes = MIN_POOLED_BYTES;
  private poison = false;
  private readonly made = new WeakSet<ArrayBuffer>();          // buffers from alloc()
  private readonly owner = new WeakMap<ArrayBuffer, DataId>();  // the one dataId written with it
  private readonly shared = new WeakSet<ArrayBuffer>();        // seen under two dataIds: never reused

  constructor() {
    super();
    // skip the cpu backend's "install tfjs-node" notice on first write: this is the fast path
    (this as unknown as { firstUse: boolean }).firstUse = false;
    const auto = Math.min(Math.max(totalmem() / 8, 256 * 2 ** 20), 2 * 2 ** 30);
    const mb = process.env.NANOLAB_POOL_MB === undefined ? auto / 2 ** 20 : Number(process.env.NANOLAB_POOL_MB);
    this.maxPoolBytes = Number.isFinite(mb) && mb > 0 ? mb * 2 ** 20 : 0;
  }

  /** An output array for a kernel: recycled when possible (contents undefined unless zero). */
  alloc(dtype: DataType, n: number, zero = false): Values {
    const bytes = dtype === 'bool' ? n : 4 * n;
    if (bytes < this.minPooledBytes || this.maxPoolBytes === 0) return fresh(dtype, n);
    this.lastUse.set(bytes, ++this.tick);
    let buf = this.pool.get(bytes)?.pop();
    const reused = buf !== undefined;
    if (buf) {
      this.poolBytes -= bytes;
    } else {
      buf = new ArrayBuffer(bytes);
      this.made.add(buf);
    }
    const out = dtype === 'float32' ? new Float32Array(buf) : dtype === 'int32' ? new Int32Array(buf) : new Uint8Array(buf);
    if (zero) {
      if (reused) out.fill(0);  // a new ArrayBuffer is zero already
    } else if (this.poison) {
      out.fill(dtype === 'float32' ? NaN : 77);
    }
    return out;
  }

  /** Whether another tensor may see this array's buffer (AdamW updates in place only if not). */
  sharedBuffer(values: BackendValues): boolean {
    if (!ArrayBuffer.isView(values)) return false;
    const buf = (values as Values).buffer as ArrayBuffer;
    return this.shared.has(buf) || values.byteOffset !== 0 || values.byteLength !== buf.byteLength;
  }

  /** Tests: pool every size, and fill arrays handed out without zero with garbage (NaN), so a
   * kernel that forgets to ask for zeros fails its comparison. */
  setPoolTesting(on: boolean): void {
    this.minPooledBytes = on ? 1 : MIN_POOLED_BYTES;
    this.poison = on;
  }

  /** Tests: change the pool cap (bytes). */
  setPoolCap(bytes: number): void { this.maxPoolBytes = bytes; }

  /** Bytes waiting in the pool (for tests). */
  pooledBytes(): number { return this.poolBytes; }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const id = super.write(values, shape, dtype);
    this.claim(values, id);
    return id;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.claim(values, dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && values && !this.data.has(dataId)) this.recycle(values, dataId);
    return released;
  }

  // Reads hand out copies (tfjs' cpu backend returns its own array), so no caller can keep a
  // reference to a buffer that will be recycled.
  override readSync(dataId: DataId): BackendValues {
    const v = super.readSync(dataId);
    return ArrayBuffer.isView(v) ? (v as Values).slice() : v;
  }

  override dispose(): void {
    this.pool.clear();
    this.poolBytes = 0;
    super.dispose();
  }

  private claim(values: BackendValues, id: DataId): void {
    if (!values || !ArrayBuffer.isView(values)) return;
    const buf = (values as Values).buffer as ArrayBuffer;
    if (!this.made.has(buf)) return;
    if (this.owner.has(buf) || values.byteOffset !== 0 || values.byteLength !== buf.byteLength) this.shared.add(buf);
    else this.owner.set(buf, id);
  }

  /** Frees the free lists of the sizes used least recently (never `keep`) until under the cap. */
  private evict(keep: number): void {
    const sizes = [...this.pool.keys()].filter((b) => b !== keep && this.pool.get(b)!.length > 0)
      .sort((a, b) => (this.lastUse.get(a) ?? 0) - (this.lastUse.get(b) ?? 0));
    for (const b of sizes) {
      if (this.poolBytes + keep <= this.maxPoolBytes) return;
      this.poolBytes -= b * this.pool.get(b)!.length;
      this.pool.delete(b);
    }
  }

  private recycle(values: BackendValues, id: DataId): void {
    if (!ArrayBuffer.isView(values)) return;
    const buf = (values as Values).buffer as ArrayBuffer;
    if (!this.made.has(buf) || this.shared.has(buf) || this.owner.get(buf) !== id) return;
    this.owner.delete(buf);
    if (this.poolBytes + buf.byteLength > this.maxPoolBytes) this.evict(buf.byteLength);
    if (this.poolBytes + buf.byteLength > this.maxPoolBytes) return;  // let GC have it
    let list = this.pool.get(buf.byteLength);
    if (!list) this.pool.set(buf.byteLength, (list = []));
    list.push(buf);
    this.poolBytes += buf.byteLength;
  }
}

function fresh(dtype: DataType, n: number): Values {
  return dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
}
