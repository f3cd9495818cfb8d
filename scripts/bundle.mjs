// Bundle the compiled commands (dist/src/cli/*.js, from tsc) into one CommonJS file each in
// dist/src/_bundle/, instead of ~600 ES modules: start-up on Node 20 spends most of its time
// resolving, reading and compiling modules. Modules the code imports lazily stay lazy (they
// are evaluated on first use). bin/entry.mjs loads these files with a V8 code cache (see there).
// The files sit at the same depth as dist/src/<dir>/, so paths the code derives from
// import.meta.url (templates, static files, helpers) stay right.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'src', '_bundle');
rmSync(outdir, { recursive: true, force: true });
rmSync(path.join(root, 'dist', '.compile-cache'), { recursive: true, force: true });
const t0 = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: [
    ...['jhub', 'jhub-proxy', 'jhub-sudo-helper'].map((n) => ({ in: `dist/src/cli/${n}.js`, out: n })),
    // forked by the hub to start servers (src/spawners/launcher.ts)
    { in: 'dist/src/spawners/launcher-child.js', out: 'launcher-child' },
  ],
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Native addons, optional native drivers and the TypeScript compiler (only for .ts configs)
  // load from node_modules at run time.
  external: ['better-sqlite3', 'pg-native', 'typescript'],
  // import() inside code restored from a V8 code cache fails on Node 20 (no dynamic import
  // callback): bundled and CommonJS modules load through require(); ES module configs go
  // through importExternal() (src/util/dynimport.ts), which bin/entry.mjs provides.
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__jhub_import_meta_url' },
  banner: { js: "var __jhub_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: !!process.env.BUNDLE_META,
});
for (const f of readdirSync(outdir).filter((n) => n.endsWith('.cjs'))) {
  const m = /[^\w$.]import\(/.exec(readFileSync(path.join(outdir, f), 'utf8'));
  if (m) throw new Error(`${f}: the bundle still calls import() (near offset ${m.index}); use importExternal() from src/util/dynimport.ts`);
}
if (result.metafile) writeFileSync(process.env.BUNDLE_META, JSON.stringify(result.metafile));
console.log(`bundled jhub, jhub-proxy, jhub-sudo-helper and launcher-child into ${path.relative(root, outdir)} in ${Date.now() - t0} ms`);
