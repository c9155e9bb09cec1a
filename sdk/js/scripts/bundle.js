// Writes the browser bundle of the SDK: an IIFE defining the global `imqtt`
// (every export of src/index.ts, mqtt.js included), minified. The output
// depends only on the sources and the locked packages, so the committed
// web/static/imqtt.js can be checked by rebuilding (test/bundle.test.js).
// Usage: node scripts/bundle.js OUTFILE
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Builds the bundle into outfile. */
export async function bundle(outfile) {
  await build({
    entryPoints: [path.join(root, 'src/index.ts')],
    outfile,
    bundle: true,
    format: 'iife',
    globalName: 'imqtt',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: '/* @imqtt/sdk browser bundle (sdk/js, npm run bundle); includes mqtt.js (MIT). Do not edit. */' },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node scripts/bundle.js OUTFILE');
    process.exit(2);
  }
  await bundle(path.resolve(out));
}
