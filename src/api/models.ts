/**
 * REST API models (rest-api.md §6) with vertical filtering by the caller's scopes, built in
 * batches (a page of users costs a fixed number of queries, no N+1).
 */
import type { Hub } from '../hub/app.js';
import type { GroupRow, ServiceRow, SpawnerRow, TokenRow, UserRow } from '../db/schema.js';
import type { RequestAuth } from '../rbac/index.js';
import { hasScope } from '../rbac/scopes.js';
import { escapePath } from '../rbac/entities.js';
import type { ServerModel } from '../hub/servers.js';
import { prepared } from '../db/prepared.js';
import { sql } from 'kysely';

/** ISO 8601 as JupyterHub prints it: microseconds when non-zero, `Z`. */
export function isoformat(ts: string | null | undefined): string | null {
  if (!ts) return null;
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const s = d.toISOString();
  const ms = d.getUTCMilliseconds();
  return ms ? s.replace(/\.(\d{3})Z$/, '.$1000Z') : s.replace(/\.\d{3}Z$/, 'Z');
}

export interface UserBundle {
  row: UserRow;
  groups: string[];
  roles: string[];
  spawners: SpawnerRow[];
}

const groupsOfUser = prepared((db, id: number) =>
  db.selectFrom('user_group_map').innerJoin('groups', 'groups.id', 'user_group_map.group_id').select('groups.name as name').where('user_group_map.user_id', '=', id).orderBy('groups.id'),
);
const rolesOfUser = prepared((db, id: number) =>
  db.selectFrom('user_role_map').innerJoin('roles', 'roles.id', 'user_role_map.role_id').select('roles.name as name').where('user_role_map.user_id', '=', id).orderBy('roles.id'),
);
const spawnersOfUser = prepared((db, id: number) => db.selectFrom('spawners').selectAll().where('user_id', '=', id).orderBy('id'));

/**
 * SQLite: a user row with its group and role names (JSON arrays, in id order: SQLite aggregates
 * an ordered subquery in its order) and its number of servers, in one statement.
 */
const userWithNamesSqlite = prepared((db, name: string) =>
  db
    .selectFrom('users')
    .selectAll('users')
    .select([
      sql<string>`(select json_group_array(name) from (select g.name from user_group_map m join groups g on g.id = m.group_id where m.user_id = users.id order by g.id))`.as('_groups'),
      sql<string>`(select json_group_array(name) from (select r.name from user_role_map m join roles r on r.id = m.role_id where m.user_id = users.id order by r.id))`.as('_roles'),
      sql<number>`(select count(*) from spawners s where s.user_id = users.id)`.as('_servers'),
    ])
    .where('users.name', '=', name),
);

/** One user by name with groups, roles and servers (as `loadUserBundles`), or undefined. */
export async function loadUserBundleByName(hub: Hub, name: string): Promise<UserBundle | undefined> {
  const db = hub.db.db;
  if (hub.db.dialect !== 'sqlite') {
    const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? (await loadUserBundles(hub, [row]))[0] : undefined;
  }
  const r = (await userWithNamesSqlite(db, name))[0];
  if (!r) return undefined;
  const { _groups, _roles, _servers, ...row } = r;
  const spawners = _servers ? await spawnersOfUser(db, row.id) : [];
  return { row, groups: JSON.parse(_groups) as string[], roles: JSON.parse(_roles) as string[], spawners };
}

/** Groups, roles and servers of many users in three queries. */
export async function loadUserBundles(hub: Hub, rows: UserRow[]): Promise<UserBundle[]> {
  if (!rows.length) return [];
  const db = hub.db.db;
  const byId = new Map<number, UserBundle>(rows.map((r) => [r.id, { row: r, groups: [], roles: [], spawners: [] }]));
  const ids = rows.map((r) => r.id);
  if (ids.length === 1) {
    // one user (the common case of /users/:name, /user): statements compiled once
    const b = byId.get(ids[0])!;
    const [groups, roles, spawners] = await Promise.all([groupsOfUser(db, ids[0]), rolesOfUser(db, ids[0]), spawnersOfUser(db, ids[0])]);
    for (const g of groups) b.groups.push(g.name);
    for (const r of roles) b.roles.push(r.name);
    b.spawners.push(...spawners);
    return [b];
  }
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const [groups, roles, spawners] = await Promise.all([
      db.selectFrom('user_group_map').innerJoin('groups', 'groups.id', 'user_group_map.group_id').select(['user_group_map.user_id as uid', 'groups.name as name']).where('user_group_map.user_id', 'in', chunk).orderBy('groups.id').execute(),
      db.selectFrom('user_role_map').innerJoin('roles', 'roles.id', 'user_role_map.role_id').select(['user_role_map.user_id as uid', 'roles.name as name']).where('user_role_map.user_id', 'in', chunk).orderBy('roles.id').execute(),
      db.selectFrom('spawners').selectAll().where('user_id', 'in', chunk).orderBy('id').execute(),
    ]);
    for (const g of groups) byId.get(g.uid)!.groups.push(g.name);
    for (const r of roles) byId.get(r.uid)!.roles.push(r.name);
    for (const s of spawners) byId.get(s.user_id)!.spawners.push(s);
  }
  return rows.map((r) => byId.get(r.id)!);
}

export function userUrl(hub: Hub, name: string): string {
  return `${hub.baseUrl}user/${escapePath(name)}/`;
}

function safeJson(s: string | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export function pendingOf(hub: Hub, userId: number, server: string): 'spawn' | 'stop' | 'check' | null {
  return hub.servers?.pending ? hub.servers.pending(userId, server) : null;
}
export function readyOf(hub: Hub, userId: number, row: SpawnerRow): boolean {
  return hub.servers?.ready ? hub.servers.ready(userId, row.name) : row.url != null;
}
export function activeOf(hub: Hub, userId: number, row: SpawnerRow): boolean {
  return pendingOf(hub, userId, row.name) != null || readyOf(hub, userId, row);
}

/** Server model (§6.2); `state` only with admin:server_state on that server. */
export function serverModel(hub: Hub, auth: RequestAuth | null, user: UserRow, row: SpawnerRow, groups?: string[]): ServerModel {
  const full = `${user.name}/${row.name}`;
  const withState = !auth || hasScope(auth.parsed, 'admin:server_state', { server: full, groups });
  let m: ServerModel;
  if (hub.servers?.model) {
    m = { ...hub.servers.model(user, row, { includeState: withState }) };
  } else {
    const url = userUrl(hub, user.name) + (row.name ? escapePath(row.name) + '/' : '');
    const progress = `${hub.hubPrefix}api/users/${escapePath(user.name)}/${row.name ? `servers/${escapePath(row.name)}/` : 'server/'}progress`;
    const ready = readyOf(hub, user.id, row);
    const pending = pendingOf(hub, user.id, row.name);
    const pub = hub.publicUrl ? hub.publicUrl.replace(/\/+$/, '').replace(new RegExp(hub.baseUrl.replace(/\/$/, '') + '$'), '') : '';
    m = {
      name: row.name,
      full_name: full,
      last_activity: isoformat(row.last_activity),
      started: isoformat(row.started),
      pending,
      ready,
      stopped: !ready && !pending,
      url,
      user_options: safeJson(row.user_options) ?? {},
      progress_url: progress,
      full_url: pub ? pub + url : null,
      full_progress_url: pub ? pub + progress : null,
    };
    if (withState) m.state = safeJson(row.state) ?? {};
  }
  if (!withState) delete m.state;
  return m;
}

const USER_ACCESS: Record<string, string[]> = {
  'read:users': ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity'],
  'read:users:name': ['kind', 'name', 'admin'],
  'read:users:groups': ['kind', 'name', 'groups'],
  'read:users:activity': ['kind', 'name', 'last_activity'],
  'read:servers': ['kind', 'name', 'servers'],
  'read:roles:users': ['kind', 'name', 'roles', 'admin'],
  'admin:auth_state': ['kind', 'name', 'auth_state'],
};

/** User model (§6.1) filtered for the caller; null when nothing is visible. */
export function userModel(hub: Hub, auth: RequestAuth, b: UserBundle, opts: { includeStopped?: boolean } = {}): Record<string, unknown> | null {
  const u = b.row;
  const res = { user: u.name, groups: b.groups };
  const keys = new Set<string>();
  for (const [scope, fields] of Object.entries(USER_ACCESS)) if (hasScope(auth.parsed, scope, res)) for (const f of fields) keys.add(f);
  if (!keys.size) return null;
  const def = b.spawners.find((s) => s.name === '');
  const defReady = def ? readyOf(hub, u.id, def) : false;
  const full: Record<string, unknown> = {
    kind: 'user',
    name: u.name,
    admin: !!u.admin,
    roles: b.roles,
    groups: b.groups,
    server: defReady ? userUrl(hub, u.name) : null,
    pending: def ? pendingOf(hub, u.id, '') : null,
    created: isoformat(u.created),
    last_activity: isoformat(u.last_activity),
    auth_state: null,
  };
  const model: Record<string, unknown> = {};
  for (const k of Object.keys(full)) if (keys.has(k)) model[k] = full[k];
  const servers: Record<string, ServerModel> = {};
  for (const s of b.spawners) {
    if (!(opts.includeStopped || activeOf(hub, u.id, s))) continue;
    if (!hasScope(auth.parsed, 'read:servers', { server: `${u.name}/${s.name}`, groups: b.groups })) continue;
    servers[s.name] = serverModel(hub, auth, u, s, b.groups);
  }
  if (keys.has('servers') || Object.keys(servers).length) model.servers = servers;
  return model;
}

export function decryptAuthState(hub: Hub, u: UserRow): unknown {
  if (!u.encrypted_auth_state || !hub.crypt?.available) return null;
  try {
    return hub.crypt.decrypt(u.encrypted_auth_state);
  } catch {
    return null;
  }
}

export interface GroupBundle {
  row: GroupRow;
  users: string[];
  roles: string[];
}

export async function loadGroupBundles(hub: Hub, rows: GroupRow[]): Promise<GroupBundle[]> {
  if (!rows.length) return [];
  const db = hub.db.db;
  const byId = new Map<number, GroupBundle>(rows.map((r) => [r.id, { row: r, users: [], roles: [] }]));
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const users = await db.selectFrom('user_group_map').innerJoin('users', 'users.id', 'user_group_map.user_id').select(['user_group_map.group_id as gid', 'users.name as name']).where('user_group_map.group_id', 'in', chunk).orderBy('users.id').execute();
    const roles = await db.selectFrom('group_role_map').innerJoin('roles', 'roles.id', 'group_role_map.role_id').select(['group_role_map.group_id as gid', 'roles.name as name']).where('group_role_map.group_id', 'in', chunk).orderBy('roles.id').execute();
    for (const u of users) byId.get(u.gid)!.users.push(u.name);
    for (const r of roles) byId.get(r.gid)!.roles.push(r.name);
  }
  return rows.map((r) => byId.get(r.id)!);
}

const GROUP_ACCESS: Record<string, string[]> = {
  'read:groups': ['kind', 'name', 'properties', 'users'],
  'read:groups:name': ['kind', 'name'],
  'read:roles:groups': ['kind', 'name', 'roles'],
};

export function groupModel(auth: RequestAuth, b: GroupBundle): Record<string, unknown> | null {
  const full: Record<string, unknown> = { kind: 'group', name: b.row.name, roles: b.roles, users: b.users, properties: safeJson(b.row.properties) ?? {} };
  return filterByMap(auth, full, GROUP_ACCESS, { group: b.row.name });
}

function filterByMap(auth: RequestAuth, full: Record<string, unknown>, map: Record<string, string[]>, res: Record<string, string>): Record<string, unknown> | null {
  const keys = new Set<string>();
  for (const [scope, fields] of Object.entries(map)) if (hasScope(auth.parsed, scope, res)) for (const f of fields) keys.add(f);
  if (!keys.size) return null;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(full)) if (keys.has(k)) out[k] = full[k];
  return out;
}

/** What the services module provides through `hub.serviceModels()` (all but name optional). */
export interface ServiceInfo {
  name: string;
  admin?: boolean;
  url?: string;
  prefix?: string;
  command?: string[];
  pid?: number;
  info?: Record<string, unknown>;
  display?: boolean;
  roles?: string[];
}

const SERVICE_ACCESS: Record<string, string[]> = {
  'read:services': ['kind', 'name', 'admin', 'url', 'prefix', 'command', 'pid', 'info', 'display'],
  'read:services:name': ['kind', 'name', 'admin'],
  'read:roles:services': ['kind', 'name', 'roles', 'admin'],
};

/** All services: from `hub.serviceModels()` when the services module provides it, else the DB + config. */
export async function loadServices(hub: Hub): Promise<ServiceInfo[]> {
  const db = hub.db.db;
  const roleRows = await db.selectFrom('service_role_map').innerJoin('roles', 'roles.id', 'service_role_map.role_id').innerJoin('services', 'services.id', 'service_role_map.service_id').select(['services.name as s', 'roles.name as r']).orderBy('roles.id').execute();
  const roles = new Map<string, string[]>();
  for (const r of roleRows) (roles.get(r.s) ?? roles.set(r.s, []).get(r.s)!).push(r.r);
  const provider = (hub as unknown as { serviceModels?: () => ServiceInfo[] | Promise<ServiceInfo[]> }).serviceModels;
  let list: ServiceInfo[];
  if (typeof provider === 'function') list = await provider.call(hub);
  else {
    const cfg = new Map((hub.config.get<Record<string, unknown>[]>('JupyterHub', 'services') ?? []).map((s) => [String(s.name), s]));
    const rows: ServiceRow[] = await db.selectFrom('services').selectAll().orderBy('id').execute();
    list = rows.map((r) => {
      const c = cfg.get(r.name) ?? {};
      const url = r.url ?? (typeof c.url === 'string' ? c.url : '');
      return {
        name: r.name,
        admin: !!r.admin,
        url: url || '',
        prefix: url ? `${hub.baseUrl}services/${escapePath(r.name)}/` : '',
        command: Array.isArray(c.command) ? (c.command as string[]) : [],
        pid: Number((safeJson(r.state) ?? {}).pid ?? 0) || 0,
        info: (c.info as Record<string, unknown>) ?? {},
        display: c.display === undefined ? true : !!c.display,
      };
    });
  }
  return list.map((s) => ({ ...s, roles: s.roles ?? roles.get(s.name) ?? [] }));
}

export function serviceModel(auth: RequestAuth, s: ServiceInfo): Record<string, unknown> | null {
  const full: Record<string, unknown> = {
    kind: 'service',
    name: s.name,
    roles: s.roles ?? [],
    admin: !!s.admin,
    url: s.url ?? '',
    prefix: s.prefix ?? '',
    command: s.command ?? [],
    pid: s.pid ?? 0,
    info: s.info ?? {},
    display: s.display ?? true,
  };
  return filterByMap(auth, full, SERVICE_ACCESS, { service: s.name });
}

/** Token model (§6.3). */
export async function tokenModel(hub: Hub, t: TokenRow, owner: { user: UserRow | null; service: ServiceRow | null }, clientDescriptions?: Map<string, string>): Promise<Record<string, unknown>> {
  const scopes = await hub.rbac.tokenScopes(t, owner);
  let client = 'JupyterHub';
  if (t.oauth_client_id !== 'jupyterhub') {
    let d = clientDescriptions?.get(t.oauth_client_id);
    if (d === undefined) {
      const c = await hub.db.db.selectFrom('oauth_clients').select(['description', 'identifier']).where('identifier', '=', t.oauth_client_id).executeTakeFirst();
      d = c ? c.description || c.identifier : t.oauth_client_id;
      clientDescriptions?.set(t.oauth_client_id, d);
    }
    client = d;
  }
  const m: Record<string, unknown> = owner.user ? { user: owner.user.name } : { service: owner.service?.name };
  Object.assign(m, {
    id: `a${t.id}`,
    kind: 'api_token',
    roles: [],
    scopes: [...scopes],
    created: isoformat(t.created),
    last_activity: isoformat(t.last_activity),
    expires_at: isoformat(t.expires_at),
    note: t.note,
    session_id: t.session_id,
    oauth_client: client,
  });
  return m;
}
