// Builds the page of `eventor ui` into dist/ui/static: the script bundled and minified by esbuild
// (plain TypeScript, no runtime library), the style copied.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { build } from 'esbuild';

const out = new URL('../dist/ui/static/', import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL('../src/ui/page/app.ts', import.meta.url).pathname],
  outfile: new URL('app.js', out).pathname,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  logLevel: 'warning',
});
copyFileSync(new URL('../src/ui/page/style.css', import.meta.url), new URL('style.css', out));
const size = statSync(new URL('app.js', out)).size;
if (process.env.FLOW_UI_SIZE) console.log(`dist/ui/static/app.js: ${size} bytes`);
