// schema/weir.schema.json, generated from the zod schema of weir's form, so
// that editors can complete and check weir.yaml. Written by write-schema.ts
// (npm run schema); a test keeps the committed file equal to this output.

import * as z from 'zod';
import { weirFileSchema } from './schema.ts';

export const JSON_SCHEMA_FILE = new URL('../../schema/weir.schema.json', import.meta.url);

export function renderJsonSchema(): string {
  const schema = z.toJSONSchema(weirFileSchema, {
    // What the user writes ("5s"), not what the loader makes of it (5000).
    io: 'input',
    // Draft 7 is the version YAML and JSON editors support most widely.
    target: 'draft-7',
  });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
