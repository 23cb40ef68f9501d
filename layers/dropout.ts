import { dropout } from '../core/ops/fused.ts';
import { defineLayer } from './registry.ts';

export const rateSchema = { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0 };

export default defineLayer<{ rate: number }>({
  name: 'dropout',
  doc: 'Zeroes each feature with probability rate while training (scaling the rest by 1/(1-rate)).',
  schema: { type: 'object', additionalProperties: false, properties: { rate: rateSchema } },
  build(p, ctx) {
    ctx.note(`(B, T, ${ctx.dim})`);
    return (x, fc) => (fc.training && p.rate > 0 ? dropout(x, p.rate, fc.seed, fc.nextCallId()) : x);
  },
});
