// The committed browser bundle (web/static/imqtt.js) is what `npm run bundle`
// builds from these sources and the locked packages: rebuilt and compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../scripts/bundle.js';

const committed = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/static/imqtt.js');

test('web/static/imqtt.js is up to date (npm run bundle)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'imqtt-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'imqtt.js');
  await bundle(out);
  const want = readFileSync(out, 'utf8');
  const got = readFileSync(committed, 'utf8');
  assert.ok(want.length > 10000);
  assert.ok(got === want, 'web/static/imqtt.js differs from a fresh build: run `npm run bundle` in sdk/js and commit it');
});
