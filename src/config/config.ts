/**
 * The resolved configuration: values from every source merged in priority order
 * (trait defaults < config file(s) < command line < programmatic overrides), looked up
 * per class the way traitlets does it (the most specific section wins; container
 * operations are applied on top of the inherited/default value).
 */
import type { PythonBridge } from './bridge.js';
import { ConfigError } from './errors.js';
import { allClasses, ancestors, findTrait, getClass } from './schema.js';
import { didYouMean } from './suggest.js';
import type { DefaultContext, Origin, TraitDef } from './types.js';
import { coerce, isPlainObject, ValueError } from './values.js';

export { ConfigError } from './errors.js';
export { loadConfig } from './loader.js';
export type { LoadOptions, CliArgs } from './loader.js';
export type { Origin, TraitDef, ClassDef } from './types.js';
export { PythonBridge, PythonHookError, isBridgeFunction } from './bridge.js';

/** Container operations on a trait without a value in that source (traitlets' LazyConfigValue). */
export interface LazyOps {
  extend: unknown[];
  prepend: unknown[];
  inserts: [number, unknown][];
  update: { kind: 'dict'; value: Record<string, unknown> } | { kind: 'set'; value: unknown[] } | null;
}

export type Entry = { kind: 'value'; value: unknown; origin: Origin } | { kind: 'lazy'; ops: LazyOps; origin: Origin };
/** section (class name) -> trait -> entry */
export type Layer = Map<string, Map<string, Entry>>;

export function emptyOps(): LazyOps {
  return { extend: [], prepend: [], inserts: [], update: null };
}

function cloneOps(o: LazyOps): LazyOps {
  return {
    extend: [...o.extend],
    prepend: [...o.prepend],
    inserts: [...o.inserts],
    update: o.update ? (o.update.kind === 'dict' ? { kind: 'dict', value: { ...o.update.value } } : { kind: 'set', value: [...o.update.value] }) : null,
  };
}

/** traitlets' LazyConfigValue.merge_into: `newer` has higher priority than `older`. */
function mergeEntry(older: Entry | undefined, newer: Entry, def: TraitDef | undefined): Entry {
  if (newer.kind === 'value' || !older) return newer.kind === 'lazy' ? { ...newer, ops: cloneOps(newer.ops) } : newer;
  if (older.kind === 'value') return { kind: 'value', value: applyOps(def, older.value, newer.ops), origin: newer.origin };
  const a = older.ops;
  const b = newer.ops;
  let update = a.update;
  if (b.update) {
    if (!update) update = b.update;
    else if (update.kind === 'dict' && b.update.kind === 'dict') update = { kind: 'dict', value: { ...update.value, ...b.update.value } };
    else if (update.kind === 'set' && b.update.kind === 'set') update = { kind: 'set', value: dedupe([...update.value, ...b.update.value]) };
    else update = b.update;
  }
  return {
    kind: 'lazy',
    ops: { extend: [...a.extend, ...b.extend], prepend: [...b.prepend, ...a.prepend], inserts: [...a.inserts, ...b.inserts], update },
    origin: newer.origin,
  };
}

function dedupe(items: unknown[]): unknown[] {
  const seen = new Set<string>();
  return items.filter((x) => {
    const k = typeof x === 'string' ? 's' + x : 'j' + JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function containerKind(def: TraitDef | undefined, v: unknown): 'list' | 'set' | 'dict' | 'none' {
  const t = def?.type;
  if (t === 'List' || t === 'Command') return 'list';
  if (t === 'Set') return 'set';
  if (t === 'Dict') return 'dict';
  if (t === 'Tuple') return 'none';
  if (Array.isArray(v)) return 'list';
  if (isPlainObject(v)) return 'dict';
  return 'none';
}

/** traitlets' LazyConfigValue.get_value(initial). */
export function applyOps(def: TraitDef | undefined, initial: unknown, ops: LazyOps): unknown {
  const kind = containerKind(def, initial);
  if (kind === 'list') {
    const v = Array.isArray(initial) ? [...initial] : [];
    for (const [idx, obj] of ops.inserts) v.splice(idx < 0 ? Math.max(0, v.length + idx) : idx, 0, obj);
    return [...ops.prepend, ...v, ...ops.extend];
  }
  if (kind === 'set') {
    const v = Array.isArray(initial) ? [...initial] : [];
    return dedupe(ops.update?.kind === 'set' ? [...v, ...ops.update.value] : v);
  }
  if (kind === 'dict') {
    const v = isPlainObject(initial) ? { ...initial } : {};
    return ops.update?.kind === 'dict' ? { ...v, ...ops.update.value } : v;
  }
  return initial;
}

export function mergeLayers(layers: Layer[]): Layer {
  const out: Layer = new Map();
  for (const layer of layers) {
    for (const [cls, traits] of layer) {
      let sec = out.get(cls);
      if (!sec) out.set(cls, (sec = new Map()));
      for (const [name, e] of traits) sec.set(name, mergeEntry(sec.get(name), e, traitDefAnywhere(cls, name)));
    }
  }
  return out;
}

/** The trait as declared for `cls`, or for a subclass of it (config sections also reach subclasses). */
export function traitDefAnywhere(cls: string, name: string): TraitDef | undefined {
  return findTrait(cls, name)?.def ?? findInSubclasses(cls, name);
}

function findInSubclasses(cls: string, name: string): TraitDef | undefined {
  for (const c of allClasses()) if (c.name !== cls && ancestors(c.name).includes(cls)) {
    const t = findTrait(c.name, name);
    if (t) return t.def;
  }
  return undefined;
}

function deepFreeze<T>(v: T): T {
  if (Array.isArray(v)) {
    for (const x of v) deepFreeze(x);
    Object.freeze(v);
  } else if (isPlainObject(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function cloneDefault(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneDefault);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneDefault(x)]));
  return v;
}

export interface ConfigInit {
  /** Sources in increasing priority (file, json, command line). */
  layers?: Layer[];
  env?: NodeJS.ProcessEnv;
  /** Files that were loaded, in order. */
  files?: string[];
  /** Sections/traits unknown to jhub, kept for --show-config. */
  unknown?: Record<string, Record<string, unknown>>;
  warnings?: string[];
  /** The Python process serving callables of a `.py` config, if it defines any. */
  bridge?: PythonBridge;
}

export class Config {
  /** The Python bridge (functions, subclass methods of a `.py` config), if any. */
  readonly bridge?: PythonBridge;
  readonly files: string[];
  readonly warnings: string[];
  readonly env: NodeJS.ProcessEnv;
  private base: Layer;
  private overrides: Layer = new Map();
  private effective: Layer;
  private unknown: Record<string, Record<string, unknown>>;
  private cache = new Map<string, unknown>();
  private resolving = new Set<string>();

  constructor(init: ConfigInit = {}) {
    this.base = mergeLayers(init.layers ?? []);
    this.effective = this.base;
    this.env = init.env ?? process.env;
    this.files = init.files ?? [];
    this.warnings = init.warnings ?? [];
    this.unknown = init.unknown ?? {};
    this.bridge = init.bridge;
  }

  /** Stop what the configuration keeps running (the Python bridge). Idempotent. */
  close(): void {
    this.bridge?.close();
  }

  private lookup(cls: string, name: string): TraitDef {
    const t = findTrait(cls, name);
    if (t) return t.def;
    const c = getClass(cls);
    if (!c) throw new ConfigError(`unknown configurable class '${cls}'` + didYouMean(cls, allClasses().map((x) => x.name)));
    throw new ConfigError(`${cls} has no trait '${name}'.` + didYouMean(name, allTraitNames(cls)));
  }

  private entries(cls: string, name: string): Entry[] {
    const out: Entry[] = [];
    for (const sec of ancestors(cls)) {
      const e = this.effective.get(sec)?.get(name);
      if (e) out.push(e);
    }
    return out;
  }

  /**
   * Resolved value of `name` for an instance of class `cls`: the most specific section
   * among cls and its ancestors that sets it wins; container operations are merged onto
   * the default; dynamic defaults are computed. Values are shared and frozen: copy before
   * changing them.
   */
  get<T = unknown>(cls: string, name: string): T {
    const key = cls + '\0' + name;
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const def = this.lookup(cls, name);
    const entries = this.entries(cls, name);
    let start = -1;
    for (let i = entries.length - 1; i >= 0; i--)
      if (entries[i].kind === 'value') {
        start = i;
        break;
      }
    let value: unknown;
    if (start >= 0) value = cloneDefault((entries[start] as { value: unknown }).value);
    else value = this.defaultValue(cls, def);
    for (let i = start + 1; i < entries.length; i++) value = applyOps(def, value, (entries[i] as { ops: LazyOps }).ops);
    deepFreeze(value);
    this.cache.set(key, value);
    return value as T;
  }

  private defaultValue(cls: string, def: TraitDef): unknown {
    if (!def.dynamicDefault) return cloneDefault(def.default);
    const key = cls + '\0' + def.name;
    if (this.resolving.has(key)) throw new ConfigError(`circular dynamic default for ${cls}.${def.name}`);
    this.resolving.add(key);
    try {
      const ctx: DefaultContext = { cls, env: this.env, get: (c, n) => this.get(c, n) };
      return def.dynamicDefault(ctx);
    } finally {
      this.resolving.delete(key);
    }
  }

  /** Where the value came from (the most specific source that set or changed it). */
  origin(cls: string, name: string): Origin {
    this.lookup(cls, name);
    const e = this.entries(cls, name);
    if (!e.length) return { source: 'default' };
    return e[e.length - 1].origin;
  }

  /** True if any source set (or changed) it explicitly. */
  isSet(cls: string, name: string): boolean {
    this.lookup(cls, name);
    return this.entries(cls, name).length > 0;
  }

  /** Programmatic override (highest priority), used by tests and by the app. */
  set(cls: string, name: string, value: unknown): void {
    const def = this.lookup(cls, name);
    let v: unknown;
    try {
      v = coerce(def, value);
    } catch (e) {
      if (e instanceof ValueError) throw new ConfigError(`invalid value for ${cls}.${name}: ${e.message}`);
      throw e;
    }
    let sec = this.overrides.get(cls);
    if (!sec) this.overrides.set(cls, (sec = new Map()));
    sec.set(name, { kind: 'value', value: v, origin: { source: 'program' } });
    this.effective = mergeLayers([this.base, this.overrides]);
    this.cache.clear();
  }

  /** Classes with at least one explicit setting. */
  sections(): string[] {
    return [...this.effective.keys()];
  }

  /** Everything that was configured explicitly (resolved), for --show-config / --show-config-json. */
  toJSON(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [cls, traits] of this.effective) {
      const sec: Record<string, unknown> = (out[cls] = {});
      for (const [name, e] of traits) {
        if (e.kind === 'value') sec[name] = jsonable(e.value);
        else if (findTrait(cls, name)) sec[name] = jsonable(this.get(cls, name));
        else {
          const def = traitDefAnywhere(cls, name);
          sec[name] = jsonable(applyOps(def, cloneDefault(def?.default), e.ops));
        }
      }
    }
    for (const [cls, traits] of Object.entries(this.unknown)) {
      const sec = (out[cls] ??= {});
      for (const [k, v] of Object.entries(traits)) sec[k] = jsonable(v);
    }
    return out;
  }
}

function allTraitNames(cls: string): string[] {
  const names = new Set<string>();
  for (const a of ancestors(cls)) for (const t of getClass(a)!.traits) names.add(t.name);
  return [...names];
}

/** JSON-safe form: bytes as hex strings, functions as "<function name>". */
export function jsonable(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'function') return `<function ${v.name || 'anonymous'}>`;
  if (Array.isArray(v)) return v.map(jsonable);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonable(x)]));
  if (v === undefined) return null;
  if (typeof v === 'object' && v !== null) return String((v as { repr?: string }).repr ?? v);
  return v;
}
