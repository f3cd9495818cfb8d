/**
 * Values as they arrive from configuration sources, and their conversion to the JS types
 * the rest of jhub sees (arrays for List/Set/Tuple, plain objects for Dict, Buffer for
 * Bytes, strings, numbers, booleans, null, functions).
 */
import type { BridgeFnOptions, PythonBridge } from './bridge.js';
import { lookupClassAlias } from './schema.js';
import type { TraitDef, TraitType } from './types.js';

/** A Python float with an integral value (8000.0), which JSON cannot tell from an int. */
export class PyFloat {
  constructor(readonly value: number) {}
}
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}
export class PySet {
  constructor(readonly items: unknown[]) {}
}
/** A Python class that is one of the known classes (stand-in or real package): crosses by name. */
export class PyClassRef {
  constructor(readonly path: string) {}
}
/** A Python value that cannot be used by jhub (function, class defined in the file, object). */
export class PyOpaque {
  constructor(
    readonly kind: 'function' | 'class' | 'object',
    readonly repr: string,
    readonly info: {
      name?: string;
      file?: string;
      line?: number;
      bases?: string[];
      methods?: string[];
      type?: string;
    },
  ) {}
}

/**
 * A Python callable served by the Python bridge. It becomes a JS function when the value is
 * checked against its trait (synchronous or asynchronous depending on the call site, see
 * SYNC_HOOKS).
 */
export class PyCallable {
  constructor(
    readonly bridge: PythonBridge,
    readonly id: string,
    readonly name: string,
    readonly file: string | undefined,
    readonly line: number | undefined,
    readonly isAsync: boolean,
  ) {}
  toFunction(opts: BridgeFnOptions): (...args: unknown[]) => unknown {
    return this.bridge.fn({ id: this.id, name: this.name, file: this.file, line: this.line }, opts);
  }
}

/** A class defined in the config file, deriving from one of the known classes (`base`). */
export class PyClassDef {
  constructor(
    readonly bridge: PythonBridge,
    readonly name: string,
    readonly base: string,
    readonly file: string | undefined,
    readonly line: number | undefined,
    readonly methods: Record<string, { id?: string; file?: string; line?: number; kind: 'method' | 'property'; async: boolean }>,
    readonly attrs: Record<string, unknown>,
  ) {}
}

/**
 * Callable traits whose call sites are synchronous: a Python function set there is called
 * with the bridge's blocking call. Every other function (hooks, values in dicts) is async.
 */
export const SYNC_HOOKS = new Set(['normalize_username', 'username_claim', 'username_key', 'claim_groups_key', 'auth_state_groups_key', 'subdomain_hook']);

/** Decode the tagged JSON written by the Python shim (callables need the bridge). */
export function decodePy(v: unknown, bridge?: PythonBridge): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => decodePy(x, bridge));
  const o = v as Record<string, unknown>;
  if (typeof o.$t === 'string') {
    switch (o.$t) {
      case 'float':
        return o.v === 'nan' ? new PyFloat(NaN) : o.v === 'inf' ? new PyFloat(Infinity) : o.v === '-inf' ? new PyFloat(-Infinity) : new PyFloat(o.v as number);
      case 'bytes':
        return Buffer.from(o.hex as string, 'hex');
      case 'tuple':
        return new PyTuple((o.items as unknown[]).map((x) => decodePy(x, bridge)));
      case 'set':
        return new PySet((o.items as unknown[]).map((x) => decodePy(x, bridge)));
      case 'dict': {
        const out: Record<string, unknown> = {};
        for (const [k, val] of o.items as [unknown, unknown][]) out[String(decodePy(k, bridge))] = decodePy(val, bridge);
        return out;
      }
      case 'pyfunc':
        if (bridge) return new PyCallable(bridge, o.id as string, o.name as string, (o.file as string) ?? undefined, (o.line as number) ?? undefined, !!o.async);
        return new PyOpaque('function', `<function ${String(o.name)}>`, { name: o.name as string, file: o.file as string, line: o.line as number });
      case 'pyclass': {
        const methods = o.methods as PyClassDef['methods'];
        if (bridge) {
          const attrs: Record<string, unknown> = {};
          for (const [k, x] of Object.entries((o.attrs as Record<string, unknown>) ?? {})) attrs[k] = decodePy(x, bridge);
          return new PyClassDef(bridge, o.name as string, o.base as string, (o.file as string) ?? undefined, (o.line as number) ?? undefined, methods, attrs);
        }
        return new PyOpaque('class', `<class ${String(o.name)}>`, { name: o.name as string, file: o.file as string, line: o.line as number, bases: o.bases as string[], methods: Object.keys(methods ?? {}).sort() });
      }
      case 'classref':
        return new PyClassRef(o.path as string);
      case 'opaque':
        return new PyOpaque(o.kind as 'function' | 'class' | 'object', o.repr as string, {
          name: o.name as string | undefined,
          file: o.file as string | undefined,
          line: o.line as number | undefined,
          bases: o.bases as string[] | undefined,
          methods: o.methods as string[] | undefined,
          type: o.type as string | undefined,
        });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) out[k] = decodePy(val, bridge);
  return out;
}

/** Raised by coerce(); turned into a ConfigError with the location by the caller. */
export class ValueError extends Error {
  /** Set when the value is a Python object that cannot cross (for a tailored message). */
  opaque?: PyOpaque;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** Python-flavoured description of a value for error messages: "the str 'abc'". */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return `the str ${pyRepr(v)}`;
  if (typeof v === 'boolean') return `the bool ${pyRepr(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the int ${v}` : `the float ${v}`;
  if (v instanceof PyFloat) return `the float ${pyRepr(v)}`;
  if (Buffer.isBuffer(v)) return `the bytes ${pyRepr(v)}`;
  if (v instanceof PyTuple) return `the tuple ${short(pyRepr(v))}`;
  if (v instanceof PySet) return `the set ${short(pyRepr(v))}`;
  if (Array.isArray(v)) return `the list ${short(pyRepr(v))}`;
  if (v instanceof PyClassRef) return `the class ${v.path}`;
  if (v instanceof PyCallable) return `the Python function ${v.name}`;
  if (v instanceof PyClassDef) return `the class ${v.name} (a subclass of ${v.base})`;
  if (v instanceof PyOpaque) return `the ${v.kind === 'object' ? (v.info.type ?? 'object') : v.kind} ${v.repr}`;
  if (typeof v === 'function') return `the function ${v.name || '(anonymous)'}`;
  if (isPlainObject(v)) return `the dict ${short(pyRepr(v))}`;
  return `the ${(v as object).constructor?.name ?? 'object'} ${short(String(v))}`;
}

function short(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

const TYPE_WORDS: Record<string, string> = {
  Unicode: 'a str',
  Int: 'an int',
  Float: 'a float',
  Bool: 'a bool',
  List: 'a list',
  Set: 'a set',
  Tuple: 'a tuple',
  Dict: 'a dict',
  Bytes: 'bytes',
  Enum: 'one of the allowed values',
  Any: 'any value',
  Command: 'a command (list of str, or a str)',
  URLPrefix: "a URL path ('/prefix/')",
  ByteSpecification: "an int or a size like '512M' or '2G'",
  Callable: 'a function',
  Type: 'a class name',
  Union: 'a value',
};

export function typeWords(def: Pick<TraitDef, 'type' | 'union' | 'values'>): string {
  if (def.type === 'Union') return (def.union ?? []).map((t) => TYPE_WORDS[t]).join(' or ');
  if (def.type === 'Enum') return `one of ${(def.values ?? []).map((x) => pyRepr(x)).join(', ')}`;
  return TYPE_WORDS[def.type];
}

/** Deep conversion of wrapper types into plain JS values (for Any/Dict/List contents). */
export function plain(v: unknown): unknown {
  if (v instanceof PyOpaque) {
    const e = new ValueError(`${describe(v)} cannot be used by jhub`);
    e.opaque = v;
    throw e;
  }
  if (v instanceof PyCallable) return v.toFunction({ mode: 'async' });
  if (v instanceof PyClassDef) return v.base;
  if (v instanceof PyFloat) return v.value;
  if (v instanceof PyTuple || v instanceof PySet) return v.items.map(plain);
  if (v instanceof PyClassRef) return v.path;
  if (Array.isArray(v)) return v.map(plain);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

function dedupe(items: unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const it of items) {
    const key = typeof it === 'string' ? 's' + it : 'j' + safeKey(it);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(it);
  }
  return out;
}
function safeKey(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?\s*$/i;
const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

function fail(def: { type: TraitType } & Partial<TraitDef>, v: unknown): never {
  if (v instanceof PyOpaque) {
    const e = new ValueError(`expected ${typeWords(def as TraitDef)}, not ${describe(v)}`);
    e.opaque = v;
    throw e;
  }
  throw new ValueError(`expected ${typeWords(def as TraitDef)}, not ${describe(v)}`);
}

function asList(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple || v instanceof PySet) return v.items;
  return undefined;
}

/**
 * Check a value against a trait declaration and convert it to its JS form.
 * Throws ValueError with a message such as "expected an int, not the str 'abc'".
 */
export function coerce(def: TraitDef | ({ type: TraitType } & Partial<TraitDef>), v: unknown): unknown {
  if (v instanceof PyOpaque && def.type !== 'Union') fail(def, v);
  if (v === null || v === undefined) {
    if (def.allowNone || def.default === null || def.type === 'Any') return null;
    throw new ValueError(`None is not allowed here (expected ${typeWords(def as TraitDef)})`);
  }
  let out: unknown;
  switch (def.type) {
    case 'Unicode':
      if (typeof v === 'string') out = v;
      else if (Buffer.isBuffer(v)) out = v.toString('utf8');
      else fail(def, v);
      break;
    case 'Int':
      if (typeof v === 'boolean') out = v ? 1 : 0;
      else if (typeof v === 'number' && Number.isInteger(v)) out = v;
      else fail(def, v);
      break;
    case 'Float':
      if (typeof v === 'number') out = v;
      else if (v instanceof PyFloat) out = v.value;
      else if (typeof v === 'boolean') out = v ? 1 : 0;
      else fail(def, v);
      break;
    case 'Bool':
      if (typeof v === 'boolean') out = v;
      else if (v === 0 || v === 1) out = v === 1;
      else fail(def, v);
      break;
    case 'List':
    case 'Tuple':
    case 'Set': {
      const items = asList(v);
      if (!items) fail(def, v);
      let conv = items.map((it, i) => coerceItem(def, it, i));
      if (def.type === 'Set') conv = dedupe(conv);
      out = conv;
      break;
    }
    case 'Command':
      if (typeof v === 'string') out = v.trim().split(/\s+/).filter(Boolean);
      else {
        const items = asList(v);
        if (!items) fail(def, v);
        out = items.map((it, i) => coerceItem({ ...def, items: 'Unicode' }, it, i));
      }
      break;
    case 'Dict': {
      if (!isPlainObject(v)) fail(def, v);
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = coerceItem(def, x, k);
      out = o;
      break;
    }
    case 'Bytes':
      if (Buffer.isBuffer(v)) out = v;
      else fail(def, v);
      break;
    case 'Enum': {
      const values = def.values ?? [];
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string') fail(def, v);
      const hit = values.find((x) => x.toLowerCase() === s.toLowerCase());
      if (hit === undefined && !(def.validate && s.toUpperCase() === 'WARNING')) fail(def, v);
      out = hit ?? s;
      break;
    }
    case 'URLPrefix': {
      if (typeof v !== 'string') fail(def, v);
      let s = v;
      if (!s.startsWith('/')) s = '/' + s;
      if (!s.endsWith('/')) s = s + '/';
      out = s;
      break;
    }
    case 'ByteSpecification': {
      if (typeof v === 'number' && Number.isFinite(v)) out = Math.floor(v);
      else if (v instanceof PyFloat) out = Math.floor(v.value);
      else if (typeof v === 'string') {
        const m = SIZE.exec(v);
        if (!m) fail(def, v);
        out = Math.floor(parseFloat(m[1]) * (m[2] ? UNITS[m[2].toUpperCase()] : 1));
      } else fail(def, v);
      break;
    }
    case 'Callable':
      if (typeof v === 'function') out = v;
      else if (v instanceof PyCallable) out = v.toFunction({ mode: def.name && SYNC_HOOKS.has(def.name) ? 'sync' : 'async' });
      else fail(def, v);
      break;
    case 'Type': {
      if (typeof v === 'function') out = v;
      else if (typeof v === 'string' || v instanceof PyClassRef || v instanceof PyClassDef) {
        const name = typeof v === 'string' ? v : v instanceof PyClassDef ? v.base : v.path;
        if (def.kind) {
          const c = lookupClassAlias(def.kind, name);
          if (!c) throw new ValueError(`unknown class '${name}'`);
          out = c.name;
        } else out = name;
      } else fail(def, v);
      break;
    }
    case 'Union': {
      let firstOpaque: PyOpaque | undefined;
      for (const t of def.union ?? []) {
        try {
          out = coerce({ name: def.name, type: t, items: def.items, allowNone: def.allowNone, values: def.values, kind: def.kind }, v);
          break;
        } catch (e) {
          if (e instanceof ValueError && e.opaque) firstOpaque = e.opaque;
        }
      }
      if (out === undefined) {
        if (firstOpaque) fail(def, firstOpaque);
        fail(def, v);
      }
      break;
    }
    case 'Any':
    default:
      out = plain(v);
  }
  if (def.min !== undefined && typeof out === 'number' && out < def.min)
    throw new ValueError(`expected a value >= ${def.min}, not ${out}`);
  if (def.validate) {
    try {
      out = def.validate(out);
    } catch (e) {
      throw new ValueError((e as Error).message);
    }
  }
  return out;
}

function coerceItem(def: { items?: TraitType }, it: unknown, where: number | string): unknown {
  if (!def.items) return plainKeepFns(it);
  try {
    return coerce({ type: def.items, allowNone: true }, it);
  } catch (e) {
    if (e instanceof ValueError) {
      const w = typeof where === 'number' ? `item ${where}` : `key ${pyRepr(where)}`;
      const err = new ValueError(`${w}: ${e.message}`);
      err.opaque = e.opaque;
      throw err;
    }
    throw e;
  }
}

/** Like plain() but JS functions (from TS configs) are kept, e.g. environment values. */
function plainKeepFns(v: unknown): unknown {
  if (typeof v === 'function') return v;
  if (v instanceof PyCallable) return v.toFunction({ mode: 'async' });
  if (Array.isArray(v)) return v.map(plainKeepFns);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainKeepFns(x);
    return out;
  }
  return plain(v);
}

/** Python source form of a value (for --generate-config and messages). */
export function pyRepr(v: unknown, setLike = false): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? "float('inf')" : v < 0 ? "float('-inf')" : "float('nan')";
  if (v instanceof PyFloat) return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    let s = '';
    for (const ch of v) {
      if (ch === '\\') s += '\\\\';
      else if (ch === q) s += '\\' + q;
      else if (ch === '\n') s += '\\n';
      else if (ch === '\r') s += '\\r';
      else if (ch === '\t') s += '\\t';
      else if (ch < ' ') s += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
      else s += ch;
    }
    return q + s + q;
  }
  if (Buffer.isBuffer(v)) return `bytes.fromhex('${v.toString('hex')}')`;
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${pyRepr(v.items[0])},)` : `(${v.items.map((x) => pyRepr(x)).join(', ')})`;
  if (v instanceof PySet) return pyRepr(v.items, true);
  if (v instanceof PyClassRef) return pyRepr(v.path);
  if (v instanceof PyCallable) return `<function ${v.name}>`;
  if (v instanceof PyClassDef) return pyRepr(v.base);
  if (v instanceof PyOpaque) return v.repr;
  if (typeof v === 'function') return `<function ${v.name || 'anonymous'}>`;
  if (Array.isArray(v)) {
    if (setLike) return v.length ? `{${v.map((x) => pyRepr(x)).join(', ')}}` : 'set()';
    return `[${v.map((x) => pyRepr(x)).join(', ')}]`;
  }
  if (isPlainObject(v)) return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyRepr(String(v));
}

/** Python source form of a value as the given trait type (sets as {..}, tuples as (..)). */
export function pyReprFor(def: TraitDef, v: unknown): string {
  if (Array.isArray(v) && def.type === 'Set') return pyRepr(v, true);
  if (Array.isArray(v) && def.type === 'Tuple') return pyRepr(new PyTuple(v));
  if (def.type === 'Type' && typeof v === 'string' && def.defaultText && v === def.default) return pyRepr(def.defaultText);
  return pyRepr(v);
}
