// Multinomial, sample for sample what tfjs' cpu kernel draws (same Alea stream, same cdf).
import { Multinomial, type TensorInfo } from '@tensorflow/tfjs-core';
import { config, f32, nb, type Backend } from './util.ts';

export const multinomialConfig = config(Multinomial, (args) => {
  const { logits } = args.inputs as { logits: TensorInfo };
  const { numSamples, seed, normalized } = args.attrs as { numSamples: number; seed: number; normalized: boolean };
  const backend = args.backend as Backend;
  const [batch, events] = logits.shape;
  const out = new Int32Array(batch * numSamples);
  nb().multinomial(f32(backend, logits), out, batch, events, numSamples, String(seed), normalized);
  return backend.makeTensorInfo([batch, numSamples], 'int32', out);
});
