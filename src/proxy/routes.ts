// Route table: CHP-compatible route keys and data, longest whole-segment prefix lookup.
//
// Lookup works on the segment-normalised path ("/" + segments joined by "/", exactly CHP's
// trie node prefix). A request path is matched by trying its prefixes from the deepest
// possible (bounded by the deepest route) to the root, i.e. at most `maxDepth + 1` Map
// lookups and no per-request arrays.
//
// Memory: one Map (path -> entry) serves both the API and the lookup, because a route's
// path is almost always its own trie key; only routes whose path differs from their key
// ("//a", "/a//b") - and keys whose holder is not the same-path route - are in `odd`.
// The key holder is the last-added route with that key (as CHP's trie node data).

export type RouteData = Record<string, unknown> & { target: string };

export interface RouteEntry {
  /** cleaned route path (CHP `cleanPath`): the key in the API */
  readonly path: string;
  /** trie key / matched prefix */
  readonly key: string;
  /** route data as posted (+ host); last_activity is added on serialisation (a posted
   *  last_activity key is kept in place, with an empty value, to keep CHP's key order) */
  readonly data: RouteData;
  /** last activity, ms since epoch */
  ts: number;
  /** parsed target, cached (undefined = not parsed yet) */
  parsed: unknown;
}

// last activity is stored relative to TS_BASE so that it stays a small integer (a Smi,
// for ~24 days either side of startup) instead of a boxed double per route
const TS_BASE = Date.now();

class Entry implements RouteEntry {
  private t: number;
  parsed: unknown = undefined;
  constructor(
    readonly path: string,
    readonly key: string,
    readonly data: RouteData,
    ts: number,
  ) {
    this.t = ts - TS_BASE;
  }
  get ts(): number {
    return this.t + TS_BASE;
  }
  set ts(v: number) {
    this.t = v - TS_BASE;
  }
}

/** CHP `trimPrefix`: ensure leading "/", drop one trailing "/" (except for "/"). */
export function cleanPath(p: string): string {
  if (p.length === 0 || p.charCodeAt(0) !== 47) p = '/' + p;
  if (p.length > 1 && p.charCodeAt(p.length - 1) === 47) p = p.slice(0, -1);
  return p;
}

/** "/" + the path's segments (leading/trailing slashes stripped) joined by "/". */
export function trieKey(p: string): string {
  let i = 0;
  let j = p.length;
  while (i < j && p.charCodeAt(i) === 47) i++;
  while (j > i && p.charCodeAt(j - 1) === 47) j--;
  return i >= j ? '/' : '/' + p.slice(i, j);
}

function depthOf(key: string): number {
  if (key === '/') return 0;
  let d = 1;
  for (let i = 1; i < key.length; i++) if (key.charCodeAt(i) === 47) d++;
  return d;
}

export interface Match {
  entry: RouteEntry;
  prefix: string;
}

export class RouteTable {
  /** API view: cleaned path -> entry, in insertion order (like CHP's routes object) */
  readonly routes = new Map<string, RouteEntry>();
  /** key -> holder (null = none) where the holder is not simply routes.get(key) */
  private readonly odd = new Map<string, RouteEntry | null>();
  private depthCounts: number[] = [];
  private maxDepth = 0;
  private root: RouteEntry | undefined;
  /** called after every add/remove (persistence hook) */
  onChange: ((kind: 'add' | 'remove', entry: RouteEntry) => void) | undefined;

  constructor(private readonly hostRouting = false) {}

  get size(): number {
    return this.routes.size;
  }

  get(path: string): RouteEntry | undefined {
    return this.routes.get(cleanPath(path));
  }

  /** Add or replace a route; `data` is kept (and mutated: host, last_activity). */
  add(path: string, data: RouteData, ts = Date.now()): RouteEntry {
    path = cleanPath(path);
    if (this.hostRouting && path !== '/') data.host = path.split('/')[1];
    let key = trieKey(path);
    if (key === path) key = path; // share the string
    // CHP appends last_activity last unless it was posted: only posted ones stay in `data`
    if (Object.prototype.hasOwnProperty.call(data, 'last_activity')) data.last_activity = '';
    const entry: RouteEntry = new Entry(path, key, data, ts);
    const old = this.routes.get(path);
    if (old) this.unindex(old);
    this.routes.set(path, entry);
    this.index(entry);
    this.onChange?.('add', entry);
    return entry;
  }

  remove(path: string): RouteEntry | undefined {
    path = cleanPath(path);
    const entry = this.routes.get(path);
    if (!entry) return undefined;
    this.unindex(entry);
    this.routes.delete(path);
    if (this.odd.get(entry.key) === null && !this.routes.has(entry.key)) this.odd.delete(entry.key);
    this.onChange?.('remove', entry);
    return entry;
  }

  /** the route currently holding trie key `key` */
  private holder(key: string): RouteEntry | undefined {
    const o = this.odd.get(key);
    if (o !== undefined) return o ?? undefined;
    const e = this.routes.get(key);
    return e !== undefined && e.key === key ? e : undefined;
  }

  /** called with `entry` already in `routes` */
  private index(entry: RouteEntry): void {
    const key = entry.key;
    const o = this.odd.get(key);
    const prev = o !== undefined ? o : this.routes.get(key) !== entry ? this.routes.get(key) : undefined;
    if (prev && prev.key === key) this.dec(depthOf(key));
    if (entry.path === key) this.odd.delete(key);
    else this.odd.set(key, entry);
    if (key === '/') this.root = entry;
    const depth = depthOf(key);
    this.depthCounts[depth] = (this.depthCounts[depth] ?? 0) + 1;
    if (depth > this.maxDepth) this.maxDepth = depth;
  }

  /** called with `entry` still in `routes` */
  private unindex(entry: RouteEntry): void {
    const key = entry.key;
    if (this.holder(key) !== entry) {
      // not the holder; if it shadowed nothing, nothing to do
      return;
    }
    // no holder afterwards (as CHP: the node's data is gone)
    const same = this.routes.get(key);
    if (same !== undefined && same !== entry && same.key === key) this.odd.set(key, null);
    else this.odd.delete(key);
    if (key === '/') this.root = undefined;
    this.dec(depthOf(key));
  }

  private dec(depth: number): void {
    this.depthCounts[depth]--;
    while (this.maxDepth > 0 && !this.depthCounts[this.maxDepth]) this.maxDepth--;
  }

  /** Longest whole-segment prefix match of a (decoded) request path. */
  lookup(path: string): RouteEntry | undefined {
    const n = path.length;
    let i = 0;
    while (i < n && path.charCodeAt(i) === 47) i++;
    let j = n;
    while (j > i && path.charCodeAt(j - 1) === 47) j--;
    if (i >= j || this.maxDepth === 0) return this.root;
    // end of the maxDepth-th segment
    let e = i;
    for (let d = 0; d < this.maxDepth; d++) {
      const s = path.indexOf('/', e + 1);
      if (s === -1 || s >= j) {
        e = j;
        break;
      }
      e = s;
    }
    const hasSlash = i > 0; // path[i-1] === '/' so slice(i-1, e) is "/"+segments
    const routes = this.routes;
    const odd = this.odd;
    const hasOdd = odd.size > 0;
    while (e > i) {
      const cand = hasSlash ? path.slice(i - 1, e) : '/' + path.slice(i, e);
      if (hasOdd) {
        const o = odd.get(cand);
        if (o !== undefined) {
          if (o !== null) return o;
        } else {
          const hit = routes.get(cand);
          if (hit !== undefined && hit.key === cand) return hit;
        }
      } else {
        const hit = routes.get(cand);
        if (hit !== undefined && hit.key === cand) return hit;
      }
      e = path.lastIndexOf('/', e - 1);
      if (e < i) break;
    }
    return this.root;
  }

  /** JSON text of one route's data (with last_activity as ISO text, in CHP's key order). */
  entryJson(entry: RouteEntry): string {
    const iso = new Date(entry.ts).toISOString();
    if (Object.prototype.hasOwnProperty.call(entry.data, 'last_activity')) {
      entry.data.last_activity = iso;
      const s = JSON.stringify(entry.data);
      entry.data.last_activity = '';
      return s;
    }
    const s = JSON.stringify(entry.data);
    return (s.length > 2 ? s.slice(0, -1) + ',"last_activity":"' : '{"last_activity":"') + iso + '"}';
  }

  /**
   * JSON text of all routes (optionally only those inactive since `before` ms), in pieces of
   * about `chunk` characters (no big flat strings: keeps the heap and RSS small).
   */
  *jsonChunks(before?: number, chunk = 16384): Generator<string> {
    let buf = '{';
    let first = true;
    for (const [path, entry] of this.routes) {
      if (before !== undefined && !(entry.ts < before)) continue;
      buf += (first ? '' : ',') + JSON.stringify(path) + ':' + this.entryJson(entry);
      first = false;
      if (buf.length >= chunk) {
        yield buf;
        buf = '';
      }
    }
    yield buf + '}';
  }

  /** JSON text of all routes (optionally only those inactive since `before` ms). */
  toJson(before?: number): string {
    let s = '';
    for (const c of this.jsonChunks(before)) s += c;
    return s;
  }
}
