// Not a registered layer: the affine map y = x W + b that several layers share.
import * as tf from '../core/tf.ts';
import { linearInit, type BuildContext, type Param } from './registry.ts';

export interface Linear { w: Param; b: Param | null; apply(x: tf.Tensor): tf.Tensor }

/** W is stored (in, out) so the forward pass is x @ W without a transpose. */
export function makeLinear(ctx: BuildContext, name: string, inDim: number, outDim: number, bias: boolean): Linear {
  const init = linearInit(ctx.init, inDim);
  const w = ctx.param(`${name}.weight`, [inDim, outDim], init.w);
  const b = bias ? ctx.param(`${name}.bias`, [outDim], init.b) : null;
  return {
    w, b,
    apply(x) {
      const lead = x.shape.slice(0, -1);
      const y = tf.fused.matMul({ a: x.reshape([-1, inDim]), b: w.v!, bias: b?.v ?? undefined }); // (N, out), bias added in the matmul
      return y.reshape([...lead, outDim]);
    },
  };
}
