import { layerNorm } from '../core/ops/fused.ts';
import { defineLayer, LayerError } from './registry.ts';

export default defineLayer<{ eps: number; enabled: boolean }>({
  name: 'layer_norm',
  doc: 'Normalises each position\'s features to zero mean and unit variance, then scales and shifts.',
  schema: {
    type: 'object', additionalProperties: false,
    properties: {
      eps: { type: 'number', exclusiveMinimum: 0, default: 1e-5 },
      enabled: { type: 'boolean', default: true, description: 'false: identity (for ablations)' },
    },
  },
  build(p, ctx) {
    if (ctx.stage !== 'features') throw new LayerError([], 'layer_norm normalises features: place it after an embedding');
    ctx.note(`(B, T, ${ctx.dim})`);
    if (!p.enabled) return (x) => x;
    const C = ctx.dim;
    const gamma = ctx.param('weight', [C], { kind: 'const', value: 1 });
    const beta = ctx.param('bias', [C], { kind: 'const', value: 0 });
    return (x) => layerNorm(x, gamma.v!, beta.v!, p.eps);
  },
});
