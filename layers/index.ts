// Every layer, registered on import. Adding a layer: one file in layers/ and one line here.
import './bigram.ts';
import './token_embedding.ts';
import './position_embedding.ts';
import './attention_head.ts';
import './multi_head_attention.ts';
import './feed_forward.ts';
import './layer_norm.ts';
import './dropout.ts';
import './block.ts';
import './repeat.ts';
import './lm_head.ts';

export * from './registry.ts';
