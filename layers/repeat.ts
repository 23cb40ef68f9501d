import { defineLayer, type Forward } from './registry.ts';

export default defineLayer<{ times: number; layers: unknown[] }>({
  name: 'repeat',
  doc: 'Stacks copies of its layers (each copy with its own weights): `- repeat: 3` with `layers: [...]`.',
  // written in YAML as {repeat: N, layers: [...]}; core/model/build.ts maps it to {times, layers}
  schema: {
    type: 'object', additionalProperties: false, required: ['times', 'layers'],
    properties: {
      times: { type: 'integer', minimum: 1 },
      layers: { type: 'array', minItems: 1, items: { $ref: '#/$defs/layer' } },
    },
  },
  build(p, ctx) {
    const copies: Forward[] = [];
    for (let i = 0; i < p.times; i++) copies.push(ctx.buildLayers(p.layers, String(i)));
    return (x, fc) => copies.reduce((h, f) => f(h, fc), x);
  },
});
