// The fused ops of core/ops/registry.ts on the device, under the kernel names the native CPU
// backend uses (native/kernels/*.ts), so native/fused.ts's FusedImpls and the gradients registered
// there serve both backends: LayerNorm, CausalAttention, SoftmaxCrossEntropy, Dropout, Embedding,
// Gelu (each with its gradient kernel) and the whole TransformerBlock.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { CausalAttention, CausalAttentionGrad } from '../../kernels/CausalAttention.ts';
import { Dropout } from '../../kernels/Dropout.ts';
import { Embedding, EmbeddingGrad } from '../../kernels/Embedding.ts';
import { Gelu, GeluGrad } from '../../kernels/Gelu.ts';
import { LayerNorm, LayerNormGrad } from '../../kernels/LayerNorm.ts';
import { SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad } from '../../kernels/SoftmaxCrossEntropy.ts';
import { TransformerBlock, TransformerBlockGrad, blockParamNames, blockSavedParams } from '../../kernels/TransformerBlock.ts';
import { cb, kernel, sizeOf, type Backend } from './util.ts';

type Attrs = Record<string, unknown>;
const dropoutKey = (a: Attrs) => [a.rate, a.seedLo, a.seedHi, a.callLo, a.callHi] as [number, number, number, number, number];

/** An int32 view of integer ids (float ids are cast on the device, then freed by the caller). */
function asInt32(backend: Backend, t: TensorInfo, cast: () => KernelFunc): TensorInfo {
  return t.dtype === 'int32' ? t : cast()({ inputs: { x: t }, attrs: { dtype: 'int32' }, backend }) as TensorInfo;
}

/** attrs: nHead, gelu, eps, seedLo, seedHi, then rate, callLo, callHi per dropout (attn, proj, ff) */
const blockDims = (a: Attrs, B: number, T: number, C: number, F: number) => [
  B, T, C, a.nHead as number, F, a.gelu ? 1 : 0, a.eps as number, a.seedLo as number, a.seedHi as number,
  a.attnRate as number, a.attnCallLo as number, a.attnCallHi as number,
  a.projRate as number, a.projCallLo as number, a.projCallHi as number,
  a.ffRate as number, a.ffCallLo as number, a.ffCallHi as number,
];

export function fusedKernels(cast: () => KernelFunc): KernelConfig[] {
  return [
    kernel(LayerNorm, (args) => {
      const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
      const backend = args.backend as Backend;
      const C = x.shape[x.shape.length - 1], n = sizeOf(x.shape);
      const out = backend.makeOutput(x.shape, 'float32');
      if (n > 0) cb().layerNormForward(backend.ptr(out), backend.ptr(x), backend.ptr(gamma), backend.ptr(beta), n / C, C, args.attrs!.eps as number);
      return out;
    }),
    kernel(LayerNormGrad, (args) => {
      const { dy, x, gamma } = args.inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
      const backend = args.backend as Backend;
      const C = x.shape[x.shape.length - 1], n = sizeOf(x.shape);
      const dx = backend.makeOutput(x.shape, 'float32'), dgamma = backend.makeOutput([C], 'float32'), dbeta = backend.makeOutput([C], 'float32');
      if (n > 0) {
        cb().layerNormBackward(backend.ptr(dx), backend.ptr(dgamma), backend.ptr(dbeta), backend.ptr(dy), backend.ptr(x), backend.ptr(gamma),
          n / C, C, args.attrs!.eps as number);
      } else if (C > 0) {
        cb().fill(backend.ptr(dgamma), C, 0, 0);
        cb().fill(backend.ptr(dbeta), C, 0, 0);
      }
      return [dx, dgamma, dbeta];
    }),

    kernel(CausalAttention, (args) => {
      const { q, k, v } = args.inputs as { q: TensorInfo; k: TensorInfo; v: TensorInfo };
      const backend = args.backend as Backend;
      const [B, H, T, D] = q.shape;
      const out = backend.makeOutput(q.shape, 'float32');
      if (sizeOf(q.shape) > 0) {
        cb().attentionForward(backend.ptr(out), backend.ptr(q), backend.ptr(k), backend.ptr(v), B, H, T, D, ...dropoutKey(args.attrs!));
      }
      return out;
    }),
    kernel(CausalAttentionGrad, (args) => {
      const { dy, q, k, v } = args.inputs as { dy: TensorInfo; q: TensorInfo; k: TensorInfo; v: TensorInfo };
      const backend = args.backend as Backend;
      const [B, H, T, D] = q.shape;
      const grads = [0, 1, 2].map(() => backend.makeOutput(q.shape, 'float32'));
      if (sizeOf(q.shape) > 0) {
        cb().attentionBackward(backend.ptr(grads[0]), backend.ptr(grads[1]), backend.ptr(grads[2]), backend.ptr(dy), backend.ptr(q),
          backend.ptr(k), backend.ptr(v), B, H, T, D, ...dropoutKey(args.attrs!));
      }
      return grads;
    }),

    kernel(SoftmaxCrossEntropy, (args) => {
      const { logits, targets } = args.inputs as { logits: TensorInfo; targets: TensorInfo };
      const backend = args.backend as Backend;
      const V = logits.shape[logits.shape.length - 1], N = sizeOf(logits.shape) / V;
      const t = asInt32(backend, targets, cast);
      const loss = backend.makeOutput([], 'float32');
      cb().crossEntropyForward(backend.ptr(loss), backend.ptr(logits), backend.ptr(t), N, V);
      if (t !== targets) backend.disposeIntermediateTensorInfo(t);
      return loss;
    }),
    kernel(SoftmaxCrossEntropyGrad, (args) => {
      const { dy, logits, targets } = args.inputs as { dy: TensorInfo; logits: TensorInfo; targets: TensorInfo };
      const backend = args.backend as Backend;
      const V = logits.shape[logits.shape.length - 1], n = sizeOf(logits.shape);
      const t = asInt32(backend, targets, cast);
      const out = backend.makeOutput(logits.shape, 'float32');
      if (n > 0) cb().crossEntropyBackward(backend.ptr(out), backend.ptr(logits), backend.ptr(t), backend.ptr(dy), n / V, V);
      if (t !== targets) backend.disposeIntermediateTensorInfo(t);
      return out;
    }),

    kernel(Dropout, (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const backend = args.backend as Backend;
      const out = backend.makeOutput(x.shape, 'float32');
      const n = sizeOf(x.shape);
      if (n > 0) cb().dropout(backend.ptr(out), backend.ptr(x), n, ...dropoutKey(args.attrs!));
      return out;
    }),

    kernel(Embedding, (args) => {
      const { table, ids } = args.inputs as { table: TensorInfo; ids: TensorInfo };
      const backend = args.backend as Backend;
      const [V, C] = table.shape;
      const out = backend.makeOutput([...ids.shape, C], 'float32');
      const t = asInt32(backend, ids, cast);
      if (sizeOf(out.shape) > 0) cb().embeddingForward(backend.ptr(out), backend.ptr(table), backend.ptr(t), sizeOf(ids.shape), V, C);
      if (t !== ids) backend.disposeIntermediateTensorInfo(t);
      return out;
    }),
    kernel(EmbeddingGrad, (args) => {
      const { dy, table, ids } = args.inputs as { dy: TensorInfo; table: TensorInfo; ids: TensorInfo };
      const backend = args.backend as Backend;
      const [V, C] = table.shape;
      const t = asInt32(backend, ids, cast);
      const out = backend.makeOutput([V, C], 'float32');
      if (V * C > 0) cb().embeddingBackward(backend.ptr(out), backend.ptr(t), backend.ptr(dy), sizeOf(ids.shape), V, C);
      if (t !== ids) backend.disposeIntermediateTensorInfo(t);
      return out;
    }),

    kernel(Gelu, (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const backend = args.backend as Backend;
      const out = backend.makeOutput(x.shape, 'float32');
      if (sizeOf(x.shape) > 0) cb().geluForward(backend.ptr(out), backend.ptr(x), sizeOf(x.shape));
      return out;
    }),
    kernel(GeluGrad, (args) => {
      const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
      const backend = args.backend as Backend;
      const out = backend.makeOutput(x.shape, 'float32');
      if (sizeOf(x.shape) > 0) cb().geluBackward(backend.ptr(out), backend.ptr(dy), backend.ptr(x), sizeOf(x.shape));
      return out;
    }),

    // Outputs: y, then what the backward reads: qkv, atty, y1, h, and the attention rows'
    // logsumexp (B, H, T), which saves the backward a pass over the scores.
    kernel(TransformerBlock, (args) => {
      const inputs = args.inputs as Record<string, TensorInfo>;
      const backend = args.backend as Backend;
      const { x, wfc } = inputs;
      const [B, T, C] = x.shape, F = wfc.shape[1], H = args.attrs!.nHead as number;
      const outs = [[B, T, C], [B, T, 3 * C], [B, T, C], [B, T, C], [B, T, F], [B, H, T]].map((s) => backend.makeOutput(s, 'float32'));
      cb().transformerBlockForward(...outs.map((o) => backend.ptr(o)), backend.ptr(x), ...blockParamNames.map((k) => backend.ptr(inputs[k])),
        ...blockDims(args.attrs!, B, T, C, F));
      return outs;
    }),
    kernel(TransformerBlockGrad, (args) => {
      const inputs = args.inputs as Record<string, TensorInfo>;
      const backend = args.backend as Backend;
      const { x, wfc, lse } = inputs;
      if (!lse) throw new Error('cuda TransformerBlockGrad: the forward pass\'s lse output is missing from the saved tensors');
      const [B, T, C] = x.shape, F = wfc.shape[1];
      const shapes: number[][] = [[B, T, C], [C], [C], [C, 3 * C], [C, C], [C], [C], [C], [C, F], [F], [F, C], [C]];
      const grads = shapes.map((s) => backend.makeOutput(s, 'float32'));
      const p = (name: string) => backend.ptr(inputs[name]);
      cb().transformerBlockBackward(...grads.map((g) => backend.ptr(g)), p('dy'), p('qkv'), p('atty'), p('y1'), p('h'), p('lse'), p('x'),
        ...blockSavedParams.map(p), ...blockDims(args.attrs!, B, T, C, F));
      return grads;
    }),
  ];
}

