/**
 * Default roles and `JupyterHub.load_roles` (rbac.md §8): validation with clear start-up
 * errors, creation/update/deletion of roles, exact membership lists, admin flag sync,
 * `api_tokens` / `service_tokens`.
 */
import type { Hub } from '../hub/app.js';
import { ConfigError } from '../config/errors.js';
import { getLogger } from '../util/log.js';
import { createApiToken, findApiToken } from '../hub/tokens.js';
import { ScopeNotFound, type ScopeSet } from './scopes.js';
import { newUserValues, normalizeUsername, validateUsername } from './entities.js';

const log = getLogger('JupyterHub', 'rbac');

export interface RoleSpec {
  name: string;
  description?: string | null;
  scopes?: string[];
  users?: string[];
  groups?: string[];
  services?: string[];
}

export const ADMIN_SCOPES = [
  'admin-ui', 'admin:users', 'admin:servers', 'admin:services', 'tokens', 'admin:groups', 'list:services', 'read:services', 'read:hub', 'proxy',
  'shutdown', 'access:services', 'access:servers', 'read:roles', 'read:metrics', 'shares',
];

export function defaultRoles(): RoleSpec[] {
  return [
    { name: 'user', description: 'Standard user privileges', scopes: ['self'] },
    { name: 'admin', description: 'Elevated privileges (can do anything)', scopes: [...ADMIN_SCOPES] },
    { name: 'server', description: 'Post activity only', scopes: ['users:activity!user', 'access:servers!server'] },
    { name: 'token', description: 'Token with same permissions as its owner', scopes: ['inherit'] },
  ];
}

const ROLE_NAME_RE = /^[a-z][a-z0-9\-_~.]{1,253}[a-z0-9]$/;

function fail(msg: string): never {
  throw new ConfigError(msg);
}

function strList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  const arr = v instanceof Set ? [...v] : v;
  if (!Array.isArray(arr) || arr.some((x) => typeof x !== 'string')) fail(`${what} must be a list of strings, not ${JSON.stringify(v)}`);
  return arr as string[];
}

export function roleNameError(name: unknown): string | null {
  if (typeof name === 'string' && ROLE_NAME_RE.test(name)) return null;
  return `Invalid role name: ${JSON.stringify(name)}. Role names must be 3-255 characters, contain only lowercase ascii letters, numbers, and URL unreserved special characters '-.~_', start with a letter and end with a letter or number`;
}

/**
 * Why a role definition cannot be stored (name, admin override, unknown scopes), or null.
 * Used for load_roles, load_managed_roles() and roles in an auth model (login: 409).
 */
export function roleDefinitionError(scopes: ScopeSet, r: Record<string, unknown>): string | null {
  if (!('name' in r)) return 'Role definition must have a name';
  const nameErr = roleNameError(r.name);
  if (nameErr) return nameErr;
  const name = r.name as string;
  if (name === 'admin') {
    const def = defaultRoles().find((d) => d.name === 'admin')!;
    for (const k of ['description', 'scopes'] as const)
      if (k in r && JSON.stringify(r[k]) !== JSON.stringify(def[k])) return `Cannot override admin role admin.${k} = ${JSON.stringify(r[k])}`;
  }
  if ('description' in r && r.description !== null && typeof r.description !== 'string') return `Role ${name}: description must be a string`;
  for (const k of ['scopes', 'users', 'groups', 'services']) {
    const v = r[k] instanceof Set ? [...(r[k] as Set<unknown>)] : r[k];
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) return `Role ${name}: ${k} must be a list of strings, not ${JSON.stringify(v)}`;
  }
  try {
    scopes.checkExist(strList(r.scopes, 'scopes'), `role ${name}`);
  } catch (e) {
    if (e instanceof ScopeNotFound) return e.message;
    throw e;
  }
  return null;
}

/** A role definition from the configuration; `managed`: from Authenticator.load_managed_roles(). */
export interface ConfigRole {
  raw: Record<string, unknown>;
  managed: boolean;
}

/**
 * Validate load_roles (and the authenticator's managed roles) and merge default roles;
 * returns the roles to store, in order.
 */
export function validateRoles(
  hub: Hub,
  scopes: ScopeSet,
  loadRoles: unknown[],
  opts: { manageRoles?: boolean; managed?: unknown[] } = {},
): { specs: (RoleSpec & { managed: boolean })[]; raw: ConfigRole[] } {
  const defaults = new Map(defaultRoles().map((r) => [r.name, r]));
  const seen = new Set<string>();
  const out: (RoleSpec & { managed: boolean })[] = [];
  const raw: ConfigRole[] = [];
  const manageRoles = opts.manageRoles ?? hub.config.get<boolean>('Authenticator', 'manage_roles');
  if (manageRoles) {
    // JupyterHub: with manage_roles, load_roles may define roles but not hand them out
    const offending = (loadRoles ?? [])
      .filter((r) => r && typeof r === 'object' && !Array.isArray(r))
      .filter((r) => {
        const x = r as Record<string, unknown>;
        const n = (v: unknown) => (v instanceof Set ? v.size : Array.isArray(v) ? v.length : 0);
        return n(x.users) > 0 || n(x.groups) > 0;
      })
      .map((r) => String((r as Record<string, unknown>).name));
    if (offending.length)
      fail(
        `JupyterHub.load_roles can not assign roles to users or groups when the authenticator manages roles (Authenticator.manage_roles = True). ` +
          `Offending role${offending.length > 1 ? 's' : ''}: ${offending.join(', ')}. Let the authenticator assign roles (roles in the auth model, or load_managed_roles()) instead of listing users or groups in load_roles`,
      );
  }
  const entries: [unknown, boolean, string][] = [
    ...(loadRoles ?? []).map((r, i): [unknown, boolean, string] => [r, false, `JupyterHub.load_roles[${i}]`]),
    ...(opts.managed ?? []).map((r, i): [unknown, boolean, string] => [r, true, `Authenticator.load_managed_roles()[${i}]`]),
  ];
  for (const [r0, managed, where] of entries) {
    const what = managed ? 'Authenticator.load_managed_roles()' : 'JupyterHub.load_roles';
    if (!r0 || typeof r0 !== 'object' || Array.isArray(r0)) fail(`${where} must be a dict, not ${JSON.stringify(r0)}`);
    const r = r0 as Record<string, unknown>;
    if (!('name' in r)) fail(`${where}: Role definition must have a name`);
    const name = r.name;
    const nameErr = roleNameError(name);
    if (nameErr) fail(`${what}: ${nameErr}`);
    if (seen.has(name as string)) fail(`Role ${name as string} multiply defined. Please check the \`load_roles\` configuration${opts.managed?.length ? ' and Authenticator.load_managed_roles()' : ''}`);
    seen.add(name as string);
    for (const k of Object.keys(r)) if (!['name', 'description', 'scopes', 'users', 'groups', 'services'].includes(k)) log.warn(`Ignoring unknown key '${k}' in role ${name as string}`);
    const err = roleDefinitionError(scopes, r);
    if (err) fail(err.startsWith('Role ') || err.startsWith('Cannot') ? err : `${what}: ${err}`);
    const def = defaults.get(name as string);
    const spec: RoleSpec & { managed: boolean } = { ...(def ?? {}), name: name as string, managed };
    if ('description' in r) spec.description = r.description as string | null;
    if ('scopes' in r) spec.scopes = strList(r.scopes, `Role ${name as string}: scopes`);
    if ('users' in r) spec.users = strList(r.users, `Role ${name as string}: users`);
    if ('groups' in r) spec.groups = strList(r.groups, `Role ${name as string}: groups`);
    if ('services' in r) spec.services = strList(r.services, `Role ${name as string}: services`);
    if (name === 'user' && 'scopes' in r && !spec.scopes!.includes('self'))
      log.warn(`user role overridden with scopes=${JSON.stringify(spec.scopes)}, which does not include 'self', users may lack necessary permissions.`);
    if (!spec.scopes?.length) log.warn(`Role ${name as string} will have no scopes`);
    defaults.delete(name as string);
    out.push(spec);
    raw.push({ raw: r, managed });
  }
  return { specs: [...[...defaults.values()].map((d) => ({ ...d, managed: false })), ...out], raw };
}

/** What loadRoles uses of the authenticator (Authenticator.manage_roles). */
export interface ManagedRolesProvider {
  manageRoles: boolean;
  resetManagedRolesOnStartup: boolean;
  loadManagedRoles(): Promise<unknown>;
}

type MapTable = 'user_role_map' | 'group_role_map' | 'service_role_map';
const MAP_COLUMN = { user_role_map: 'user_id', group_role_map: 'group_id', service_role_map: 'service_id' } as const;

/**
 * Create or update every role, delete stale ones, apply memberships and the admin flag.
 * With Authenticator.manage_roles, the roles of `load_managed_roles()` are loaded too (marked
 * managed) and, with reset_managed_roles_on_startup, managed roles and managed assignments
 * that it no longer gives are removed. Returns the names of the roles defined by the
 * configuration (load_roles and load_managed_roles()): managed roles with these names are
 * kept when their last member loses them at login.
 */
export async function loadRoles(hub: Hub, scopes: ScopeSet): Promise<Set<string>> {
  const db = hub.db.db;
  const cfgRoles = hub.config.get<unknown[]>('JupyterHub', 'load_roles') ?? [];
  const auth = (hub as unknown as { authenticator?: Partial<ManagedRolesProvider> }).authenticator;
  const manageRoles = auth?.manageRoles ?? !!hub.config.get<boolean>('Authenticator', 'manage_roles');
  const reset = manageRoles && !!auth?.resetManagedRolesOnStartup;
  let managed: unknown[] = [];
  if (manageRoles && auth?.loadManagedRoles) {
    let got: unknown;
    try {
      got = await auth.loadManagedRoles();
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      fail(`Authenticator.load_managed_roles() failed: ${(e as Error).message}`);
    }
    if (got === null || got === undefined) got = [];
    if (!Array.isArray(got)) fail(`Authenticator.load_managed_roles() must return a list of role definitions (dicts), not ${JSON.stringify(got)}`);
    managed = got as unknown[];
    if (managed.length) log.info(`Loading ${managed.length} role(s) from Authenticator.load_managed_roles()`);
  }
  const { specs, raw } = validateRoles(hub, scopes, cfgRoles, { manageRoles, managed });
  const configuredServices = new Set(
    (hub.config.get<Record<string, unknown>[]>('JupyterHub', 'services') ?? []).map((s) => String(s?.name ?? '')).filter(Boolean),
  );
  for (const { raw: r } of raw)
    for (const s of strList(r.services, 'services')) if (!configuredServices.has(s)) fail(`Found undefined service ${s} in role ${String(r.name)}. Define it first in c.JupyterHub.services.`);

  const existing = await db.selectFrom('roles').selectAll().execute();
  const byName = new Map(existing.map((r) => [r.name, r]));
  const rbacUpgrade = existing.length === 0 && !!(await db.selectFrom('users').select('id').limit(1).executeTakeFirst());
  const plainNames = new Set(specs.filter((s) => !s.managed).map((s) => s.name));
  const managedNames = new Set(specs.filter((s) => s.managed).map((s) => s.name));
  await db.transaction().execute(async (trx) => {
    let staleManaged = 0;
    const defaultNames = new Set(defaultRoles().map((d) => d.name));
    for (const role of existing) {
      // default roles are never deleted (also when load_managed_roles() redefines one)
      if (defaultNames.has(role.name)) continue;
      if (!role.managed_by_auth && !plainNames.has(role.name)) {
        log.warn(`Deleting role ${role.name}`);
      } else if (reset && role.managed_by_auth && !managedNames.has(role.name)) {
        staleManaged++;
      } else continue;
      await trx.deleteFrom('roles').where('id', '=', role.id).execute();
      byName.delete(role.name);
    }
    if (staleManaged) log.info(`Deleted ${staleManaged} stale role(s) previously added by the authenticator`);
    for (const spec of specs) {
      const old = byName.get(spec.name);
      const sc = JSON.stringify(spec.scopes ?? []);
      if (!old) {
        await trx.insertInto('roles').values({ name: spec.name, description: spec.description ?? null, scopes: sc, managed_by_auth: spec.managed ? 1 : 0 }).execute();
        if (!defaultRoles().some((d) => d.name === spec.name)) log.info(`Role ${spec.name} added to database`);
      } else {
        const oldScopes = new Set<string>(JSON.parse(old.scopes || '[]'));
        if ((spec.scopes ?? []).some((s) => !oldScopes.has(s))) log.warn(`Role ${spec.name} has obtained extra permissions`);
        if (old.scopes !== sc || old.description !== (spec.description ?? null))
          await trx.updateTable('roles').set({ scopes: sc, description: spec.description ?? null }).where('id', '=', old.id).execute();
      }
    }
  });
  const roleIds = new Map((await db.selectFrom('roles').select(['id', 'name']).execute()).map((r) => [r.name, r.id]));
  const userRoleId = roleIds.get('user')!;
  const adminRoleId = roleIds.get('admin')!;

  const getUser = async (name: string, hint: string) => {
    let u = await db.selectFrom('users').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (!u) {
      if (!validateUsername(hub, name)) fail(`Invalid user name ${JSON.stringify(name)} (${hint})`);
      log.info(`Creating user ${name} found in ${hint}`);
      const r = await db.insertInto('users').values(newUserValues(name)).returning(['id', 'name']).executeTakeFirstOrThrow();
      await db.insertInto('user_role_map').values({ user_id: r.id, role_id: userRoleId }).onConflict((oc) => oc.doNothing()).execute();
      u = r;
    }
    return u;
  };

  // Users from the authenticator's admin_users / allowed_users exist at startup.
  const adminUsers = [...(hub.config.get<string[]>('Authenticator', 'admin_users') ?? [])].map((n) => normalizeUsername(hub, n));
  const allowedUsers = [...(hub.config.get<string[]>('Authenticator', 'allowed_users') ?? [])].map((n) => normalizeUsername(hub, n));
  for (const n of adminUsers) {
    const u = await getUser(n, 'Authenticator.admin_users');
    await db.updateTable('users').set({ admin: 1 }).where('id', '=', u.id).execute();
  }
  for (const n of allowedUsers) await getUser(n, 'Authenticator.allowed_users');

  // api_tokens / service_tokens (deprecated, still used).
  const trusted = hub.config.get<boolean>('JupyterHub', 'trust_user_provided_tokens');
  for (const [token, name0] of Object.entries(hub.config.get<Record<string, string>>('JupyterHub', 'api_tokens') ?? {})) {
    const name = normalizeUsername(hub, String(name0));
    if (!validateUsername(hub, name)) fail(`Token user name ${JSON.stringify(name)} is not valid`);
    const found = await findApiToken(db, token);
    if (found) continue;
    const u = await getUser(name, 'JupyterHub.api_tokens');
    log.info(`Adding API token for user: ${name}`);
    await createApiToken(db, { userId: u.id, token, trusted, note: 'from config' });
  }
  for (const [token, name] of Object.entries(hub.config.get<Record<string, string>>('JupyterHub', 'service_tokens') ?? {})) {
    if (!configuredServices.has(name)) log.warn(`service ${name} not in services, creating implicitly. It is recommended to register services using services list.`);
    const found = await findApiToken(db, token);
    if (found) continue;
    const s = await ensureService(hub, name);
    log.info(`Adding API token for service: ${name}`);
    await createApiToken(db, { serviceId: s.id, token, trusted, note: 'from config' });
  }

  // Memberships (exact lists for listed kinds; omitted = empty, except users of 'user' and of
  // managed roles). Assignments from load_managed_roles() are marked managed; with
  // reset_managed_roles_on_startup, managed assignments it does not confirm are removed.
  const stale = new Set<string>();
  const key = (t: MapTable, entity: number, role: number) => `${t}:${entity}:${role}`;
  if (reset) {
    for (const t of Object.keys(MAP_COLUMN) as MapTable[]) {
      const col = MAP_COLUMN[t];
      const rows = (await db.selectFrom(t).select([`${col} as e` as never, 'role_id']).where('managed_by_auth', '=', 1).execute()) as unknown as { e: number; role_id: number }[];
      for (const r of rows) stale.add(key(t, r.e, r.role_id));
    }
  }
  /** Make `role`'s members of one kind exactly `ids` (managed: mark them and keep them from the reset). */
  const setMembers = async (t: MapTable, roleId: number, ids: number[], isManaged: boolean) => {
    const col = MAP_COLUMN[t];
    await db.transaction().execute(async (trx) => {
      let del = trx.deleteFrom(t).where('role_id', '=', roleId);
      if (ids.length) del = del.where(col as never, 'not in', ids as never);
      await del.execute();
      for (const id of ids)
        await trx
          .insertInto(t)
          .values({ [col]: id, role_id: roleId, managed_by_auth: isManaged ? 1 : 0 } as never)
          .onConflict((oc) => (isManaged ? oc.columns([col, 'role_id'] as never).doUpdateSet({ managed_by_auth: 1 } as never) : oc.doNothing()))
          .execute();
    });
    if (isManaged) for (const id of ids) stale.delete(key(t, id, roleId));
  };
  const adminSpec = raw.find((r) => r.raw.name === 'admin')?.raw;
  if (adminSpec && adminUsers.length) {
    log.info('Merging admin_users set with users list in admin role');
    adminSpec.users = [...new Set([...strList(adminSpec.users, 'users'), ...adminUsers])];
  }
  for (const { raw: spec, managed: isManaged } of raw) {
    const name = String(spec.name);
    const roleId = roleIds.get(name)!;
    if ('users' in spec) {
      const ids: number[] = [];
      for (const n of strList(spec.users, 'users')) ids.push((await getUser(normalizeUsername(hub, n), `role: ${name}`)).id);
      await setMembers('user_role_map', roleId, [...new Set(ids)], isManaged);
      if (name === 'admin') {
        let unflag = db.updateTable('users').set({ admin: 0 }).where('admin', '=', 1);
        if (ids.length) unflag = unflag.where('id', 'not in', ids);
        await unflag.execute();
        if (ids.length) await db.updateTable('users').set({ admin: 1 }).where('id', 'in', ids).execute();
      }
    } else if (isManaged) {
      // a managed role without `users` keeps its user assignments (also through a reset)
      const rows = await db.selectFrom('user_role_map').select('user_id').where('role_id', '=', roleId).execute();
      for (const r of rows) stale.delete(key('user_role_map', r.user_id, roleId));
    } else if (name !== 'user') {
      await setMembers('user_role_map', roleId, [], false);
    }
    const gids: number[] = [];
    for (const g of strList(spec.groups, 'groups')) {
      let row = await db.selectFrom('groups').select('id').where('name', '=', g).executeTakeFirst();
      if (!row) {
        log.info(`Creating group ${g} found in role: ${name}`);
        row = await db.insertInto('groups').values({ name: g, properties: '{}' }).returning('id').executeTakeFirstOrThrow();
      }
      gids.push(row.id);
    }
    await setMembers('group_role_map', roleId, [...new Set(gids)], isManaged);
    const sids: number[] = [];
    for (const s of strList(spec.services, 'services')) sids.push((await ensureService(hub, s)).id);
    await setMembers('service_role_map', roleId, [...new Set(sids)], isManaged);
  }
  if (reset && stale.size) {
    const counts: Record<string, number> = {};
    for (const k of stale) {
      const [t, e, r] = k.split(':') as [MapTable, string, string];
      await db
        .deleteFrom(t)
        .where(MAP_COLUMN[t] as never, '=', Number(e) as never)
        .where('role_id', '=', Number(r))
        .execute();
      counts[t] = (counts[t] ?? 0) + 1;
    }
    for (const [t, n] of Object.entries(counts)) log.info(`Deleted ${n} stale ${t.split('_')[0]} role assignment(s) previously added by the authenticator`);
  }

  if (allowedUsers.length) {
    const ids = (await db.selectFrom('users').select('id').where('name', 'in', allowedUsers).execute()).map((r) => r.id);
    for (const id of ids) await db.insertInto('user_role_map').values({ user_id: id, role_id: userRoleId }).onConflict((oc) => oc.doNothing()).execute();
  }
  if (rbacUpgrade) {
    log.info('Assigning default roles to all users (database without roles)');
    const users = await db.selectFrom('users').select(['id', 'admin']).execute();
    for (const u of users) {
      await db.insertInto('user_role_map').values({ user_id: u.id, role_id: userRoleId }).onConflict((oc) => oc.doNothing()).execute();
      if (u.admin) await db.insertInto('user_role_map').values({ user_id: u.id, role_id: adminRoleId }).onConflict((oc) => oc.doNothing()).execute();
    }
  }
  // Admin flag sync: in admin role → admin; admin flag but not in role → add (unless the list is explicit).
  const adminMembers = (await db.selectFrom('user_role_map').select('user_id').where('role_id', '=', adminRoleId).execute()).map((r) => r.user_id);
  if (adminMembers.length) await db.updateTable('users').set({ admin: 1 }).where('id', 'in', adminMembers).where('admin', '=', 0).execute();
  if (!(adminSpec && 'users' in adminSpec)) {
    const flagged = await db.selectFrom('users').select('id').where('admin', '=', 1).execute();
    for (const u of flagged) await db.insertInto('user_role_map').values({ user_id: u.id, role_id: adminRoleId }).onConflict((oc) => oc.doNothing()).execute();
  }
  if (!(adminSpec && 'services' in adminSpec)) {
    const flagged = await db.selectFrom('services').select('id').where('admin', '=', 1).execute();
    for (const s of flagged) await db.insertInto('service_role_map').values({ service_id: s.id, role_id: adminRoleId }).onConflict((oc) => oc.doNothing()).execute();
  }
  // Admin flags from service definitions.
  for (const s of hub.config.get<Record<string, unknown>[]>('JupyterHub', 'services') ?? []) {
    if (s && s.admin === true && typeof s.name === 'string') {
      const row = await ensureService(hub, s.name);
      await db.insertInto('service_role_map').values({ service_id: row.id, role_id: adminRoleId }).onConflict((oc) => oc.doNothing()).execute();
    }
  }
  return new Set(raw.map((r) => String(r.raw.name)));
}

/** The services row of a service, created (from config) if missing. */
export async function ensureService(hub: Hub, name: string): Promise<{ id: number }> {
  const db = hub.db.db;
  const row = await db.selectFrom('services').select('id').where('name', '=', name).executeTakeFirst();
  if (row) return row;
  const def = (hub.config.get<Record<string, unknown>[]>('JupyterHub', 'services') ?? []).find((s) => s?.name === name);
  return db
    .insertInto('services')
    .values({ name, admin: def?.admin === true ? 1 : 0, url: typeof def?.url === 'string' ? def.url : null, oauth_client_id: null, state: '{}', from_config: 1 })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('id')
    .executeTakeFirst()
    .then(async (r) => r ?? (await db.selectFrom('services').select('id').where('name', '=', name).executeTakeFirstOrThrow()));
}
