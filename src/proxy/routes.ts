// Route table: CHP-compatible route keys and data, longest whole-segment prefix lookup.
//
// Lookup works on a Map keyed by the segment-normalised path ("/" + segments joined by "/",
// exactly CHP's trie node prefix). A request path is matched by trying its prefixes from
// the deepest possible (bounded by the deepest route) to the root, i.e. at most
// `maxDepth + 1` Map lookups and no per-request arrays.

export type RouteData = Record<string, unknown> & { target: string };

export interface RouteEntry {
  /** cleaned route path (CHP `cleanPath`): the key in the API */
  readonly path: string;
  /** trie key / matched prefix */
  readonly key: string;
  readonly depth: number;
  /** route data as posted (+ host, + last_activity materialised on serialisation) */
  readonly data: RouteData;
  /** last activity, ms since epoch */
  ts: number;
  /** ts value that `data.last_activity` / `json` currently reflect */
  jsonTs: number;
  json: string;
  /** parsed target, cached (undefined = not parsed yet) */
  parsed: unknown;
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
  /** lookup view: trie key -> entry */
  private readonly byKey = new Map<string, RouteEntry>();
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
    const key = trieKey(path);
    const entry: RouteEntry = {
      path,
      key,
      depth: depthOf(key),
      data,
      ts,
      jsonTs: -1,
      json: '',
      parsed: undefined,
    };
    // materialise now so the key order matches CHP (last_activity appended last unless posted)
    data.last_activity = new Date(ts).toISOString();
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
    this.routes.delete(path);
    this.unindex(entry);
    this.onChange?.('remove', entry);
    return entry;
  }

  private index(entry: RouteEntry): void {
    const prev = this.byKey.get(entry.key);
    if (prev) this.dec(prev.depth);
    this.byKey.set(entry.key, entry);
    if (entry.key === '/') this.root = entry;
    this.depthCounts[entry.depth] = (this.depthCounts[entry.depth] ?? 0) + 1;
    if (entry.depth > this.maxDepth) this.maxDepth = entry.depth;
  }

  private unindex(entry: RouteEntry): void {
    if (this.byKey.get(entry.key) !== entry) return;
    this.byKey.delete(entry.key);
    if (entry.key === '/') this.root = undefined;
    this.dec(entry.depth);
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
    const byKey = this.byKey;
    while (e > i) {
      const cand = hasSlash ? path.slice(i - 1, e) : '/' + path.slice(i, e);
      const hit = byKey.get(cand);
      if (hit !== undefined) return hit;
      e = path.lastIndexOf('/', e - 1);
      if (e < i) break;
    }
    return this.root;
  }

  /** JSON text of one route's data (cached until its activity changes). */
  entryJson(entry: RouteEntry): string {
    if (entry.jsonTs !== entry.ts) {
      entry.data.last_activity = new Date(entry.ts).toISOString();
      entry.json = JSON.stringify(entry.data);
      entry.jsonTs = entry.ts;
    }
    return entry.json;
  }

  /** JSON text of all routes (optionally only those inactive since `before` ms). */
  toJson(before?: number): string {
    const parts: string[] = [];
    for (const [path, entry] of this.routes) {
      if (before !== undefined && !(entry.ts < before)) continue;
      parts.push(JSON.stringify(path) + ':' + this.entryJson(entry));
    }
    return '{' + parts.join(',') + '}';
  }
}
