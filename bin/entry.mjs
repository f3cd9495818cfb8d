// Shared by bin/*: loads a command from the bundled build (dist/src/_bundle/<name>.cjs, made by
// scripts/bundle.mjs) when it is at least as new as tsc's output in dist/src/cli, else (or with
// JHUB_NO_BUNDLE=1) from the unbundled modules.
//
// The bundle is compiled through vm.Script with a V8 code cache kept in dist/.compile-cache (one
// file per command and Node version, written a few seconds after start so that it holds the
// functions start-up compiled). V8 checks the cache against the source and its own version and
// ignores a stale one; the directory belongs to whoever built the install, and a process that
// cannot write there simply runs without a cache.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

function bundled(name, allow) {
  if (!allow || process.env.JHUB_NO_BUNDLE) return null;
  const file = path.join(dist, 'src', '_bundle', `${name}.cjs`);
  try {
    return statSync(file).mtimeMs >= statSync(path.join(dist, 'src', 'cli', `${name}.js`)).mtimeMs ? file : null;
  } catch {
    return null;
  }
}

function runCached(name, file, cacheAfterMs) {
  const cacheFile = path.join(dist, '.compile-cache', `${name}-${process.version}-${process.arch}.v8`);
  let cached;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined;
  }
  // On Node 20 code restored from a cache cannot call import(); the bundle has none except
  // through this hook (src/util/dynimport.ts).
  globalThis[Symbol.for('jhub.importExternal')] = (s) => import(s);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, 'utf8')}\n})`, {
    filename: file,
    cachedData: cached,
  });
  if (process.env.JHUB_DEBUG_CODE_CACHE) process.stderr.write(`${name}: code cache ${cached ? (script.cachedDataRejected ? 'rejected' : 'used') : 'absent'} (${cacheFile})\n`);
  if (!cached || script.cachedDataRejected) {
    const t = setTimeout(() => {
      try {
        mkdirSync(path.dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        /* read-only install: no cache */
      }
    }, cacheAfterMs);
    t.unref();
  }
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  return module.exports;
}

/**
 * The command's module: `main` and whatever else it exports. `v8Flags` are set before anything
 * is compiled: V8 refuses a code cache made under other flags. `bundle: false` runs the modules.
 */
export async function load(name, { cacheAfterMs = 3000, v8Flags = [], bundle = true } = {}) {
  for (const f of v8Flags) v8.setFlagsFromString(f);
  const file = bundled(name, bundle);
  if (file) return runCached(name, file, cacheAfterMs);
  return import(new URL(`../dist/src/cli/${name}.js`, import.meta.url).href);
}
