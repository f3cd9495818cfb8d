/**
 * The scope catalogue and the pure scope algebra of JupyterHub 5.x (rbac.md §2–5):
 * sub-scope expansion, self-referencing filters, metascopes, parsing, reduction and
 * intersection. Everything here is synchronous and side-effect free except the caches;
 * group membership, when needed, is supplied by the caller as a function.
 */

export interface ScopeDef {
  description: string;
  subscopes?: string[];
  doc_description?: string;
}

export const BUILTIN_SCOPES: Record<string, ScopeDef> = {
  '(no_scope)': { description: 'Identify the owner of the requesting entity.' },
  self: { description: 'Your own resources', doc_description: 'The user’s own resources _(metascope for users, resolves to (no_scope) for services)_' },
  inherit: { description: 'Anything you have access to', doc_description: 'Everything that the token-owning entity can access _(metascope for tokens)_' },
  'admin-ui': { description: 'Access the admin page.' },
  'admin:users': { description: 'Read, modify, create, and delete users and their authentication state, not including their servers or tokens.', subscopes: ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'] },
  'admin:auth_state': { description: 'Read a user’s authentication state.' },
  users: { description: 'Read and write permissions to user models (excluding servers, tokens and authentication state).', subscopes: ['read:users', 'list:users', 'users:activity'] },
  'delete:users': { description: "Delete users." },
  'list:users': { description: 'List users, including at least their names.', subscopes: ['read:users:name'] },
  'read:users': { description: 'Read user models (including the URL of the default server if it is running).', subscopes: ['read:users:name', 'read:users:groups', 'read:users:activity'] },
  'read:users:name': { description: 'Read names of users.' },
  'read:users:groups': { description: 'Read users’ group membership.' },
  'read:users:activity': { description: 'Read time of last user activity.' },
  'read:roles': { description: 'Read role assignments.', subscopes: ['read:roles:users', 'read:roles:services', 'read:roles:groups'] },
  'read:roles:users': { description: 'Read user role assignments.' },
  'read:roles:services': { description: 'Read service role assignments.' },
  'read:roles:groups': { description: 'Read group role assignments.' },
  'users:activity': { description: 'Update last activity of users.', subscopes: ['read:users:activity'] },
  'admin:servers': { description: 'Read, start, stop, create and delete user servers and their state.', subscopes: ['admin:server_state', 'servers'] },
  'admin:server_state': { description: 'Read and write users’ server state.' },
  servers: { description: 'Start and stop user servers.', subscopes: ['read:servers', 'delete:servers'] },
  'read:servers': { description: 'Read users’ names and their server models (excluding the server state).', subscopes: ['read:users:name'] },
  'delete:servers': { description: "Stop and delete users' servers." },
  tokens: { description: 'Read, write, create and delete user tokens.', subscopes: ['read:tokens'] },
  'read:tokens': { description: 'Read user tokens.' },
  'admin:groups': { description: 'Read and write group information, create and delete groups.', subscopes: ['groups', 'read:roles:groups', 'delete:groups'] },
  groups: { description: 'Read and write group information, including adding/removing any users to/from groups. Note: adding users to groups may affect permissions.', subscopes: ['read:groups', 'list:groups'] },
  'list:groups': { description: 'List groups, including at least their names.', subscopes: ['read:groups:name'] },
  'read:groups': { description: 'Read group models.', subscopes: ['read:groups:name'] },
  'read:groups:name': { description: 'Read group names.' },
  'delete:groups': { description: 'Delete groups.' },
  'admin:services': { description: 'Create, read, update, delete services, not including services defined from config files.', subscopes: ['list:services', 'read:services', 'read:roles:services'] },
  'list:services': { description: 'List services, including at least their names.', subscopes: ['read:services:name'] },
  'read:services': { description: 'Read service models.', subscopes: ['read:services:name'] },
  'read:services:name': { description: 'Read service names.' },
  'read:hub': { description: 'Read detailed information about the Hub.' },
  'access:servers': { description: 'Access user servers via API or browser.' },
  'access:services': { description: 'Access services via API or browser.' },
  'users:shares': { description: "Read and revoke a user's access to shared servers.", subscopes: ['read:users:shares'] },
  'read:users:shares': { description: "Read servers shared with a user." },
  'groups:shares': { description: "Read and revoke a group's access to shared servers.", subscopes: ['read:groups:shares'] },
  'read:groups:shares': { description: 'Read servers shared with a group.' },
  'read:shares': { description: 'Read information about shared access to servers.' },
  shares: { description: 'Manage access to shared servers.', subscopes: ['access:servers', 'read:shares', 'users:shares', 'groups:shares'] },
  proxy: { description: 'Read information about the proxy’s routing table, sync the Hub with the proxy and notify the Hub about a new proxy.' },
  shutdown: { description: 'Shutdown the hub.' },
  'read:metrics': { description: 'Read prometheus metrics.' },
};

export const SELF_RAW = ['read:users', 'users:shares', 'read:shares', 'users:activity', 'servers', 'tokens', 'access:servers'];

export type FilterKind = 'user' | 'server' | 'group' | 'service';
export const ALL = 'ALL' as const;
export type Filters = Partial<Record<string, Set<string>>>;
/** base scope → ALL or {filter kind → names} */
export type Parsed = Map<string, typeof ALL | Filters>;

export class ScopeNotFound extends Error {}

/** Who owns the scopes being expanded (resolves `self`, `!user`, `!service`). */
export interface Owner {
  kind: 'user' | 'service' | 'group';
  name: string;
}
/** The OAuth client that issued a token (resolves `!server` / `!service`). */
export interface ClientTarget {
  /** `user/server` of a single-user server client. */
  server?: string;
  /** service name of a service client. */
  service?: string;
}

export type GroupsOf = (userName: string) => Set<string> | undefined;

const CUSTOM_RE = /^custom:[a-z0-9][a-z0-9_\-*:]+[a-z0-9_*]$/;

/** A scope catalogue (built-in + custom scopes) with its expansion caches. */
export class ScopeSet {
  readonly defs: Record<string, ScopeDef> = { ...BUILTIN_SCOPES };
  private expandOne = new Map<string, string[]>();
  private expandMany = new Map<string, Set<string>>();

  /** Add `JupyterHub.custom_scopes`; throws Error with a start-up message when invalid. */
  defineCustom(custom: Record<string, unknown>, warn: (m: string) => void = () => {}): void {
    for (const [name, specAny] of Object.entries(custom ?? {})) {
      if (!CUSTOM_RE.test(name)) throw new Error(`Invalid scope name: '${name}'. Custom scopes must start with 'custom:' and contain only lowercase ascii letters, numbers, hyphen, underscore, colon, and asterisk (-_:*); they must not end with '-' or ':'`);
      const spec = specAny as Record<string, unknown>;
      if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error(`custom scope ${name} must be a dict with a description`);
      if (typeof spec.description !== 'string' || !spec.description) throw new Error(`description must be specified for custom scope ${name}`);
      for (const k of Object.keys(spec)) if (!['description', 'subscopes', 'doc_description'].includes(k)) warn(`Ignoring unexpected key ${k} in definition of custom scope ${name}`);
      const subs = spec.subscopes ?? [];
      if (!Array.isArray(subs) || subs.some((s) => typeof s !== 'string')) throw new Error(`subscopes of custom scope ${name} must be a list of strings`);
      for (const s of subs as string[]) {
        if (!(s in (custom as object)) || !s.startsWith('custom:')) throw new Error(`Custom scope ${name} has subscope ${s}, which is not a custom scope defined in the same dict`);
      }
      const def: ScopeDef = { description: spec.description, subscopes: subs as string[] };
      const existing = this.defs[name];
      if (existing && JSON.stringify(existing) !== JSON.stringify(def)) throw new Error(`Cannot redefine scope ${name}=${JSON.stringify(def)}. Already have ${name}=${JSON.stringify(existing)}`);
      this.defs[name] = def;
    }
    this.expandOne.clear();
    this.expandMany.clear();
  }

  exists(base: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.defs, base);
  }

  /** Throw ScopeNotFound if a scope (raw, possibly filtered) is unknown. */
  checkExist(scopes: Iterable<string>, whoFor?: string): void {
    const logFor = whoFor ? `for ${whoFor}` : '';
    for (const scope of scopes) {
      if (typeof scope !== 'string') throw new ScopeNotFound(`Scope '${String(scope)}' ${logFor} does not exist`);
      const i = scope.indexOf('!');
      const base = i < 0 ? scope : scope.slice(0, i);
      const filter = i < 0 ? '' : scope.slice(i + 1);
      if (!this.exists(base)) {
        if (base === 'all') throw new ScopeNotFound("Draft scope 'all' is now called 'inherit'");
        throw new ScopeNotFound(`Scope '${scope}' ${logFor} does not exist`);
      }
      if (i >= 0) {
        const full = '!' + filter;
        const ok = ['!user', '!service', '!server'].includes(full) || ['!user=', '!service=', '!group=', '!server='].some((p) => full.startsWith(p) && full.length > p.length);
        if (!ok) throw new ScopeNotFound(`Scope filter ${filter} '${full}' in scope '${scope}' ${logFor} does not exist`);
      }
    }
  }

  /** A scope and all its sub-scopes, filter re-applied (server filters drop read:user* sub-scopes). */
  expandScope(scope: string): string[] {
    let r = this.expandOne.get(scope);
    if (r) return r;
    const i = scope.indexOf('!');
    const base = i < 0 ? scope : scope.slice(0, i);
    const filter = i < 0 ? '' : scope.slice(i + 1);
    const names = new Set<string>();
    const add = (n: string) => {
      if (names.has(n)) return;
      names.add(n);
      for (const s of this.defs[n]?.subscopes ?? []) add(s);
    };
    add(base);
    r = filter ? [...names].filter((n) => !(filter.startsWith('server') && n.startsWith('read:user'))).map((n) => `${n}!${filter}`) : [...names];
    this.expandOne.set(scope, r);
    return r;
  }

  /**
   * Raw scopes → expanded scopes for an owner (and issuing OAuth client): sub-scopes added,
   * `self` and self-referencing filters resolved, unresolvable ones dropped, reduced.
   */
  expand(raw: Iterable<string>, owner?: Owner | null, client?: ClientTarget | null, warn?: (m: string) => void): Set<string> {
    const list = [...raw];
    const key = list.slice().sort().join(' ') + '\u0000' + (owner ? owner.kind + ':' + owner.name : '') + '\u0000' + (client ? (client.server ?? '') + '|' + (client.service ?? '') : '');
    const hit = this.expandMany.get(key);
    if (hit) return hit;
    const out = new Set<string>();
    const repl: Record<string, string | null> = { user: null, service: null, server: null };
    if (owner?.kind === 'user') repl.user = `user=${owner.name}`;
    else if (owner?.kind === 'service') repl.service = `service=${owner.name}`;
    if (client?.service) repl.service = `service=${client.service}`;
    else if (client?.server) repl.server = `server=${client.server}`;
    let self = false;
    for (const s of list) {
      for (const e of this.expandScope(s)) {
        const i = e.indexOf('!');
        const filter = i < 0 ? '' : e.slice(i + 1);
        if (e === 'self') {
          self = true;
          continue;
        }
        if (filter in repl) {
          const r = repl[filter];
          if (r) out.add(`${e.slice(0, i)}!${r}`);
          else warn?.(`Not expanding !${filter} filter without target ${filter} in ${e}`);
          continue;
        }
        out.add(e);
      }
    }
    if (self) {
      if (owner?.kind === 'user') for (const s of SELF_RAW) for (const e of this.expandScope(s)) out.add(`${e}!user=${owner.name}`);
      else warn?.(`Not expanding 'self' scope for owner ${owner ? owner.kind + ' ' + owner.name : 'None'} which is not a User`);
    }
    const reduced = reduceScopes(out);
    if (this.expandMany.size > 50000) this.expandMany.clear();
    this.expandMany.set(key, reduced);
    return reduced;
  }
}

export function splitScope(scope: string): [string, string, string] {
  const i = scope.indexOf('!');
  if (i < 0) return [scope, '', ''];
  const base = scope.slice(0, i);
  const f = scope.slice(i + 1);
  const j = f.indexOf('=');
  return j < 0 ? [base, f, ''] : [base, f.slice(0, j), f.slice(j + 1)];
}

export function parseScopes(scopes: Iterable<string>): Parsed {
  const parsed: Parsed = new Map();
  for (const scope of scopes) {
    const [base, kind, value] = splitScope(scope);
    if (!kind) {
      parsed.set(base, ALL);
      continue;
    }
    let cur = parsed.get(base);
    if (cur === ALL) continue;
    if (!value) continue; // empty filter values are invalid: ignore
    if (!cur) parsed.set(base, (cur = {}));
    (cur[kind] ??= new Set()).add(value);
  }
  return parsed;
}

export function unparseScopes(parsed: Parsed): Set<string> {
  const out = new Set<string>();
  for (const [base, f] of parsed) {
    if (f === ALL) out.add(base);
    else for (const [kind, names] of Object.entries(f)) for (const n of names!) out.add(`${base}!${kind}=${n}`);
  }
  return out;
}

export function reduceScopes(scopes: Iterable<string>): Set<string> {
  return unparseScopes(parseScopes(scopes));
}

/**
 * Intersection of two expanded scope sets, per base scope, resolving user/server/group
 * hierarchies (rbac.md §5.2 step 4). `groupsOf` gives a user's groups (for group filters).
 */
export function intersectScopes(a: Iterable<string>, b: Iterable<string>, groupsOf?: GroupsOf): Set<string> {
  const pa = parseScopes(a);
  const pb = parseScopes(b);
  const common: Parsed = new Map();
  for (const [base, fa] of pa) {
    const fb = pb.get(base);
    if (!fb) continue;
    if (fa === ALL) {
      common.set(base, fb);
      continue;
    }
    if (fb === ALL) {
      common.set(base, fa);
      continue;
    }
    const res: Filters = {};
    for (const k of Object.keys(fa)) {
      if (fb[k]) {
        const s = new Set([...fa[k]!].filter((x) => fb[k]!.has(x)));
        if (s.size) res[k] = s;
      }
    }
    const servers = new Set(res.server ?? []);
    const users = new Set(res.user ?? []);
    for (const [x, y] of [
      [fa, fb],
      [fb, fa],
    ]) {
      if (x.server) {
        for (const srv of x.server) {
          if (servers.has(srv)) continue;
          const owner = srv.split('/')[0];
          if (y.user?.has(owner)) servers.add(srv);
          else if (y.group && groupsOf) {
            const g = groupsOf(owner);
            if (g && [...g].some((n) => y.group!.has(n))) servers.add(srv);
          }
        }
      }
      if (x.user && y.group && groupsOf) {
        for (const u of x.user) {
          if (users.has(u)) continue;
          const g = groupsOf(u);
          if (g && [...g].some((n) => y.group!.has(n))) users.add(u);
        }
      }
    }
    if (servers.size) res.server = servers;
    if (users.size) res.user = users;
    if (Object.keys(res).length) common.set(base, res);
  }
  return unparseScopes(common);
}

export interface Resource {
  user?: string;
  /** `user/server` */
  server?: string;
  group?: string;
  service?: string;
  /** Groups of the user (or of the server's owner), if known. */
  groups?: Iterable<string>;
}

/**
 * Whether `parsed` grants `base` on `resource` (rbac.md §3 matching rules). With no
 * resource, only an unfiltered grant counts (or any grant when `postFilter`).
 */
export function hasScope(parsed: Parsed, base: string, resource?: Resource | null, groupsOf?: GroupsOf, postFilter = false): boolean {
  const f = parsed.get(base);
  if (!f) return false;
  if (f === ALL) return true;
  if (!resource || (!resource.user && !resource.server && !resource.group && !resource.service)) return postFilter;
  if (resource.server !== undefined) {
    if (f.server?.has(resource.server)) return true;
    const owner = resource.server.split('/')[0];
    if (f.user?.has(owner)) return true;
    return inGroups(f, owner, resource.groups, groupsOf);
  }
  if (resource.user !== undefined) {
    if (f.user?.has(resource.user)) return true;
    return inGroups(f, resource.user, resource.groups, groupsOf);
  }
  if (resource.group !== undefined) return !!f.group?.has(resource.group);
  if (resource.service !== undefined) return !!f.service?.has(resource.service);
  return false;
}

function inGroups(f: Filters, user: string, groups: Iterable<string> | undefined, groupsOf?: GroupsOf): boolean {
  if (!f.group) return false;
  const g = groups ?? groupsOf?.(user);
  if (!g) return false;
  for (const n of g) if (f.group.has(n)) return true;
  return false;
}

export function identifyScopes(owner: Owner): string[] {
  if (owner.kind === 'user') return [`read:users:name!user=${owner.name}`, `read:users:groups!user=${owner.name}`];
  if (owner.kind === 'service') return [`read:services:name!service=${owner.name}`];
  return [];
}

export function accessScopes(client: ClientTarget | null | undefined): string[] {
  if (!client) return [];
  if (client.server) return [`access:servers!server=${client.server}`];
  if (client.service) return [`access:services!service=${client.service}`];
  return [];
}
