// Layer lists that benchmarks and tests share, in the experiment files' own form.

/** The lecture's full model: embeddings, n_layer pre-norm blocks (projection, 4x feed-forward,
 * dropout), a final layer norm and the language-model head. */
export function gptLayers(o: { n_embd: number; n_head: number; n_layer: number; dropout: number; activation?: 'relu' | 'gelu' }): unknown[] {
  return [
    { token_embedding: { dim: o.n_embd } },
    { position_embedding: { kind: 'learned' } },
    { repeat: o.n_layer, layers: [{ block: {
      attention: { n_head: o.n_head, projection: true, dropout: o.dropout, causal: true, impl: 'batched' },
      feed_forward: { mult: 4, activation: o.activation ?? 'relu', projection: true, dropout: o.dropout },
      residual: true, norm: 'pre',
    } }] },
    { layer_norm: { eps: 1e-5, enabled: true } },
    { lm_head: { bias: true, tie: false } },
  ];
}
