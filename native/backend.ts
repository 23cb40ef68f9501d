// The 'native' tfjs backend: tfjs' cpu backend (storage of typed arrays, reads, disposal and
// every kernel not written natively) with the kernels of native/kernels registered over it.
// Tensor data stays in JS typed arrays: the addon reads and writes them in place, so memory is
// freed by disposal plus GC exactly as on 'cpu', and nothing is allocated inside the addon
// beyond per-call scratch.
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // skip the cpu backend's "install tfjs-node" notice on first write: this is the fast path
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}
