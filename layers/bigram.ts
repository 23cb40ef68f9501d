import { embedding } from '../core/ops/fused.ts';
import { defineLayer, embeddingInit, LayerError } from './registry.ts';

export default defineLayer<Record<string, never>>({
  name: 'bigram',
  doc: 'A vocab x vocab table: the logits for the next token are looked up from the current one.',
  schema: { type: 'object', properties: {}, additionalProperties: false },
  build(_p, ctx) {
    if (ctx.stage !== 'tokens') throw new LayerError([], 'bigram reads token ids: it must be the first layer');
    const table = ctx.param('table', [ctx.vocabSize, ctx.vocabSize], embeddingInit(ctx.init));
    ctx.stage = 'logits'; ctx.dim = ctx.vocabSize;
    ctx.note('(B, T, V)');
    return (_x, fc) => embedding(table.v!, fc.idx); // (B, T, V)
  },
});
