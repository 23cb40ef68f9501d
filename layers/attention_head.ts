import { rateSchema } from './dropout.ts';
import { buildAttention } from './multi_head_attention.ts';
import { defineLayer } from './registry.ts';

export default defineLayer<{ head_size: number; dropout: number; causal: boolean }>({
  name: 'attention_head',
  doc: 'One head of causal self-attention: softmax(q k^T / sqrt(head_size)) v, output width head_size.',
  schema: {
    type: 'object', additionalProperties: false, required: ['head_size'],
    properties: {
      head_size: { type: 'integer', minimum: 1 },
      dropout: { ...rateSchema, description: 'on the attention weights' },
      causal: { type: 'boolean', default: true },
    },
  },
  build: (p, ctx) =>
    buildAttention({ n_head: 1, head_size: p.head_size, projection: false, dropout: p.dropout, causal: p.causal, impl: 'batched' }, ctx),
});
