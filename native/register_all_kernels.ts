// Kernel registration for the 'native' backend. Every kernel of tfjs' cpu backend is first
// registered for 'native' too (it runs unchanged on NativeBackend, which is a MathBackendCPU),
// then the native kernels below replace the ones they implement. Gradients are registered per
// kernel name, so tfjs' own gradients apply to the native kernels as they are.
import { getKernelsForBackend, registerKernel, unregisterKernel, getKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // registers the cpu kernels copied below

// element-wise (native/kernels/unary.cc, binary.cc)
import { absConfig } from './kernels/Abs.ts';
import { ceilConfig } from './kernels/Ceil.ts';
import { erfConfig } from './kernels/Erf.ts';
import { expConfig } from './kernels/Exp.ts';
import { floorConfig } from './kernels/Floor.ts';
import { logConfig } from './kernels/Log.ts';
import { logicalNotConfig } from './kernels/LogicalNot.ts';
import { negConfig } from './kernels/Neg.ts';
import { reciprocalConfig } from './kernels/Reciprocal.ts';
import { reluConfig } from './kernels/Relu.ts';
import { rsqrtConfig } from './kernels/Rsqrt.ts';
import { sigmoidConfig } from './kernels/Sigmoid.ts';
import { sqrtConfig } from './kernels/Sqrt.ts';
import { squareConfig } from './kernels/Square.ts';
import { stepConfig } from './kernels/Step.ts';
import { tanhConfig } from './kernels/Tanh.ts';
import { addConfig } from './kernels/Add.ts';
import { subConfig } from './kernels/Sub.ts';
import { multiplyConfig } from './kernels/Multiply.ts';
import { realDivConfig } from './kernels/RealDiv.ts';
import { maximumConfig } from './kernels/Maximum.ts';
import { minimumConfig } from './kernels/Minimum.ts';
import { powConfig } from './kernels/Pow.ts';
import { squaredDifferenceConfig } from './kernels/SquaredDifference.ts';
import { floorDivConfig } from './kernels/FloorDiv.ts';
import { equalConfig } from './kernels/Equal.ts';
import { notEqualConfig } from './kernels/NotEqual.ts';
import { lessConfig } from './kernels/Less.ts';
import { lessEqualConfig } from './kernels/LessEqual.ts';
import { greaterConfig } from './kernels/Greater.ts';
import { greaterEqualConfig } from './kernels/GreaterEqual.ts';
import { logicalAndConfig } from './kernels/LogicalAnd.ts';
import { logicalOrConfig } from './kernels/LogicalOr.ts';
// dtype and selection (cast.cc)
import { castConfig } from './kernels/Cast.ts';
import { selectConfig } from './kernels/Select.ts';
// creation and shape (fills in TS; transpose.cc, tile.cc, concat.cc, slice.cc, gather.cc)
import { fillConfig } from './kernels/Fill.ts';
import { zerosLikeConfig } from './kernels/ZerosLike.ts';
import { onesLikeConfig } from './kernels/OnesLike.ts';
import { transposeConfig } from './kernels/Transpose.ts';
import { tileConfig } from './kernels/Tile.ts';
import { concatConfig } from './kernels/Concat.ts';
import { packConfig } from './kernels/Pack.ts';
import { unpackConfig } from './kernels/Unpack.ts';
import { splitVConfig } from './kernels/SplitV.ts';
import { sliceConfig } from './kernels/Slice.ts';
import { padV2Config } from './kernels/PadV2.ts';
import { rangeConfig } from './kernels/Range.ts';
// indexing (gather.cc)
import { gatherV2Config } from './kernels/GatherV2.ts';
import { unsortedSegmentSumConfig } from './kernels/UnsortedSegmentSum.ts';
import { oneHotConfig } from './kernels/OneHot.ts';
// reductions (reduce.cc), softmax, matmul, sampling
import { sumConfig } from './kernels/Sum.ts';
import { meanConfig } from './kernels/Mean.ts';
import { maxConfig } from './kernels/Max.ts';
import { minConfig } from './kernels/Min.ts';
import { argMaxConfig } from './kernels/ArgMax.ts';
import { argMinConfig } from './kernels/ArgMin.ts';
import { softmaxConfig } from './kernels/Softmax.ts';
import { batchMatMulConfig } from './kernels/BatchMatMul.ts';
import { fusedMatMulConfig } from './kernels/_FusedMatMul.ts';
import { multinomialConfig } from './kernels/Multinomial.ts';
// fused ops of core/ops/registry.ts, each with a native gradient kernel
import { layerNormConfig, layerNormGradConfig } from './kernels/LayerNorm.ts';
import { causalAttentionConfig, causalAttentionGradConfig } from './kernels/CausalAttention.ts';
import { softmaxCrossEntropyConfig, softmaxCrossEntropyGradConfig } from './kernels/SoftmaxCrossEntropy.ts';
import { dropoutConfig } from './kernels/Dropout.ts';
import { embeddingConfig, embeddingGradConfig } from './kernels/Embedding.ts';
import { geluConfig, geluGradConfig } from './kernels/Gelu.ts';
import { transformerBlockConfig, transformerBlockGradConfig } from './kernels/TransformerBlock.ts';
import { registerFusedGradients } from './kernels/fused_gradients.ts';

/** The kernels implemented by the addon (Identity and Reshape stay tfjs' zero-copy ones). */
export const nativeKernels: KernelConfig[] = [
  absConfig, ceilConfig, erfConfig, expConfig, floorConfig, logConfig, logicalNotConfig, negConfig, reciprocalConfig,
  reluConfig, rsqrtConfig, sigmoidConfig, sqrtConfig, squareConfig, stepConfig, tanhConfig,
  addConfig, subConfig, multiplyConfig, realDivConfig, maximumConfig, minimumConfig, powConfig, squaredDifferenceConfig,
  floorDivConfig, equalConfig, notEqualConfig, lessConfig, lessEqualConfig, greaterConfig, greaterEqualConfig,
  logicalAndConfig, logicalOrConfig,
  castConfig, selectConfig,
  fillConfig, zerosLikeConfig, onesLikeConfig, transposeConfig, tileConfig, concatConfig, packConfig, unpackConfig,
  splitVConfig, sliceConfig, padV2Config, rangeConfig,
  gatherV2Config, unsortedSegmentSumConfig, oneHotConfig,
  sumConfig, meanConfig, maxConfig, minConfig, argMaxConfig, argMinConfig, softmaxConfig, batchMatMulConfig, fusedMatMulConfig,
  multinomialConfig,
  layerNormConfig, layerNormGradConfig, causalAttentionConfig, causalAttentionGradConfig, softmaxCrossEntropyConfig,
  softmaxCrossEntropyGradConfig, dropoutConfig, embeddingConfig, embeddingGradConfig, geluConfig, geluGradConfig,
  transformerBlockConfig, transformerBlockGradConfig,
];

export function registerAllKernels(backendName = 'native'): void {
  const mine = new Set(nativeKernels.map((k) => k.kernelName));
  for (const k of getKernelsForBackend('cpu')) {
    if (!mine.has(k.kernelName) && !getKernel(k.kernelName, backendName)) registerKernel({ ...k, backendName });
  }
  for (const k of nativeKernels) {
    if (getKernel(k.kernelName, backendName)) unregisterKernel(k.kernelName, backendName);
    registerKernel({ ...k, backendName });
  }
  registerFusedGradients();
}
