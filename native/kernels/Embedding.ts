// Fused embedding lookup (core/ops/registry.ts `embedding`): rows of the (V, C) table gathered
// at int32 ids (native gather in gather.cc); its gradient scatter-adds dy's rows back into a
// (V, C) table (the segment sum of gather.cc), O(N C) instead of a one-hot matmul.
import { registerGradient, type GradConfig, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, f32, nb, raw, sizeOf } from './util.ts';

export const Embedding = 'NanolabEmbedding';
export const EmbeddingGrad = 'NanolabEmbeddingGrad';

export const embeddingConfig = config(Embedding, (args) => {
  const { table, ids } = args.inputs as { table: TensorInfo; ids: TensorInfo };
  const backend = args.backend as Backend;
  const [V, C] = table.shape;
  const shape = [...ids.shape, C];
  const out = allocF32(backend, sizeOf(shape));
  nb().gather(f32(backend, table), raw(backend, ids), out, 1, 1, V, C);
  return backend.makeTensorInfo(shape, 'float32', out);
});

export const embeddingGradConfig = config(EmbeddingGrad, (args) => {
  const { dy, table, ids } = args.inputs as { dy: TensorInfo; table: TensorInfo; ids: TensorInfo };
  const backend = args.backend as Backend;
  const [V, C] = table.shape;
  const out = allocF32(backend, V * C, true);
  if (out.length > 0) nb().segmentSum(f32(backend, dy), raw(backend, ids), out, C, V);
  return backend.makeTensorInfo([V, C], 'float32', out);
});

export const embeddingGradient: GradConfig = {
  kernelName: Embedding,
  inputsToSave: ['table', 'ids'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [table, ids] = saved;
    return {
      table: () => tf.engine().runKernel(EmbeddingGrad, { dy: dy as Tensor, table, ids }, {}) as Tensor,
      ids: () => tf.zeros(ids.shape, 'float32'),
    };
  },
};

export function registerEmbeddingGradient(): void { registerGradient(embeddingGradient); }
