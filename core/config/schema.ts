// The experiment schema (JSON Schema 2020-12), generated from the section schemas below and the
// layer registry. `npm run schemas` writes it to schemas/; a test checks the files are current.
import { allLayers, type JsonSchema } from '../../layers/index.ts';
import { BUILTIN_DATASETS } from '../data/corpus.ts';

const int = (min: number, extra: JsonSchema = {}) => ({ type: 'integer', minimum: min, ...extra });
const num = (extra: JsonSchema) => ({ type: 'number', ...extra });

export const sectionSchemas: Record<string, JsonSchema> = {
  data: {
    type: 'object', additionalProperties: false, default: {},
    description: 'the text to train on: a built-in dataset or a path to a UTF-8 file (relative to the experiment file)',
    properties: {
      dataset: { enum: Object.keys(BUILTIN_DATASETS) },
      path: { type: 'string', minLength: 1 },
      train_fraction: num({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.9, description: 'first part trains, the rest validates' }),
    },
  },
  tokenizer: {
    description: "'char' (one id per character), 'bpe', or {kind: bpe, merges: N}",
    default: 'char',
    if: { type: 'string' },
    then: { enum: ['char', 'bpe'] },
    else: {
      type: 'object', additionalProperties: false, required: ['kind'],
      properties: { kind: { enum: ['char', 'bpe'] }, merges: int(1, { maximum: 65536, description: 'byte-pair merges learned on the corpus' }) },
    },
  },
  model: {
    type: 'object', additionalProperties: false, required: ['vars', 'layers'],
    properties: {
      vars: {
        type: 'object', required: ['block_size'],
        description: 'named values that layers refer to as $name; block_size is the context length',
        properties: { block_size: int(1, { maximum: 65536 }) },
        additionalProperties: { type: ['number', 'string', 'boolean'] },
      },
      init: { enum: ['pytorch', 'gpt2'], default: 'pytorch', description: 'pytorch: Linear U(+-1/sqrt(fan_in)), Embedding N(0,1); gpt2: N(0, 0.02)' },
      layers: { type: 'array', minItems: 1, items: { $ref: '#/$defs/layer' } },
    },
  },
  train: {
    type: 'object', additionalProperties: false, required: ['steps', 'batch_size'],
    properties: {
      steps: int(1, { maximum: 1e9 }),
      batch_size: int(1, { maximum: 1e6 }),
      optimizer: {
        type: 'object', additionalProperties: false, default: {},
        properties: {
          adamw: {
            type: 'object', additionalProperties: false, default: {},
            properties: {
              lr: num({ exclusiveMinimum: 0, maximum: 10, default: 1e-3 }),
              betas: { type: 'array', items: num({ minimum: 0, exclusiveMaximum: 1 }), minItems: 2, maxItems: 2, default: [0.9, 0.999] },
              eps: num({ exclusiveMinimum: 0, default: 1e-8 }),
              weight_decay: num({ minimum: 0, default: 0.01, description: "torch.optim.AdamW's default" }),
              decay: { enum: ['all', 'matrices'], default: 'all', description: 'all parameters (torch default) or only 2-D weights (nanoGPT)' },
            },
          },
        },
      },
      schedule: {
        type: 'object', additionalProperties: false, default: {},
        properties: {
          warmup_steps: int(0, { default: 0 }),
          decay: { enum: ['none', 'cosine'], default: 'none' },
          min_lr: num({ minimum: 0, default: 0 }),
        },
      },
      grad_clip: num({ exclusiveMinimum: 0, description: 'clip the global gradient norm to this' }),
      eval: {
        type: 'object', additionalProperties: false, default: {},
        properties: {
          interval: int(1, { default: 500, description: 'steps between evaluations (and always at the end)' }),
          iters: int(1, { default: 200, description: 'random batches per split per evaluation' }),
        },
      },
      timing_warmup: int(0, { default: 10, description: 'first steps left out of ms/step' }),
      checkpoint: {
        type: 'object', additionalProperties: false, required: ['every'],
        description: 'save the whole training state to <out>/checkpoints/ every N steps (and on Ctrl-C); a rerun resumes there with exactly the same losses (never changes run ids)',
        properties: { every: int(1, { maximum: 1e9, description: 'steps between checkpoints' }) },
      },
    },
  },
  output: {
    type: 'object', additionalProperties: false, default: {},
    properties: {
      dir: { type: 'string', minLength: 1, description: 'default results/<name>/' },
      sample_chars: int(0, { maximum: 100000, default: 500 }),
    },
  },
  sweep: {
    type: 'object', additionalProperties: false,
    properties: {
      ladder: {
        type: 'array', minItems: 1,
        description: 'rungs in order, each `name: {path: value, ...}` patching the rung before it',
        items: { type: 'object', minProperties: 1, maxProperties: 1, propertyNames: { pattern: '^[A-Za-z0-9_.-]+$' }, additionalProperties: { type: ['object', 'null'] } },
      },
      grid: { type: 'object', minProperties: 1, description: 'axis: [values]; every combination', additionalProperties: { type: 'array', minItems: 1 } },
      vary: {
        type: 'object', minProperties: 1,
        description: 'one change at a time around the base config: axis: [values], or name: {path: value, ...} for a named variant',
        additionalProperties: { type: ['array', 'object'], minItems: 1, minProperties: 1 },
      },
      zip: { type: 'object', minProperties: 1, description: 'axis: [values]; the i-th values together', additionalProperties: { type: 'array', minItems: 1 } },
      seeds: { type: 'array', minItems: 1, uniqueItems: true, items: int(0, { maximum: 2 ** 52 }) },
      devices: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['cpu', 'gpu'] } },
    },
  },
  report: {
    type: 'object', additionalProperties: false,
    description: 'what table.md, table.tex and report.html show (the report never changes run ids)',
    properties: {
      columns: {
        type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 },
        description: 'table columns in order: variant, rung, n, params, val_loss, train_loss, best_val_loss, delta_prev, delta_base, '
          + 'ms_per_step, ms_per_step_p95, tokens_per_s, wall_s, speedup, or a sweep axis name',
      },
      baseline: { type: 'string', minLength: 1, description: 'the rung or run that the delta_base column compares with (default: the first rung or variant)' },
    },
  },
};

export const TOP_LEVEL_KEYS = ['name', 'description', 'data', 'tokenizer', 'model', 'train', 'seed', 'device', 'precision', 'sweep', 'output', 'report', 'on_error'];

/** The whole experiment file: what schemas/experiment.schema.json holds. */
export function experimentSchema(): JsonSchema {
  const layerDefs: Record<string, JsonSchema> = {};
  const layerProps: Record<string, JsonSchema> = {};
  for (const l of allLayers()) {
    const key = `layer.${l.name}`;
    if (l.name === 'repeat') {
      layerProps.repeat = { type: 'integer', minimum: 1, maximum: 1024, description: l.doc };
      layerProps.layers = { type: 'array', minItems: 1, items: { $ref: '#/$defs/layer' } };
      continue;
    }
    layerDefs[key] = { description: l.doc, ...l.schema };
    layerProps[l.name] = { $ref: `#/$defs/${key}` };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/nanolab/nanolab/schemas/experiment.schema.json',
    title: 'nanolab experiment',
    type: 'object', additionalProperties: false, required: ['name', 'model', 'train'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'names the output directory' },
      description: { type: 'string' },
      data: sectionSchemas.data,
      tokenizer: sectionSchemas.tokenizer,
      model: sectionSchemas.model,
      train: sectionSchemas.train,
      seed: int(0, { maximum: 2 ** 52, default: 1337 }),
      device: { enum: ['cpu', 'gpu'], default: 'cpu' },
      precision: { enum: ['fp32', 'tf32', 'bf16'], default: 'fp32' },
      sweep: sectionSchemas.sweep,
      output: sectionSchemas.output,
      report: sectionSchemas.report,
      on_error: { enum: ['continue', 'stop'], default: 'continue', description: 'after a run fails (error, out of memory, NaN loss): go on with the next run, or stop the sweep (never changes run ids)' },
    },
    $defs: {
      layer: {
        type: 'object', minProperties: 1, additionalProperties: false,
        dependentRequired: { repeat: ['layers'], layers: ['repeat'] },
        description: 'one layer: `name: {params}`, or `repeat: N` with `layers: [...]`',
        properties: layerProps,
      },
      ...layerDefs,
    },
  };
}
