// Checks docs/api/openapi.yaml: (a) a valid OpenAPI document (swagger-parser), (b) its paths and
// methods equal the routes the medrelay binary serves (`medrelay --print-routes`), both ways.
// Usage: node openapi_check.mjs <openapi.yaml> <medrelay binary>
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';

const [specPath, binary] = process.argv.slice(2);
const api = await SwaggerParser.validate(specPath);  // throws on an invalid document

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const spec = new Set();
for (const [path, item] of Object.entries(api.paths)) {
  for (const m of methods) if (item[m]) spec.add(`${m.toUpperCase()} ${path}`);
}

const dir = mkdtempSync(join(tmpdir(), 'medrelay-routes-'));
let served;
try {
  const out = execFileSync(binary, ['--set', `storage.data_dir=${dir}/data`, '--set',
    'turn.enabled=false', '--set', 'media.workers=1', '--print-routes'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  served = new Set(out.split('\n').filter((l) => /^[A-Z]+ \//.test(l)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const missing = [...served].filter((r) => !spec.has(r)).sort();
const extra = [...spec].filter((r) => !served.has(r)).sort();
if (served.size === 0) {
  console.error('no routes printed by', binary);
  process.exit(1);
}
if (missing.length || extra.length) {
  for (const r of missing) console.error(`served but not in the spec: ${r}`);
  for (const r of extra) console.error(`in the spec but not served: ${r}`);
  process.exit(1);
}
console.log(`openapi: valid, ${spec.size} operations, all served and all documented`);
