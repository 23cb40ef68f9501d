// The gradients of the fused ops' kernels, registered by kernel name: shared by every backend
// that implements those kernels (native, cuda), since tfjs keeps one gradient per kernel name.
import { registerCausalAttentionGradient } from './CausalAttention.ts';
import { registerDropoutGradient } from './Dropout.ts';
import { registerEmbeddingGradient } from './Embedding.ts';
import { registerGeluGradient } from './Gelu.ts';
import { registerLayerNormGradient } from './LayerNorm.ts';
import { registerSoftmaxCrossEntropyGradient } from './SoftmaxCrossEntropy.ts';
import { registerTransformerBlockGradient } from './TransformerBlock.ts';

export function registerFusedGradients(): void {
  registerLayerNormGradient();
  registerCausalAttentionGradient();
  registerSoftmaxCrossEntropyGradient();
  registerDropoutGradient();
  registerEmbeddingGradient();
  registerGeluGradient();
  registerTransformerBlockGradient();
}
