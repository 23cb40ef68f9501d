import { Softmax, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, f32, nb, sizeOf } from './util.ts';

export const softmaxConfig = config(Softmax, (args) => {
  const { logits } = args.inputs as { logits: TensorInfo };
  const rank = logits.shape.length;
  const dim = args.attrs!.dim as number;
  if (dim !== -1 && dim !== rank - 1) {
    throw Error('Softmax along a non-last dimension is not yet supported. ' +
      `Logits was rank ${rank} and dim was ${dim}`);
  }
  const backend = args.backend as Backend;
  const cols = logits.shape[rank - 1] ?? 1;
  const out = allocF32(backend, sizeOf(logits.shape));
  if (out.length > 0) nb().softmax(f32(backend, logits), out, out.length / cols, cols);
  return backend.makeTensorInfo(logits.shape, 'float32', out);
});
