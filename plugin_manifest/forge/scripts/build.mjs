// Builds the Custom UI into static/scopeguard/build/ (the manifest's resource path):
// main.js bundled with @forge/bridge by esbuild; index.html, style.css, icon.svg copied.
//
//   node scripts/build.mjs [--outdir DIR]
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'static', 'scopeguard', 'src');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir || join(root, 'static', 'scopeguard', 'build'));

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const result = await build({
  entryPoints: [join(source, 'main.js')],
  outfile: join(outdir, 'main.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  // Chromium, Firefox and Safari versions Jira Cloud supports.
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
for (const name of ['index.html', 'style.css', 'icon.svg']) {
  await copyFile(join(source, name), join(outdir, name));
}
const bytes = Object.values(result.metafile.outputs).reduce((sum, out) => sum + out.bytes, 0);
console.log(`built ${outdir} (${(bytes / 1024).toFixed(1)} KiB of JavaScript)`);
