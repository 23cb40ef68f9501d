import * as tf from '../core/tf.ts';
import { defineLayer, embeddingInit, LayerError } from './registry.ts';

type Kind = 'learned' | 'sinusoidal' | 'none';

/** The fixed table of "Attention is all you need": sin on even, cos on odd features. */
function sinusoidTable(T: number, C: number): Float32Array {
  const a = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < C; i++) {
      const freq = Math.pow(10000, -(2 * Math.floor(i / 2)) / C);
      a[t * C + i] = i % 2 === 0 ? Math.sin(t * freq) : Math.cos(t * freq);
    }
  }
  return a;
}

export default defineLayer<{ kind: Kind }>({
  name: 'position_embedding',
  doc: 'Adds a vector per position 0..block_size-1: learned, sinusoidal (fixed) or none.',
  schema: {
    type: 'object', additionalProperties: false,
    properties: { kind: { enum: ['learned', 'sinusoidal', 'none'], default: 'learned' } },
  },
  build(p, ctx) {
    if (ctx.stage !== 'features') throw new LayerError([], 'position_embedding adds to features: place it after token_embedding');
    const C = ctx.dim, T = ctx.blockSize;
    ctx.note(`(B, T, ${C})`);
    if (p.kind === 'none') return (x) => x;
    if (p.kind === 'sinusoidal') {
      let table: tf.Tensor2D | null = null; // made on first use: a dry build allocates nothing
      return (x) => {
        table ??= tf.keep(tf.tensor2d(sinusoidTable(T, C), [T, C]));
        return x.add(table.slice([0, 0], [x.shape[1]!, C]));
      };
    }
    const table = ctx.param('weight', [T, C], embeddingInit(ctx.init));
    return (x) => x.add(table.v!.slice([0, 0], [x.shape[1]!, C])); // (B, T, C) + (T, C)
  },
});
