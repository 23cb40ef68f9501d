import '../../layers/index.ts';
import { allLayers } from '../../layers/index.ts';
import { experimentSchema } from './schema.ts';

/** path (relative to the repository root) -> content, for every file in schemas/ */
export function generatedSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = { 'schemas/experiment.schema.json': `${JSON.stringify(experimentSchema(), null, 2)}\n` };
  for (const l of allLayers()) {
    files[`schemas/layers/${l.name}.schema.json`] = `${JSON.stringify({
      $schema: 'https://json-schema.org/draft/2020-12/schema', title: l.name, description: l.doc, ...l.schema,
    }, null, 2)}\n`;
  }
  return files;
}
