/**
 * Reading configuration sources (Python, JSON, YAML, TS/JS files and the command line),
 * validating them against the schema and building the Config.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { applyOps, Config, emptyOps, traitDefAnywhere, type Entry, type Layer, type LazyOps } from './config.js';
import { ConfigError } from './errors.js';
import { loadJsConfig } from './jsconfig.js';
import { runPythonConfig, type PyEntry } from './python.js';
import { allClasses, ancestors, findTrait, getClass, lookupClassAlias } from './schema.js';
import { didYouMean } from './suggest.js';
import type { Origin, TraitDef, TraitType } from './types.js';
import type { PythonBridge } from './bridge.js';
import { getLogger } from '../util/log.js';
import { coerce, decodePy as decodePyRaw, SYNC_HOOKS, isPlainObject, plain, PyClassDef, PyOpaque, ValueError } from './values.js';

const log = getLogger('JupyterHub', 'config');

/** Command-line settings: class -> trait -> converted value and the argument it came from. */
export type CliArgs = Record<string, Record<string, { value: unknown; arg: string }>>;

export interface LoadOptions {
  /** Config file to load; relative to cwd. Default: jupyterhub_config.py (skipped if absent). */
  configFile?: string;
  /** Whether configFile was named by the user (then a missing file is an error). Default: true when configFile is given. */
  configFileExplicit?: boolean;
  cliArgs: CliArgs;
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: { warn(msg: string): void };
  /** Time limit for running a Python config file (default 30 s). */
  pythonTimeoutMs?: number;
}

/** One setting as read from a source, before validation. */
export interface RawEntry {
  cls: string;
  trait: string;
  value?: unknown;
  lazy?: LazyOps;
  origin: Origin;
}

export const CONFIG_EXTENSIONS = ['.py', '.json', '.yaml', '.yml', '.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

export async function loadConfig(opts: LoadOptions): Promise<Config> {
  const { cwd, env } = opts;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.log.warn(m);
  };
  const cliFile = opts.cliArgs.JupyterHub?.config_file?.value;
  const named = opts.configFile ?? (typeof cliFile === 'string' ? cliFile : undefined);
  const explicit = opts.configFileExplicit ?? named !== undefined;
  const files: string[] = [];
  const layers: Layer[] = [];
  const unknown: Record<string, Record<string, unknown>> = {};
  const ctx: BuildCtx = { cwd, warn, unknown };

  let file: string | undefined;
  let bridge: PythonBridge | undefined;
  if (named !== undefined && explicit) {
    file = path.resolve(cwd, named);
    if (!existsSync(file)) throw new ConfigError(`Failed to find specified config file: ${named}`, { plain: true });
  } else {
    const base = path.resolve(cwd, named ?? 'jupyterhub_config.py');
    if (existsSync(base)) file = base;
    else if (named === undefined) {
      for (const ext of ['.ts', '.mjs', '.js', '.yaml', '.yml']) {
        const f = path.resolve(cwd, 'jupyterhub_config' + ext);
        if (existsSync(f)) {
          file = f;
          break;
        }
      }
    }
    if (!file) {
      // traitlets also loads jupyterhub_config.json on its own
      const json = path.resolve(cwd, 'jupyterhub_config.json');
      if (existsSync(json)) file = json;
    }
  }

  try {
    return await loadFile();
  } catch (e) {
    bridge?.close();
    throw e;
  }

  async function loadFile(): Promise<Config> {
  if (file) {
    const ext = path.extname(file).toLowerCase();
    if (!CONFIG_EXTENSIONS.includes(ext))
      throw new ConfigError(`${display(file, cwd)}: unsupported config file type '${ext}' (use .py, .json, .yaml, .ts or .js)`);
    if (ext === '.py') {
      const res = await runPythonConfig(file, { env, cwd, timeoutMs: opts.pythonTimeoutMs });
      bridge = res.bridge;
      files.push(...res.files);
      for (const w of res.warnings) warn(w);
      try {
        layers.push(buildLayer(pyEntries(res.config, bridge), ctx));
      } catch (e) {
        bridge?.close();
        throw e;
      }
    } else if (ext === '.json') {
      files.push(file);
      layers.push(buildLayer(jsonEntries(file, display(file, cwd)), ctx));
    } else if (ext === '.yaml' || ext === '.yml') {
      files.push(file);
      layers.push(buildLayer(yamlEntries(file, display(file, cwd)), ctx));
    } else {
      files.push(file);
      layers.push(buildLayer(await loadJsConfig(file, env, display(file, cwd)), ctx));
    }
    if (ext !== '.json') {
      const sibling = file.slice(0, file.length - ext.length) + '.json';
      if (existsSync(sibling)) {
        files.push(sibling);
        layers.push(buildLayer(jsonEntries(sibling, display(sibling, cwd)), ctx));
      }
    }
  }

  const cli: RawEntry[] = [];
  for (const [cls, traits] of Object.entries(opts.cliArgs))
    for (const [trait, { value, arg }] of Object.entries(traits))
      cli.push({ cls, trait, value, origin: { source: 'command line', arg } });
  layers.push(buildLayer(cli, ctx));

  const config = new Config({ layers, env, files, unknown, warnings, bridge });
  checkTypeTraits(config, warn);
  if (bridge) log.info(`${display(file!, cwd)} defines Python functions used by the configuration: they run in a Python process (pid ${bridge.pid})`);
  return config;
  }
}

/** Warn early when a configured authenticator/spawner/proxy class is known but not available yet. */
function checkTypeTraits(config: Config, warn: (m: string) => void): void {
  for (const t of ['authenticator_class', 'spawner_class', 'proxy_class']) {
    if (!config.isSet('JupyterHub', t)) continue;
    const v = config.get('JupyterHub', t);
    if (typeof v !== 'string') continue;
    const c = getClass(v);
    if (c?.unavailable) warn(`${where(config.origin('JupyterHub', t))}: JupyterHub.${t} = ${v}: ${c.unavailable}; the hub will refuse to start with it`);
  }
}

// ---------------------------------------------------------------------------
// sources
// ---------------------------------------------------------------------------

function pyEntries(config: Record<string, Record<string, PyEntry>>, bridge?: PythonBridge): RawEntry[] {
  const decodePy = (v: unknown) => decodePyRaw(v, bridge);
  const out: RawEntry[] = [];
  for (const [cls, traits] of Object.entries(config))
    for (const [trait, e] of Object.entries(traits)) {
      const origin: Origin = { source: 'file', file: e.file ?? undefined, line: e.line ?? undefined };
      if (e.lazy) {
        const l = e.lazy;
        out.push({
          cls,
          trait,
          origin,
          lazy: {
            extend: (l.extend as unknown[]).map(decodePy),
            prepend: (l.prepend as unknown[]).map(decodePy),
            inserts: l.inserts.map(([i, x]) => [i, decodePy(x)] as [number, unknown]),
            update: l.update
              ? l.update.kind === 'dict'
                ? { kind: 'dict', value: decodePy(l.update.value) as Record<string, unknown> }
                : { kind: 'set', value: (l.update.value as unknown[]).map(decodePy) }
              : null,
          },
        });
      } else out.push({ cls, trait, value: decodePy(e.value), origin });
    }
  return out;
}

function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
}

export function jsonEntries(file: string, shown = file): RawEntry[] {
  const text = readText(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    const lm = /line (\d+)/.exec(msg);
    const line = lm ? Number(lm[1]) : m ? lineAt(text, Number(m[1])) : undefined;
    throw new ConfigError(`${shown}${line ? ':' + line : ''}: invalid JSON: ${msg}`);
  }
  if (!isPlainObject(data)) throw new ConfigError(`${shown}: the JSON config must be an object of sections, e.g. {"JupyterHub": {"port": 8000}}`);
  const out: RawEntry[] = [];
  for (const [cls, traits] of Object.entries(data)) {
    const ci = text.indexOf(JSON.stringify(cls));
    if (!isPlainObject(traits)) throw new ConfigError(`${shown}:${lineAt(text, ci)}: section "${cls}" must be an object of trait values`);
    for (const [trait, value] of Object.entries(traits)) {
      const ti = text.indexOf(JSON.stringify(trait), Math.max(ci, 0));
      out.push({ cls, trait, value, origin: { source: 'file', file, line: ti >= 0 ? lineAt(text, ti) : undefined } });
    }
  }
  return out;
}

export function yamlEntries(file: string, shown = file): RawEntry[] {
  const text = readText(file);
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ConfigError(`${shown}:${e.linePos?.[0].line ?? '?'}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (root === null || root === undefined) return [];
  if (!YAML.isMap(root)) throw new ConfigError(`${shown}: the YAML config must be a mapping of sections (JupyterHub: {port: 8000})`);
  const out: RawEntry[] = [];
  for (const pair of root.items) {
    const cls = String(YAML.isScalar(pair.key) ? pair.key.value : pair.key);
    const cline = YAML.isNode(pair.key) && pair.key.range ? lc.linePos(pair.key.range[0]).line : undefined;
    if (pair.value === null || pair.value === undefined) continue;
    if (!YAML.isMap(pair.value)) throw new ConfigError(`${shown}:${cline}: section ${cls} must be a mapping of trait values`);
    for (const tp of pair.value.items) {
      const trait = String(YAML.isScalar(tp.key) ? tp.key.value : tp.key);
      const line = YAML.isNode(tp.key) && tp.key.range ? lc.linePos(tp.key.range[0]).line : cline;
      let value = YAML.isNode(tp.value) ? tp.value.toJSON() : tp.value;
      value = yamlPlain(value);
      out.push({ cls, trait, value, origin: { source: 'file', file, line } });
    }
  }
  return out;
}

function yamlPlain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), yamlPlain(x)]));
  if (v instanceof Set) return [...v].map(yamlPlain);
  if (Array.isArray(v)) return v.map(yamlPlain);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, yamlPlain(x)]));
  return v;
}

// ---------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------

interface BuildCtx {
  cwd: string;
  warn(msg: string): void;
  unknown: Record<string, Record<string, unknown>>;
}

function display(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

let displayCwd = process.cwd();
/** `file:line` or `command-line argument --X.y=v` for messages. */
export function where(o: Origin): string {
  if (o.source === 'command line') return `command-line argument ${o.arg}`;
  if (o.source === 'program') return 'programmatic setting';
  if (o.file) return `${display(o.file, displayCwd)}${o.line ? ':' + o.line : ''}`;
  return o.source;
}

function storeUnknown(ctx: BuildCtx, e: RawEntry): void {
  let v: unknown;
  try {
    v = e.lazy ? applyOps(undefined, e.lazy.update?.kind === 'dict' ? {} : [], e.lazy) : plain(e.value);
  } catch {
    v = String(e.value);
  }
  (ctx.unknown[e.cls] ??= {})[e.trait] = v;
}

function containerKind(def: TraitDef): 'list' | 'set' | 'dict' | undefined {
  const types: TraitType[] = def.type === 'Union' ? (def.union ?? []) : [def.type];
  if (types.some((t) => t === 'List' || t === 'Command')) return 'list';
  if (types.includes('Set')) return 'set';
  if (types.includes('Dict')) return 'dict';
  return undefined;
}

function buildLayer(entries: RawEntry[], ctx: BuildCtx): Layer {
  displayCwd = ctx.cwd;
  const layer: Layer = new Map();
  const put = (cls: string, trait: string, e: Entry) => {
    if (!layer.has(cls)) layer.set(cls, new Map());
    layer.get(cls)!.set(trait, e);
  };
  const deprecatedSeen: { cls: string; trait: string; def: TraitDef; entry: Entry }[] = [];
  const subclasses: { raw: RawEntry; def: TraitDef; cls: PyClassDef; w: string }[] = [];
  for (const raw of entries) {
    const w = where(raw.origin);
    const cdef = getClass(raw.cls);
    if (!cdef) {
      ctx.warn(`${w}: unknown configurable class \`${raw.cls}\` (setting ${raw.cls}.${raw.trait} is ignored).` + didYouMean(raw.cls, allClasses().map((c) => c.name)));
      storeUnknown(ctx, raw);
      continue;
    }
    let def = findTrait(raw.cls, raw.trait)?.def;
    if (!def) {
      def = traitDefAnywhere(raw.cls, raw.trait);
      const names = new Set<string>();
      for (const a of ancestors(raw.cls)) for (const t of getClass(a)!.traits) names.add(t.name);
      if (!def) {
        ctx.warn(`${w}: Config option \`${raw.trait}\` not recognized by \`${raw.cls}\`.` + didYouMean(raw.trait, names));
        storeUnknown(ctx, raw);
        continue;
      }
      ctx.warn(`${w}: \`${raw.trait}\` is not a trait of \`${raw.cls}\` itself, only of some of its subclasses; it applies to those`);
    }
    const entry = validateEntry(raw, def, w);
    put(raw.cls, raw.trait, entry);
    if (def.deprecated) deprecatedSeen.push({ cls: raw.cls, trait: raw.trait, def, entry });
    if (raw.value instanceof PyClassDef && def.type === 'Type' && def.kind) subclasses.push({ raw, def, cls: raw.value, w });
  }
  // methods and class attributes of config-defined subclasses become hooks and options of the base class
  for (const sc of subclasses) for (const [cls, trait, e] of subclassEntries(sc.cls, sc.def, sc.raw, sc.w, ctx)) {
    if (layer.get(cls)?.has(trait) && layer.get(cls)!.get(trait)!.origin.source === 'file')
      ctx.warn(`${where(e.origin)}: ${cls}.${trait} from the class ${sc.cls.name} replaces the value set at ${where(layer.get(cls)!.get(trait)!.origin)}`);
    put(cls, trait, e);
  }
  for (const d of deprecatedSeen) {
    const w = where(d.entry.origin);
    const dep = d.def.deprecated!;
    const since = dep.since ? ` since ${dep.since}` : '';
    if (!dep.replacement) {
      ctx.warn(`${w}: ${d.cls}.${d.trait} is deprecated${since}${dep.message ? `: ${dep.message}` : ''}`);
      continue;
    }
    const [rc, rt] = dep.replacement.split('.');
    const tcls = ancestors(d.cls).includes(rc) ? d.cls : rc;
    const target = `${tcls}.${rt}`;
    if (layer.get(tcls)?.has(rt)) {
      ctx.warn(`${w}: ${d.cls}.${d.trait} is deprecated${since}, use ${target}; it is ignored because ${target} is also set`);
      continue;
    }
    ctx.warn(`${w}: ${d.cls}.${d.trait} is deprecated${since}, use ${target} instead (the value is used for it)`);
    const tdef = findTrait(tcls, rt)?.def;
    if (!tdef) continue;
    const raw: RawEntry = d.entry.kind === 'value'
      ? { cls: tcls, trait: rt, value: d.entry.value, origin: d.entry.origin }
      : { cls: tcls, trait: rt, lazy: d.entry.ops, origin: d.entry.origin };
    put(tcls, rt, validateEntry(raw, tdef, w));
  }
  return layer;
}

function validateEntry(raw: RawEntry, def: TraitDef, w: string): Entry {
  const name = `${raw.cls}.${raw.trait}`;
  const wrap = (e: unknown): never => {
    if (e instanceof ValueError) {
      if (e.opaque) throw new ConfigError(opaqueMessage(w, raw.cls, raw.trait, def, e.opaque));
      throw new ConfigError(`${w}: invalid value for ${name}: ${e.message}`);
    }
    throw e;
  };
  if (!raw.lazy) {
    try {
      return { kind: 'value', value: coerce(def, raw.value), origin: raw.origin };
    } catch (e) {
      return wrap(e);
    }
  }
  const ops = raw.lazy;
  const kind = containerKind(def);
  if (!kind) throw new ConfigError(`${w}: ${name} is not a container (${def.type}); assign it instead of using append/extend/update/add`);
  const partDef = (type: TraitType): TraitDef => ({ name: def.name, type, items: def.items, help: '', allowNone: true });
  const out = emptyOps();
  try {
    if (kind === 'list') {
      out.extend = coerce(partDef('List'), ops.extend) as unknown[];
      out.prepend = coerce(partDef('List'), ops.prepend) as unknown[];
      out.inserts = ops.inserts.map(([i, x]) => [i, (coerce(partDef('List'), [x]) as unknown[])[0]]);
      if (ops.update) throw new ConfigError(`${w}: ${name} is a list: use append/extend/insert/prepend, not update/add`);
    } else if (kind === 'set') {
      if (ops.extend.length || ops.prepend.length || ops.inserts.length)
        throw new ConfigError(`${w}: ${name} is a set: use add/update, not append/extend/insert/prepend`);
      if (ops.update) {
        const items = ops.update.kind === 'set' ? ops.update.value : Object.keys(ops.update.value);
        out.update = { kind: 'set', value: coerce(partDef('Set'), items) as unknown[] };
      }
    } else {
      if (ops.extend.length || ops.prepend.length || ops.inserts.length)
        throw new ConfigError(`${w}: ${name} is a dict: use update (or item assignment), not append/extend`);
      if (ops.update) {
        if (ops.update.kind !== 'dict') throw new ConfigError(`${w}: ${name} is a dict: update it with a dict`);
        out.update = { kind: 'dict', value: coerce(partDef('Dict'), ops.update.value) as Record<string, unknown> };
      }
    }
  } catch (e) {
    return wrap(e);
  }
  return { kind: 'lazy', ops: out, origin: raw.origin };
}

/**
 * Methods of a class defined in a Python config file (deriving from one of ours) that jhub
 * calls, per kind of class: the method, the trait it becomes, and where `self` comes from
 * (the JS `this` at the call site, or an argument of the hook).
 */
export const SUBCLASS_METHODS: Record<string, Record<string, { trait: string; self: 'this' | number }>> = {
  authenticator: {
    normalize_username: { trait: 'normalize_username', self: 'this' },
    authenticate: { trait: 'authenticate', self: 'this' },
    load_managed_roles: { trait: 'load_managed_roles', self: 'this' },
  },
  spawner: { options_from_form: { trait: 'options_from_form', self: 1 } },
  proxy: {},
};

function subclassEntries(cls: PyClassDef, def: TraitDef, raw: RawEntry, w: string, ctx: BuildCtx): [string, string, Entry][] {
  const base = lookupClassAlias(def.kind!, cls.base);
  if (!base) return [];
  const supported = SUBCLASS_METHODS[def.kind!] ?? {};
  const out: [string, string, Entry][] = [];
  const at = (file?: string, line?: number): Origin => ({ source: 'file', file: file ?? cls.file, line: line ?? cls.line });
  for (const [name, m] of Object.entries(cls.methods)) {
    if (name.startsWith('_')) continue; // helpers, called by the methods below
    const hook = supported[name];
    const mw = where(at(m.file, m.line));
    if (!hook || m.kind !== 'method' || !m.id) {
      const list = Object.keys(supported);
      throw new ConfigError(
        `${mw}: the ${m.kind} ${cls.name}.${name} (of the class set as ${raw.cls}.${raw.trait} at ${w}) is not supported: jhub ` +
          (list.length ? `calls only ${list.join(', ')} of a ${def.kind} class defined in the config file` : `calls no methods of a ${def.kind} class defined in the config file`) +
          `. Use ${base.name}'s options or hooks instead (see docs/config.md)`,
      );
    }
    const fn = cls.bridge.fn({ id: m.id, name: `${cls.name}.${name}`, file: m.file, line: m.line }, { mode: SYNC_HOOKS.has(hook.trait) ? 'sync' : 'async', self: hook.self });
    out.push([base.name, hook.trait, { kind: 'value', value: fn, origin: at(m.file, m.line) }]);
  }
  for (const [name, value] of Object.entries(cls.attrs)) {
    if (name.startsWith('_')) continue;
    const t = findTrait(base.name, name);
    if (!t) {
      ctx.warn(`${where(at())}: class attribute ${cls.name}.${name} is not an option of ${base.name}; it is ignored.` + didYouMean(name, allTraitNames(base.name)));
      continue;
    }
    const r: RawEntry = { cls: base.name, trait: name, value, origin: at() };
    out.push([base.name, name, validateEntry(r, t.def, where(at()))]);
  }
  return out;
}

function allTraitNames(cls: string): string[] {
  const names = new Set<string>();
  for (const a of ancestors(cls)) for (const t of getClass(a)!.traits) names.add(t.name);
  return [...names];
}

const HOOK_SIGNATURES: Record<string, string> = {
  pre_spawn_hook: 'async (spawner) => { ... }',
  post_stop_hook: 'async (spawner) => { ... }',
  auth_state_hook: 'async (spawner, authState) => { ... }',
  post_auth_hook: 'async (authenticator, handler, authentication) => authentication',
  normalize_username: '(name) => name.toLowerCase()',
  options_form: '(spawner) => `<input name="x">`',
  options_from_form: '(formData) => ({ ... })',
  username_claim: '(userdata) => userdata.email',
  modify_auth_state_hook: '(authenticator, authState) => authState',
  authenticate: 'async function (handler, data) { return { name: data.username, roles: [...] }; }',
  load_managed_roles: 'async () => [{ name: "...", scopes: [...], users: [...] }]',
};

function opaqueMessage(w: string, cls: string, trait: string, def: TraitDef, o: PyOpaque): string {
  const name = `${cls}.${trait}`;
  const at = o.info.file ? ` (defined at ${display(o.info.file, displayCwd)}${o.info.line ? ':' + o.info.line : ''})` : '';
  if (o.kind === 'class') {
    const bases = o.info.bases ?? [];
    const methods = (o.info.methods ?? []).filter((m) => !m.startsWith('_'));
    const kind = def.kind;
    const base = kind ? bases.map((b) => lookupClassAlias(kind, b)).find(Boolean) : undefined;
    let msg = `${w}: ${name} is set to the class ${o.info.name ?? o.repr}${at ? at.replace(' (defined at', ' (defined in the config file at') : ' defined in the config file'}`;
    if (bases.length) msg += `, a subclass of ${bases.join(', ')}`;
    if (methods.length) msg += ` overriding ${methods.join(', ')}`;
    msg += '. jhub can use a class defined in the config file only if it derives from a known class.';
    if (base) {
      msg += ` Set c.${name} = '${bases[0]}' and express the changes in a TypeScript config (jupyterhub_config.ts)`;
      const hooks = methods.filter((m) => findTrait(base.name, m)?.def.type === 'Callable');
      if (hooks.length) msg += `, e.g. ${hooks.map((m) => `c.${base.name}.${m} = ${HOOK_SIGNATURES[m] ?? '(...) => ...'}`).join('; ')}`;
      if (methods.includes('normalize_username')) msg += `, or with the ${base.name}.username_map trait`;
      msg += ' (see docs/config.md)';
    } else msg += ' Use a class name or alias instead, and TypeScript hooks for custom behaviour (see docs/config.md)';
    return msg;
  }
  if (o.kind === 'function') {
    const isHook = def.type === 'Callable' || (def.union ?? []).includes('Callable');
    const sig = HOOK_SIGNATURES[trait] ?? '(...args) => { ... }';
    if (isHook)
      return (
        `${w}: ${name} is set to the Python function ${o.info.name ?? o.repr}${at}; jhub cannot call Python code. ` +
        `Write it in JavaScript in a TypeScript/JavaScript config (jupyterhub_config.ts): c.${name} = ${sig} (see docs/config.md)`
      );
    return `${w}: ${name} contains the Python function ${o.info.name ?? o.repr}${at}; jhub cannot call Python code. Use plain values, or a TypeScript config where functions are allowed (see docs/config.md)`;
  }
  return `${w}: ${name} is set to a Python ${o.info.type ?? 'object'} (${o.repr}), which jhub cannot use; use plain values (str, int, float, bool, list, dict, set, tuple, bytes)`;
}

