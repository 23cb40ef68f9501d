// The layer registry: every component registers its name, a one-line doc, the JSON Schema of its
// parameters and a build function, in one file of its own (layers/<name>.ts). The experiment
// schema (schemas/experiment.schema.json) is generated from this registry, so adding a layer is
// adding one file and one import line in layers/index.ts.
import type * as tf from '../core/tf.ts';

export type JsonSchema = Record<string, unknown>;

/** How weights start: PyTorch's defaults, or GPT-2's normal(0, 0.02). */
export type InitScheme = 'pytorch' | 'gpt2';

/** What flows between layers: token ids before the first embedding, features, then logits. */
export type Stage = 'tokens' | 'features' | 'logits';

export type Init =
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number }
  | { kind: 'const'; value: number };

/** A parameter; `v` is null when the model is only being sized (dry build). */
export interface Param { readonly name: string; readonly shape: number[]; readonly v: tf.Variable | null }

export interface ForwardContext {
  training: boolean;
  /** run seed, for dropout masks */
  seed: number;
  /** a fresh id per dropout call, so each call draws its own mask (deterministically) */
  nextCallId(): number;
  /** the (B, T) int32 token ids of this forward pass */
  idx: tf.Tensor;
}

export type Forward = (x: tf.Tensor, fc: ForwardContext) => tf.Tensor;

/** Raised while building; `path` is relative to the layer's own parameters, for located errors. */
export class LayerError extends Error {
  constructor(readonly path: (string | number)[], message: string) { super(message); }
}

export interface BuildContext {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly init: InitScheme;
  /** width of the stream entering this layer (0 before any embedding) */
  dim: number;
  stage: Stage;
  /** the token embedding table, when a later lm_head wants to tie to it */
  tokenEmbedding: Param | null;
  param(name: string, shape: number[], init: Init): Param;
  /** build nested layer specs (for block, repeat) under a name scope */
  buildLayers(specs: unknown[], scope: string): Forward;
  scope<T>(name: string, fn: () => T): T;
  /** the numbers printed by --summary */
  note(outShape: string): void;
}

export interface LayerDef<P = any> {
  name: string;
  doc: string;
  /** JSON Schema of the parameters (an object schema); defaults are filled in before build */
  schema: JsonSchema;
  build(params: P, ctx: BuildContext): Forward;
}

const layers = new Map<string, LayerDef>();

export function defineLayer<P>(def: LayerDef<P>): LayerDef<P> {
  if (layers.has(def.name)) throw new Error(`layer ${def.name} registered twice`);
  layers.set(def.name, def as LayerDef);
  return def;
}

export function getLayer(name: string): LayerDef | undefined { return layers.get(name); }
export function layerNames(): string[] { return [...layers.keys()]; }
export function allLayers(): LayerDef[] { return [...layers.values()]; }

/** Initialisers, by scheme. PyTorch: Linear U(+-1/sqrt(fan_in)), Embedding N(0, 1). */
export function linearInit(scheme: InitScheme, fanIn: number): { w: Init; b: Init } {
  if (scheme === 'gpt2') return { w: { kind: 'normal', std: 0.02 }, b: { kind: 'const', value: 0 } };
  const bound = 1 / Math.sqrt(fanIn);
  return { w: { kind: 'uniform', bound }, b: { kind: 'uniform', bound } };
}
export function embeddingInit(scheme: InitScheme): Init {
  return scheme === 'gpt2' ? { kind: 'normal', std: 0.02 } : { kind: 'normal', std: 1 };
}
