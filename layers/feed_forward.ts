import * as tf from '../core/tf.ts';
import { dropout, gelu } from '../core/ops/fused.ts';
import { rateSchema } from './dropout.ts';
import { defineLayer, LayerError, type BuildContext, type Forward } from './registry.ts';
import { makeLinear, type Linear } from './linear.ts';

export interface FeedForwardParams { mult: number; activation: 'relu' | 'gelu'; projection: boolean; dropout: number }

export const feedForwardSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    mult: { type: 'integer', minimum: 1, default: 4, description: 'hidden width = mult x width' },
    activation: { enum: ['relu', 'gelu'], default: 'relu' },
    projection: { type: 'boolean', default: true, description: 'Linear back to the width after the activation' },
    dropout: rateSchema,
  },
};


/** The feed-forward's forward function and its parameters (a fused block reads them). */
export type FeedForwardLayer = Forward & { fc: Linear; proj: Linear | null };

export function buildFeedForward(p: FeedForwardParams, ctx: BuildContext): FeedForwardLayer {
  if (ctx.stage !== 'features') throw new LayerError([], 'feed_forward needs features: place it after token_embedding');
  const C = ctx.dim, hidden = p.mult * C;
  const up = makeLinear(ctx, 'fc', C, hidden, true);
  const down = p.projection ? makeLinear(ctx, 'proj', hidden, C, true) : null;
  ctx.dim = down ? C : hidden;
  ctx.note(`(B, T, ${ctx.dim})`);
  const act = p.activation === 'gelu' ? gelu : (x: tf.Tensor) => tf.relu(x);
  const forward: Forward = (x, fc) => {
    let y = act(up.apply(x));
    if (down) y = down.apply(y);
    if (fc.training && p.dropout > 0) y = dropout(y, p.dropout, fc.seed, fc.nextCallId());
    return y;
  };
  return Object.assign(forward, { fc: up, proj: down });
}

export default defineLayer<FeedForwardParams>({
  name: 'feed_forward',
  doc: 'Per-position MLP: Linear(width, mult x width), ReLU or GELU, optional Linear back, dropout.',
  schema: feedForwardSchema,
  build: buildFeedForward,
});
