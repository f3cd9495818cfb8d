/**
 * RBAC for the whole hub: resolves the scopes of users, services and tokens (rbac.md §5),
 * identifies requests (token, then login cookie with the API cookie rules of rest-api.md
 * §1.2) and provides the ONE authorization check every endpoint uses (`guard` /
 * `require`), plus helpers for list post-filtering and field (vertical) filtering.
 *
 *   hub.rbac.identify(req)                → RequestAuth {identity, scopes, parsed}
 *   hub.rbac.scopesFor(identity)          → expanded scopes (Set)
 *   hub.rbac.can(auth|scopes, base, res)  → boolean (async: may look up group membership)
 *   hub.rbac.guard({scopes, resource})    → Fastify preHandler
 *   hub.rbac.invalidate()                 → call after changing roles, groups, memberships or shares
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import type { ServiceRow, TokenRow, UserRow } from '../db/schema.js';
import { cookieUser, tokenIdentity, presentedToken, xsrfRequired, submittedXsrf, xsrfValid, type Identity } from '../hub/identity.js';
import { getLogger } from '../util/log.js';
import { ConfigError } from '../config/errors.js';
import {
  ScopeSet, accessScopes, hasScope, identifyScopes, intersectScopes, parseScopes, reduceScopes,
  type ClientTarget, type Owner, type Parsed, type Resource,
} from './scopes.js';
import { loadRoles } from './roles.js';
import { newUserValues } from './entities.js';

export * from './scopes.js';
export { defaultRoles, ADMIN_SCOPES } from './roles.js';

const log = getLogger('JupyterHub', 'rbac');

export interface RequestAuth {
  identity: Identity | null;
  /** Expanded scopes of the request credentials. */
  scopes: Set<string>;
  parsed: Parsed;
  /** Group memberships looked up during this request. */
  groupCache: Map<string, Set<string>>;
}

export interface GuardOptions {
  /** Base scopes, any of which grants access (after appending the path filter). */
  scopes: string[];
  /** The resource named by the path: {user}, {server: 'u/s'}, {group}, {service}. */
  resource?: (req: FastifyRequest) => Resource | null | undefined;
  /** Lists: accept filtered scopes, results are restricted later. */
  postFilter?: boolean;
}

interface RoleInfo {
  id: number;
  name: string;
  scopes: string[];
}

const AUTH = Symbol('jhubAuth');

export class Rbac {
  readonly scopeSet = new ScopeSet();
  private gen = 0;
  private rolesById = new Map<number, RoleInfo>();
  private rolesStale = true;
  private userCache = new Map<number, { gen: number; admin: boolean; all: Set<string>; forTokens: Set<string> }>();
  private serviceCache = new Map<number, { gen: number; all: Set<string> }>();
  private tokenCache = new Map<number, { gen: number; scopes: Set<string> }>();
  private clientCache = new Map<string, ClientTarget | null>();
  /** Parsed form of the (cached, shared) scope sets. */
  private parsedCache = new WeakMap<Set<string>, Parsed>();

  private parsedOf(scopes: Set<string>): Parsed {
    let p = this.parsedCache.get(scopes);
    if (!p) this.parsedCache.set(scopes, (p = parseScopes(scopes)));
    return p;
  }

  constructor(readonly hub: Hub) {}

  /** Forget cached role/group/share derived scopes. Call after any change to them. */
  invalidate(): void {
    this.gen++;
    this.rolesStale = true;
    this.userCache.clear();
    this.serviceCache.clear();
    this.tokenCache.clear();
    this.clientCache.clear();
  }

  async init(): Promise<void> {
    try {
      this.scopeSet.defineCustom(this.hub.config.get<Record<string, unknown>>('JupyterHub', 'custom_scopes') ?? {}, (m) => log.warn(m));
    } catch (e) {
      throw new ConfigError(`JupyterHub.custom_scopes: ${(e as Error).message}`);
    }
    const n = Object.keys(this.hub.config.get<Record<string, unknown>>('JupyterHub', 'custom_scopes') ?? {}).length;
    if (n) log.info(`Defining ${n} custom scopes.`);
    this.configRoleNames = await loadRoles(this.hub, this.scopeSet);
    this.invalidate();
  }

  /**
   * Names of the roles defined by load_roles and Authenticator.load_managed_roles(): a managed
   * role that loses its last member at login is deleted unless it is one of these.
   */
  configRoleNames = new Set<string>();

  /** Whether the authenticator manages roles: then a user's roles are exactly the stored ones. */
  private get authManagesRoles(): boolean {
    return !!(this.hub as { authenticator?: { manageRoles?: boolean } }).authenticator?.manageRoles;
  }

  private async roles(): Promise<Map<number, RoleInfo>> {
    if (this.rolesStale) {
      const rows = await this.hub.db.db.selectFrom('roles').select(['id', 'name', 'scopes']).execute();
      this.rolesById = new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, scopes: JSON.parse(r.scopes || '[]') as string[] }]));
      this.rolesStale = false;
    }
    return this.rolesById;
  }

  async roleByName(name: string): Promise<RoleInfo | undefined> {
    for (const r of (await this.roles()).values()) if (r.name === name) return r;
    return undefined;
  }

  private expandRoles(roleIds: Iterable<number>, roles: Map<number, RoleInfo>, owner: Owner): Set<string> {
    const raw: string[] = [];
    for (const id of roleIds) raw.push(...(roles.get(id)?.scopes ?? []));
    return new Set(this.scopeSet.expand(raw, owner));
  }

  /** Expanded scopes of a user: roles (own + groups') and shares (own + groups'). */
  async userScopes(user: Pick<UserRow, 'id' | 'name'> & { admin?: number | boolean }): Promise<{ all: Set<string>; forTokens: Set<string> }> {
    const db = this.hub.db.db;
    // Every user holds the default 'user' role, and 'admin' exactly when flagged admin
    // (JupyterHub's assign_default_roles), whichever module created or changed the user.
    const admin =
      user.admin === undefined ? !!(await db.selectFrom('users').select('admin').where('id', '=', user.id).executeTakeFirst())?.admin : !!user.admin;
    const hit = this.userCache.get(user.id);
    if (hit && hit.gen === this.gen && hit.admin === admin) return hit;
    const gen = this.gen;
    const roles = await this.roles();
    const managedRoles = this.authManagesRoles;
    const own = (await db.selectFrom('user_role_map').select('role_id').where('user_id', '=', user.id).execute()).filter(
      (r) => managedRoles || admin || roles.get(r.role_id)?.name !== 'admin',
    );
    // ...except a blocked user (Authenticator.blocked_users), who gets no default role at all,
    // and when the authenticator manages roles: it may strip the default roles (rbac.md §8.3),
    // so the stored assignments are exact (logins and user creation store the defaults).
    const blocked = (this.hub as { authenticator?: { blockedUsers?: Set<string> } }).authenticator?.blockedUsers?.has(user.name) ?? false;
    for (const name of blocked || managedRoles ? [] : admin ? ['user', 'admin'] : ['user']) {
      const role = await this.roleByName(name);
      if (role) own.push({ role_id: role.id });
    }
    const viaGroups = await db
      .selectFrom('group_role_map')
      .innerJoin('user_group_map', 'user_group_map.group_id', 'group_role_map.group_id')
      .select('group_role_map.role_id')
      .where('user_group_map.user_id', '=', user.id)
      .execute();
    const base = this.expandRoles(new Set([...own, ...viaGroups].map((r) => r.role_id)), roles, { kind: 'user', name: user.name });
    const shares = await db
      .selectFrom('shares')
      .select(['scopes', 'user_id'])
      .where((eb) => eb.or([eb('user_id', '=', user.id), eb('group_id', 'in', eb.selectFrom('user_group_map').select('group_id').where('user_id', '=', user.id))]))
      .execute();
    const forTokens = new Set(base);
    const all = new Set(base);
    for (const s of shares) {
      const exp = this.scopeSet.expand(JSON.parse(s.scopes || '[]') as string[], { kind: 'user', name: user.name });
      for (const x of exp) {
        all.add(x);
        if (s.user_id === user.id) forTokens.add(x);
      }
    }
    const r = { gen, admin, all: reduceScopes(all), forTokens: reduceScopes(forTokens) };
    if (gen === this.gen) this.userCache.set(user.id, r);
    return r;
  }

  async serviceScopes(service: Pick<ServiceRow, 'id' | 'name'>): Promise<Set<string>> {
    const hit = this.serviceCache.get(service.id);
    if (hit && hit.gen === this.gen) return hit.all;
    const gen = this.gen;
    const roles = await this.roles();
    const ids = await this.hub.db.db.selectFrom('service_role_map').select('role_id').where('service_id', '=', service.id).execute();
    const all = this.expandRoles(ids.map((r) => r.role_id), roles, { kind: 'service', name: service.name });
    if (gen === this.gen) this.serviceCache.set(service.id, { gen, all });
    return all;
  }

  /** Where a token's OAuth client points (a server or a service), or null for the hub. */
  async clientTarget(clientId: string): Promise<ClientTarget | null> {
    if (clientId === 'jupyterhub') return null;
    if (this.clientCache.has(clientId)) return this.clientCache.get(clientId)!;
    const db = this.hub.db.db;
    const c = await db.selectFrom('oauth_clients').select(['spawner_id', 'service_id']).where('identifier', '=', clientId).executeTakeFirst();
    let t: ClientTarget | null = {};
    if (c?.spawner_id != null) {
      const s = await db.selectFrom('spawners').innerJoin('users', 'users.id', 'spawners.user_id').select(['users.name as user', 'spawners.name as server']).where('spawners.id', '=', c.spawner_id).executeTakeFirst();
      if (s) t = { server: `${s.user}/${s.server}` };
    } else if (c?.service_id != null) {
      const s = await db.selectFrom('services').select('name').where('id', '=', c.service_id).executeTakeFirst();
      if (s) t = { service: s.name };
    } else if (clientId.startsWith('service-')) {
      t = { service: clientId.slice('service-'.length) };
    } else {
      const m = /^jupyterhub-user-(.+)$/.exec(clientId);
      if (m) {
        const [u, ...rest] = decodeURIComponent(m[1]).split('-');
        t = { server: `${u}/${rest.join('-')}` };
      }
    }
    this.clientCache.set(clientId, t);
    return t;
  }

  /** Group names of users (one query), for group-filter checks. */
  async groupsOfUsers(names: Iterable<string>, cache?: Map<string, Set<string>>): Promise<Map<string, Set<string>>> {
    const out = cache ?? new Map<string, Set<string>>();
    const need = [...new Set(names)].filter((n) => !out.has(n));
    if (!need.length) return out;
    for (const n of need) out.set(n, new Set());
    for (let i = 0; i < need.length; i += 500) {
      const rows = await this.hub.db.db
        .selectFrom('user_group_map')
        .innerJoin('users', 'users.id', 'user_group_map.user_id')
        .innerJoin('groups', 'groups.id', 'user_group_map.group_id')
        .select(['users.name as u', 'groups.name as g'])
        .where('users.name', 'in', need.slice(i, i + 500))
        .execute();
      for (const r of rows) out.get(r.u)!.add(r.g);
    }
    return out;
  }

  /** Effective scopes of a token (rbac.md §5.2). */
  async tokenScopes(token: TokenRow, owner: { user: UserRow | null; service: ServiceRow | null }): Promise<Set<string>> {
    const hit = this.tokenCache.get(token.id);
    if (hit && hit.gen === this.gen) return hit.scopes;
    const gen = this.gen;
    const ownerScopes = owner.user ? (await this.userScopes(owner.user)).forTokens : owner.service ? await this.serviceScopes(owner.service) : new Set<string>();
    const raw = JSON.parse(token.scopes || '[]') as string[];
    let result: Set<string>;
    if (raw.includes('inherit')) result = ownerScopes;
    else {
      const ownerRef: Owner = owner.user ? { kind: 'user', name: owner.user.name } : { kind: 'service', name: owner.service!.name };
      const client = await this.clientTarget(token.oauth_client_id);
      const ts = new Set(this.scopeSet.expand(raw, ownerRef, client));
      for (const s of accessScopes(client)) ts.add(s);
      for (const s of identifyScopes(ownerRef)) ts.add(s);
      const tokenScopes = reduceScopes(ts);
      const groups = await this.groupsForIntersection(tokenScopes, ownerScopes);
      result = intersectScopes(tokenScopes, ownerScopes, (u) => groups.get(u));
      const discarded = [...tokenScopes].filter((s) => !result.has(s));
      if (discarded.length) log.warn(`discarding scopes [${discarded.join(', ')}], not present in roles of owner ${ownerRef.kind} ${ownerRef.name}`);
    }
    if (gen === this.gen) {
      if (this.tokenCache.size > 100000) this.tokenCache.clear();
      this.tokenCache.set(token.id, { gen, scopes: result });
    }
    return result;
  }

  /** Group memberships needed to intersect two scope sets (only users named in user/server filters). */
  async groupsForIntersection(a: Set<string>, b: Set<string>): Promise<Map<string, Set<string>>> {
    const hasGroup = [...a, ...b].some((s) => s.includes('!group='));
    if (!hasGroup) return new Map();
    const names = new Set<string>();
    for (const s of [...a, ...b]) {
      const m = /!(user|server)=([^/]*)/.exec(s);
      if (m) names.add(m[2]);
    }
    return this.groupsOfUsers(names);
  }

  /** Expanded scopes of an identity (token → intersection; cookie → the user's scopes). */
  async scopesFor(identity: Identity | null): Promise<Set<string>> {
    if (!identity) return new Set();
    if (identity.token) return this.tokenScopes(identity.token, identity);
    if (identity.user) return (await this.userScopes(identity.user)).all;
    if (identity.service) return this.serviceScopes(identity.service);
    return new Set();
  }

  /**
   * Who is making this request, with their scopes; cached on the request. For API
   * requests, cookie authentication follows rest-api.md §1.2 (POST content type, XSRF).
   */
  async identify(req: FastifyRequest, opts: { api?: boolean } = {}): Promise<RequestAuth> {
    const r = req as unknown as Record<symbol, RequestAuth | undefined>;
    const cached = r[AUTH];
    if (cached) return cached;
    const hub = this.hub;
    const api = opts.api ?? hub.isApiRequest(req);
    let identity: Identity | null = null;
    const tok = presentedToken(req);
    if (tok) identity = await tokenIdentity(hub, tok);
    if (!identity) {
      let user = await cookieUser(hub, req);
      if (user && api && req.method === 'POST') {
        const ct = req.headers['content-type'];
        if (ct && !ct.toLowerCase().split(';').some((f) => f.trim().startsWith('application/json'))) {
          log.warn(`Not allowing POST with content-type: ${ct}`);
          user = null;
        }
      }
      if (api && xsrfRequired(req, !!user, true) && !xsrfValid(hub, req, user)) {
        const got = submittedXsrf(req);
        throw new HttpError(403, got ? 'XSRF cookie does not match POST argument' : `'_xsrf' argument missing from ${req.method}`);
      }
      if (user) identity = { kind: 'user', user, service: null, token: null, viaCookie: true };
    }
    const scopes = await this.scopesFor(identity);
    const auth: RequestAuth = { identity, scopes, parsed: this.parsedOf(scopes), groupCache: new Map() };
    if (identity) (req as unknown as { identityName?: string }).identityName = identity.user?.name ?? identity.service?.name;
    r[AUTH] = auth;
    return auth;
  }

  /** Replace the cached auth of a request (e.g. after `auth` in a token request body). */
  setAuth(req: FastifyRequest, auth: RequestAuth): void {
    (req as unknown as Record<symbol, RequestAuth | undefined>)[AUTH] = auth;
  }

  async authFor(identity: Identity | null): Promise<RequestAuth> {
    const scopes = await this.scopesFor(identity);
    return { identity, scopes, parsed: this.parsedOf(scopes), groupCache: new Map() };
  }

  /** Fill `resource.groups` when a group-filtered grant could decide. */
  private async withGroups(auth: RequestAuth, base: string, resource?: Resource | null): Promise<Resource | null | undefined> {
    if (!resource || resource.groups) return resource;
    const f = auth.parsed.get(base);
    if (!f || f === 'ALL' || !f.group) return resource;
    const user = resource.user ?? resource.server?.split('/')[0];
    if (user === undefined) return resource;
    const g = await this.groupsOfUsers([user], auth.groupCache);
    return { ...resource, groups: g.get(user) };
  }

  /** Whether the scopes grant `base` on `resource` (group filters resolved against the DB). */
  async can(x: RequestAuth | Set<string> | Iterable<string>, base: string, resource?: Resource | null, opts: { postFilter?: boolean } = {}): Promise<boolean> {
    const auth: RequestAuth = isAuth(x) ? x : { identity: null, scopes: new Set(x), parsed: parseScopes(x), groupCache: new Map() };
    const res = await this.withGroups(auth, base, resource);
    return hasScope(auth.parsed, base, res, undefined, opts.postFilter);
  }

  /** Synchronous check; group filters only match when `resource.groups` is given. */
  canSync(parsed: Parsed, base: string, resource?: Resource | null): boolean {
    return hasScope(parsed, base, resource);
  }

  /**
   * The authorization check of rest-api.md §3 / rbac.md §6.1: 403 without credentials,
   * 404 when only filtered grants exist that exclude the resource, 403 otherwise.
   */
  async require(req: FastifyRequest, scopes: string[], resource?: Resource | null, opts: { postFilter?: boolean } = {}): Promise<RequestAuth> {
    const auth = await this.identify(req);
    if (!auth.identity) throw new HttpError(403, 'Missing or invalid credentials.');
    for (const s of scopes) if (await this.can(auth, s, resource, opts)) return auth;
    const filter = resource && (resource.server !== undefined ? `server=${resource.server}` : resource.user !== undefined ? `user=${resource.user}` : resource.group !== undefined ? `group=${resource.group}` : resource.service !== undefined ? `service=${resource.service}` : '');
    log.warn(`Not authorizing access to ${req.url.split('?')[0]}. Requires any of [${scopes.join(', ')}] on ${filter || '*'}, not derived from scopes [${[...auth.scopes].join(', ')}]`);
    if (filter && scopes.some((s) => auth.parsed.has(s))) throw new HttpError(404, 'No access to resources or resources not found');
    throw new HttpError(403, `Action is not authorized with current scopes; requires any of [${scopes.join(', ')}]`);
  }

  /** Fastify preHandler applying `require` with the route's scopes and path resource. */
  guard(o: GuardOptions) {
    return async (req: FastifyRequest, _reply: FastifyReply) => {
      await this.require(req, o.scopes, o.resource?.(req) ?? null, { postFilter: o.postFilter });
    };
  }

  /**
   * Vertical filtering: keep the model keys granted by any scope in `accessMap` that applies
   * to `resource`. Returns the allowed key set too.
   */
  filterFields<T extends Record<string, unknown>>(auth: RequestAuth, model: T, accessMap: Record<string, string[]>, resource: Resource): { model: Partial<T>; keys: Set<string> } {
    const keys = new Set<string>();
    for (const [scope, fields] of Object.entries(accessMap)) if (hasScope(auth.parsed, scope, resource)) for (const f of fields) keys.add(f);
    const out: Partial<T> = {};
    for (const k of Object.keys(model)) if (keys.has(k)) (out as Record<string, unknown>)[k] = model[k];
    return { model: out, keys };
  }

  /** Give a user the default roles (user; admin when flagged, removed otherwise). */
  async assignDefaultRoles(user: Pick<UserRow, 'id' | 'admin'>, trx = this.hub.db.db): Promise<void> {
    const userRole = await this.roleByName('user');
    const adminRole = await this.roleByName('admin');
    let changed = 0;
    const n = (r: { numInsertedOrUpdatedRows?: bigint; numDeletedRows?: bigint } | undefined) => Number(r?.numInsertedOrUpdatedRows ?? r?.numDeletedRows ?? 0);
    if (userRole) changed += n(await trx.insertInto('user_role_map').values({ user_id: user.id, role_id: userRole.id }).onConflict((oc) => oc.doNothing()).executeTakeFirst());
    if (adminRole) {
      if (user.admin) changed += n(await trx.insertInto('user_role_map').values({ user_id: user.id, role_id: adminRole.id }).onConflict((oc) => oc.doNothing()).executeTakeFirst());
      else changed += n(await trx.deleteFrom('user_role_map').where('user_id', '=', user.id).where('role_id', '=', adminRole.id).executeTakeFirst());
    }
    if (changed) this.invalidate();
  }

  /** Create a user row with the default roles (for login/API/other modules). */
  async createUser(name: string, opts: { admin?: boolean } = {}): Promise<UserRow> {
    const row = await this.hub.db.db.insertInto('users').values(newUserValues(name, opts.admin)).returningAll().executeTakeFirstOrThrow();
    await this.assignDefaultRoles(row);
    return row;
  }
}

function isAuth(x: unknown): x is RequestAuth {
  return !!x && typeof x === 'object' && 'parsed' in (x as object) && 'scopes' in (x as object);
}

declare module '../hub/app.js' {
  interface Hub {
    rbac: Rbac;
  }
}

export const rbacModule: HubModule = {
  name: 'rbac',
  async init(hub) {
    // The authenticator exists before the roles are loaded: load_roles normalizes user names
    // with it, and with manage_roles its load_managed_roles() gives roles (JupyterHub order).
    const h = hub as unknown as { authenticator?: unknown };
    if (!h.authenticator) h.authenticator = (await import('../auth/index.js')).createAuthenticator(hub);
    hub.rbac = new Rbac(hub);
    await hub.rbac.init();
  },
};
