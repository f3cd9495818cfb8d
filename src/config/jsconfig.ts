/**
 * TypeScript / JavaScript config files.
 *
 *   // jupyterhub_config.ts
 *   import type { Config } from 'jhub/config';   // or a relative path to src/config/public.ts
 *   export default (c: Config) => {
 *     c.JupyterHub.port = 8000;
 *     c.Spawner.pre_spawn_hook = async (spawner) => { ... };
 *   };
 *
 * The module may also call the global `get_config()` at top level (like a Python config).
 * Reading a container trait that has no value yet gives an empty array/object whose
 * contents are merged with the default and earlier sources (like traitlets' lazy values):
 * `c.Spawner.env_keep.push('FOO')`, `c.Spawner.environment.FOO = 'bar'`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire, SourceMap } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './errors.js';
import type { RawEntry } from './loader.js';
import { traitDefAnywhere } from './config.js';
import type { TraitDef } from './types.js';
import { isPlainObject } from './values.js';
import { importExternal } from '../util/dynimport.js';

let counter = 0;

interface Compiled {
  code: string;
  map?: SourceMap;
}

/**
 * A .ts config as JavaScript. The `typescript` package (a dependency of jhub) does it on every
 * Node.js version alike: any TypeScript syntax (enums, namespaces, parameter properties), the
 * same error messages, line numbers through its source map. Node's own type stripping
 * (module.stripTypeScriptTypes, 22.13+/23.2+) is only the fallback when that package is missing:
 * it is experimental (it prints an ExperimentalWarning), strips types but transforms nothing,
 * and its errors read differently.
 */
async function compileTs(file: string, env: NodeJS.ProcessEnv, shown: string): Promise<Compiled> {
  const src = readFileSync(file, 'utf8');
  const viaPackage = await compileWithTypescript(file, src, env, shown);
  if (viaPackage) return viaPackage;
  const mod = (await import('node:module')) as unknown as { stripTypeScriptTypes?: (s: string, o?: object) => string };
  if (typeof mod.stripTypeScriptTypes === 'function') {
    try {
      return { code: mod.stripTypeScriptTypes(src, { mode: 'strip' }) };
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX')
        throw new ConfigError(`${shown}: ${err.message}: without the 'typescript' package, Node.js only strips types; install it (npm install typescript)`);
      throw new ConfigError(`${shown}: syntax error in config file: ${err.message}`);
    }
  }
  throw new ConfigError(
    `cannot load ${file}: the 'typescript' package is not installed and this Node.js (${process.version}) cannot strip TypeScript types ` +
      "(needs >= 22.13); install it, or write the config as jupyterhub_config.mjs",
  );
}

/** Compile with the `typescript` package: its JS API, or TypeScript 7's native tsc. Undefined when it is not installed. */
async function compileWithTypescript(file: string, src: string, env: NodeJS.ProcessEnv, shown: string): Promise<Compiled | undefined> {
  let ts: Record<string, unknown> | undefined;
  try {
    ts = (await import('typescript' as string)) as Record<string, unknown>;
  } catch {
    ts = undefined;
  }
  const api = (ts && (typeof ts.transpileModule === 'function' ? ts : (ts.default as Record<string, unknown> | undefined))) as
    | { transpileModule?: (s: string, o: object) => { outputText: string; sourceMapText?: string }; ModuleKind: Record<string, number>; ScriptTarget: Record<string, number> }
    | undefined;
  if (api && typeof api.transpileModule === 'function') {
    const out = api.transpileModule(src, {
      fileName: file,
      reportDiagnostics: false,
      compilerOptions: { module: api.ModuleKind.ESNext, target: api.ScriptTarget.ES2022, sourceMap: true },
    });
    return { code: out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, ''), map: out.sourceMapText ? new SourceMap(JSON.parse(out.sourceMapText)) : undefined };
  }
  // TypeScript 7 (native compiler): no JS API, run its tsc on the single file.
  let tscPath: string | undefined;
  try {
    const req = createRequire(import.meta.url);
    const p = path.join(path.dirname(req.resolve('typescript/package.json')), 'bin', 'tsc');
    if (existsSync(p)) tscPath = p;
  } catch {
    tscPath = undefined;
  }
  if (!tscPath) return undefined;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'jhub-tsconfig-'));
  try {
    const args = [tscPath, '--outDir', tmp, '--rootDir', path.dirname(file), '--module', 'esnext', '--target', 'es2022',
      '--noCheck', '--skipLibCheck', '--noResolve', '--sourceMap', '--declaration', 'false', file];
    const res = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: tmp, env, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    const base = path.basename(file).replace(/\.[mc]?ts$/, '');
    const ext = file.endsWith('.mts') ? '.mjs' : file.endsWith('.cts') ? '.cjs' : '.js';
    const outFile = path.join(tmp, base + ext);
    if (res.code !== 0 || !existsSync(outFile)) {
      const first = res.out.split('\n').find((l) => /error/i.test(l)) ?? res.out.trim();
      const m = /\((\d+),(\d+)\): (.*)$/.exec(first);
      throw new ConfigError(m ? `${shown}:${m[1]}: syntax error in config file: ${m[3]}` : `${shown}: could not compile: ${first}`);
    }
    const code = readFileSync(outFile, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(readFileSync(outFile + '.map', 'utf8')));
    } catch {
      map = undefined;
    }
    return { code, map };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Line in the original file for a line of the module that actually ran. */
function mapLine(map: SourceMap | undefined, line: number, col: number): number {
  if (!map) return line;
  const e = map.findEntry(line - 1, Math.max(0, col - 1)) as { originalLine?: number };
  return typeof e?.originalLine === 'number' ? e.originalLine + 1 : line;
}

function stackLine(stack: string | undefined, runUrl: string, runPath: string): [number, number] | undefined {
  if (!stack) return undefined;
  for (const l of stack.split('\n')) {
    const i = l.indexOf(runUrl) >= 0 ? l.indexOf(runUrl) + runUrl.length : l.indexOf(runPath) >= 0 ? l.indexOf(runPath) + runPath.length : -1;
    if (i < 0) continue;
    const m = /^(?:\?[^:]*)?:(\d+)(?::(\d+))?/.exec(l.slice(i));
    if (m) return [Number(m[1]), Number(m[2] ?? 1)];
  }
  return undefined;
}

function containerOf(def: TraitDef | undefined): 'array' | 'object' | undefined {
  if (!def) return undefined;
  const types = def.type === 'Union' ? (def.union ?? []) : [def.type];
  if (types.some((t) => t === 'List' || t === 'Set' || t === 'Command')) return 'array';
  if (types.includes('Dict')) return 'object';
  return undefined;
}

/** Run a .ts/.mts/.js/.mjs/.cjs config file and return what it set. */
export async function loadJsConfig(file: string, env: NodeJS.ProcessEnv, shown = file): Promise<RawEntry[]> {
  const isTs = /\.[mc]?ts$/.test(file);
  let runPath = file;
  let cleanup: (() => void) | undefined;
  let map: SourceMap | undefined;
  if (isTs) {
    const compiled = await compileTs(file, env, shown);
    map = compiled.map;
    const name = `.${path.basename(file)}.jhub-${process.pid}-${++counter}.mjs`;
    // next to the file, so that its imports resolve as written; else in the temp dir
    runPath = path.join(path.dirname(file), name);
    try {
      writeFileSync(runPath, compiled.code);
    } catch {
      runPath = path.join(os.tmpdir(), name);
      writeFileSync(runPath, compiled.code);
    }
    const p = runPath;
    cleanup = () => {
      try {
        unlinkSync(p);
      } catch {
        /* already gone */
      }
    };
  }
  const runUrl = pathToFileURL(runPath).href;
  const values = new Map<string, Map<string, { value: unknown; line?: number }>>();
  const pending = new Map<string, Map<string, { container: unknown[] | Record<string, unknown>; line?: number }>>();
  const here = (): number | undefined => {
    const pos = stackLine(new Error().stack, runUrl, runPath);
    return pos ? mapLine(map, pos[0], pos[1]) : undefined;
  };
  const sections = new Map<string, object>();
  const section = (cls: string): object => {
    let s = sections.get(cls);
    if (s) return s;
    s = new Proxy(
      {},
      {
        get(_t, trait) {
          if (typeof trait !== 'string') return undefined;
          const v = values.get(cls)?.get(trait);
          if (v) return v.value;
          const p = pending.get(cls)?.get(trait);
          if (p) return p.container;
          const kind = containerOf(traitDefAnywhere(cls, trait));
          if (!kind) return undefined;
          const container = kind === 'array' ? [] : {};
          if (!pending.has(cls)) pending.set(cls, new Map());
          pending.get(cls)!.set(trait, { container, line: here() });
          return container;
        },
        set(_t, trait, value) {
          if (typeof trait !== 'string') return false;
          if (!values.has(cls)) values.set(cls, new Map());
          values.get(cls)!.set(trait, { value, line: here() });
          pending.get(cls)?.delete(trait);
          return true;
        },
        has(_t, trait) {
          return typeof trait === 'string' && !!values.get(cls)?.has(trait);
        },
        ownKeys() {
          return [...(values.get(cls)?.keys() ?? [])];
        },
        getOwnPropertyDescriptor(_t, trait) {
          const v = typeof trait === 'string' ? values.get(cls)?.get(trait) : undefined;
          return v ? { value: v.value, enumerable: true, configurable: true, writable: true } : undefined;
        },
      },
    );
    sections.set(cls, s);
    return s;
  };
  const c = new Proxy(
    {},
    {
      get(_t, cls) {
        return typeof cls === 'string' ? section(cls) : undefined;
      },
      set(_t, cls, value) {
        if (typeof cls !== 'string' || !isPlainObject(value)) return false;
        const s = section(cls) as Record<string, unknown>;
        for (const [k, v] of Object.entries(value)) s[k] = v;
        return true;
      },
    },
  );
  const g = globalThis as Record<string, unknown>;
  const prev = g.get_config;
  g.get_config = () => c;
  try {
    let mod: Record<string, unknown>;
    try {
      mod = await importExternal(runUrl + (isTs ? '' : `?jhub=${++counter}`));
    } catch (e) {
      throw fileError(shown, e, runUrl, runPath, map);
    }
    let fn = mod.default;
    if (fn && typeof fn === 'object' && typeof (fn as Record<string, unknown>).default === 'function') fn = (fn as Record<string, unknown>).default;
    if (typeof fn === 'function') {
      try {
        await (fn as (c: unknown) => unknown)(c);
      } catch (e) {
        throw fileError(shown, e, runUrl, runPath, map);
      }
    } else if (isPlainObject(fn)) {
      for (const [cls, traits] of Object.entries(fn)) if (isPlainObject(traits)) (c as Record<string, unknown>)[cls] = traits;
    }
  } finally {
    if (prev === undefined) delete g.get_config;
    else g.get_config = prev;
    cleanup?.();
  }
  const out: RawEntry[] = [];
  for (const [cls, traits] of values)
    for (const [trait, v] of traits) out.push({ cls, trait, value: v.value, origin: { source: 'file', file, line: v.line } });
  for (const [cls, traits] of pending)
    for (const [trait, p] of traits) {
      const empty = Array.isArray(p.container) ? p.container.length === 0 : Object.keys(p.container).length === 0;
      if (empty) continue;
      const def = traitDefAnywhere(cls, trait);
      const lazy = Array.isArray(p.container)
        ? def?.type === 'Set'
          ? { extend: [], prepend: [], inserts: [], update: { kind: 'set' as const, value: [...p.container] } }
          : { extend: [...p.container], prepend: [], inserts: [], update: null }
        : { extend: [], prepend: [], inserts: [], update: { kind: 'dict' as const, value: { ...p.container } } };
      out.push({ cls, trait, lazy, origin: { source: 'file', file, line: p.line } });
    }
  return out;
}

function fileError(file: string, e: unknown, runUrl: string, runPath: string, map: SourceMap | undefined): ConfigError {
  if (e instanceof ConfigError) return e;
  const err = e as Error;
  const pos = stackLine(err?.stack, runUrl, runPath);
  const line = pos ? mapLine(map, pos[0], pos[1]) : undefined;
  const msg = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  return new ConfigError(`${file}${line ? ':' + line : ''}: error in config file: ${msg}`);
}
