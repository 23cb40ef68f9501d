import { embedding } from '../core/ops/fused.ts';
import { defineLayer, embeddingInit, LayerError } from './registry.ts';

export default defineLayer<{ dim: number }>({
  name: 'token_embedding',
  doc: 'A learned vector of width dim for each token id.',
  schema: {
    type: 'object', required: ['dim'], additionalProperties: false,
    properties: { dim: { type: 'integer', minimum: 1, description: 'embedding width (n_embd)' } },
  },
  build(p, ctx) {
    if (ctx.stage !== 'tokens') throw new LayerError([], 'token_embedding reads token ids: it must come first');
    const table = ctx.param('weight', [ctx.vocabSize, p.dim], embeddingInit(ctx.init));
    ctx.tokenEmbedding = table;
    ctx.stage = 'features'; ctx.dim = p.dim;
    ctx.note(`(B, T, ${p.dim})`);
    return (_x, fc) => embedding(table.v!, fc.idx); // (B, T, C)
  },
});
