// Writes schemas/ from the layer registry and the section schemas: `npm run schemas`.
// test/schema_files.test.ts fails when the committed files are stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { generatedSchemaFiles } from '../core/config/schema_files.ts';

for (const [path, content] of Object.entries(generatedSchemaFiles())) {
  mkdirSync(path.split('/').slice(0, -1).join('/'), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
