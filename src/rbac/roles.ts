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

/** Validate load_roles and merge default roles; returns the roles to store, in order. */
export function validateRoles(hub: Hub, scopes: ScopeSet, loadRoles: unknown[]): { specs: RoleSpec[]; raw: Record<string, unknown>[] } {
  const defaults = new Map(defaultRoles().map((r) => [r.name, r]));
  const seen = new Set<string>();
  const out: RoleSpec[] = [];
  const raw: Record<string, unknown>[] = [];
  const manageRoles = hub.config.get<boolean>('Authenticator', 'manage_roles');
  for (const [i, r0] of (loadRoles ?? []).entries()) {
    if (!r0 || typeof r0 !== 'object' || Array.isArray(r0)) fail(`JupyterHub.load_roles[${i}] must be a dict, not ${JSON.stringify(r0)}`);
    const r = r0 as Record<string, unknown>;
    if (!('name' in r)) fail(`JupyterHub.load_roles[${i}]: Role definition must have a name`);
    const name = r.name;
    if (typeof name !== 'string' || !ROLE_NAME_RE.test(name))
      fail(
        `JupyterHub.load_roles: Invalid role name: ${JSON.stringify(name)}. Role names must be 3-255 characters, contain only lowercase ascii letters, numbers, and URL unreserved special characters '-.~_', start with a letter and end with a letter or number`,
      );
    if (seen.has(name)) fail(`Role ${name} multiply defined. Please check the \`load_roles\` configuration`);
    seen.add(name);
    for (const k of Object.keys(r)) if (!['name', 'description', 'scopes', 'users', 'groups', 'services'].includes(k)) log.warn(`Ignoring unknown key '${k}' in role ${name}`);
    if (manageRoles && (strList(r.users, 'users').length || strList(r.groups, 'groups').length))
      fail(`When authenticator manages roles, \`load_roles\` can not be used for assigning roles to users nor groups. Offending role: ${name}`);
    const def = defaults.get(name);
    if (name === 'admin') {
      for (const k of ['description', 'scopes'] as const)
        if (k in r && JSON.stringify(r[k]) !== JSON.stringify(def![k])) fail(`Cannot override admin role admin.${k} = ${JSON.stringify(r[k])}`);
    }
    const spec: RoleSpec = { ...(def ?? {}), name };
    if ('description' in r) {
      if (r.description !== null && typeof r.description !== 'string') fail(`Role ${name}: description must be a string`);
      spec.description = r.description as string | null;
    }
    if ('scopes' in r) spec.scopes = strList(r.scopes, `Role ${name}: scopes`);
    if ('users' in r) spec.users = strList(r.users, `Role ${name}: users`);
    if ('groups' in r) spec.groups = strList(r.groups, `Role ${name}: groups`);
    if ('services' in r) spec.services = strList(r.services, `Role ${name}: services`);
    if (name === 'user' && 'scopes' in r && !spec.scopes!.includes('self'))
      log.warn(`user role overridden with scopes=${JSON.stringify(spec.scopes)}, which does not include 'self', users may lack necessary permissions.`);
    if (!spec.scopes?.length) log.warn(`Role ${name} will have no scopes`);
    try {
      scopes.checkExist(spec.scopes ?? [], `role ${name}`);
    } catch (e) {
      if (e instanceof ScopeNotFound) fail(`JupyterHub.load_roles: ${e.message}`);
      throw e;
    }
    defaults.delete(name);
    out.push(spec);
    raw.push(r);
  }
  return { specs: [...defaults.values(), ...out], raw };
}

/** Create or update every role, delete stale ones, apply memberships and the admin flag. */
export async function loadRoles(hub: Hub, scopes: ScopeSet): Promise<void> {
  const db = hub.db.db;
  const cfgRoles = hub.config.get<unknown[]>('JupyterHub', 'load_roles') ?? [];
  const { specs, raw } = validateRoles(hub, scopes, cfgRoles);
  const configuredServices = new Set(
    (hub.config.get<Record<string, unknown>[]>('JupyterHub', 'services') ?? []).map((s) => String(s?.name ?? '')).filter(Boolean),
  );
  for (const r of raw) for (const s of strList(r.services, 'services')) if (!configuredServices.has(s)) fail(`Found undefined service ${s} in role ${String(r.name)}. Define it first in c.JupyterHub.services.`);

  const existing = await db.selectFrom('roles').selectAll().execute();
  const byName = new Map(existing.map((r) => [r.name, r]));
  const rbacUpgrade = existing.length === 0 && !!(await db.selectFrom('users').select('id').limit(1).executeTakeFirst());
  const names = new Set(specs.map((s) => s.name));
  await db.transaction().execute(async (trx) => {
    for (const role of existing) {
      if (!names.has(role.name) && !role.managed_by_auth) {
        log.warn(`Deleting role ${role.name}`);
        await trx.deleteFrom('roles').where('id', '=', role.id).execute();
      }
    }
    for (const spec of specs) {
      const old = byName.get(spec.name);
      const sc = JSON.stringify(spec.scopes ?? []);
      if (!old) {
        await trx.insertInto('roles').values({ name: spec.name, description: spec.description ?? null, scopes: sc, managed_by_auth: 0 }).execute();
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

  // Memberships (exact lists for listed kinds; omitted = empty, except users of 'user').
  const cfgByName = new Map(raw.map((r) => [String(r.name), r]));
  const adminSpec = cfgByName.get('admin');
  if (adminSpec && adminUsers.length) {
    log.info('Merging admin_users set with users list in admin role');
    adminSpec.users = [...new Set([...strList(adminSpec.users, 'users'), ...adminUsers])];
  }
  for (const [name, spec] of cfgByName) {
    const roleId = roleIds.get(name)!;
    if ('users' in spec || !(name === 'user')) {
      const ids: number[] = [];
      for (const n of strList(spec.users, 'users')) ids.push((await getUser(normalizeUsername(hub, n), `role: ${name}`)).id);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('user_role_map').where('role_id', '=', roleId).execute();
        for (const id of ids) await trx.insertInto('user_role_map').values({ user_id: id, role_id: roleId }).onConflict((oc) => oc.doNothing()).execute();
        if (name === 'admin' && 'users' in spec) {
          await trx.updateTable('users').set({ admin: 0 }).where('admin', '=', 1).execute();
          if (ids.length) await trx.updateTable('users').set({ admin: 1 }).where('id', 'in', ids).execute();
        }
      });
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
    await db.deleteFrom('group_role_map').where('role_id', '=', roleId).execute();
    for (const id of gids) await db.insertInto('group_role_map').values({ group_id: id, role_id: roleId }).onConflict((oc) => oc.doNothing()).execute();
    const sids: number[] = [];
    for (const s of strList(spec.services, 'services')) sids.push((await ensureService(hub, s)).id);
    await db.deleteFrom('service_role_map').where('role_id', '=', roleId).execute();
    for (const id of sids) await db.insertInto('service_role_map').values({ service_id: id, role_id: roleId }).onConflict((oc) => oc.doNothing()).execute();
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
