/**
 * The database side of authentication: creating users, applying an auth model
 * (JupyterHub's BaseHandler.auth_to_user: admin flag, managed groups and roles,
 * auth_state), and the start-up user loading (JupyterHub.init_users).
 */
import { ConfigError } from '../config/errors.js';
import type { Hub } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import { nowIso } from '../db/schema.js';
import { newToken } from '../util/crypto.js';
import { getLogger } from '../util/log.js';
import type { AuthModel } from './base.js';

const log = getLogger('JupyterHub', 'auth');

export async function findUser(hub: Hub, name: string): Promise<UserRow | null> {
  return (await hub.db.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst()) ?? null;
}

/** Insert a user row (no authenticator hooks). */
export async function createUserRow(hub: Hub, name: string, admin = false): Promise<UserRow> {
  if (hub.rbac) return hub.rbac.createUser(name, { admin });
  await hub.db.db
    .insertInto('users')
    .values({ name, admin: admin ? 1 : 0, created: nowIso(), last_activity: null, cookie_id: newToken(), encrypted_auth_state: null })
    .execute();
  return (await findUser(hub, name))!;
}

async function groupId(hub: Hub, name: string): Promise<number> {
  const db = hub.db.db;
  let g = await db.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirst();
  if (!g) {
    log.info(`Creating group ${name}`);
    await db.insertInto('groups').values({ name, properties: '{}' }).execute();
    g = await db.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  }
  return g.id;
}

/** Make the user's groups exactly `names` (manage_groups), creating missing groups. */
export async function syncGroups(hub: Hub, user: UserRow, names: string[]): Promise<void> {
  const db = hub.db.db;
  const want = new Set<number>();
  for (const n of new Set(names.map(String))) want.add(await groupId(hub, n));
  const have = new Set((await db.selectFrom('user_group_map').select('group_id').where('user_id', '=', user.id).execute()).map((r) => r.group_id));
  for (const id of want) if (!have.has(id)) await db.insertInto('user_group_map').values({ user_id: user.id, group_id: id }).execute();
  for (const id of have) if (!want.has(id)) await db.deleteFrom('user_group_map').where('user_id', '=', user.id).where('group_id', '=', id).execute();
}

/**
 * Make the user's authenticator-managed roles exactly `roles` (manage_roles): roles are
 * created if missing (marked managed_by_auth); roles not managed by the authenticator are
 * left alone.
 */
export async function syncRoles(hub: Hub, user: UserRow, roles: NonNullable<AuthModel['roles']>): Promise<void> {
  const db = hub.db.db;
  const want = new Set<number>();
  for (const r of roles) {
    const spec = typeof r === 'string' ? { name: r } : r;
    let row = await db.selectFrom('roles').select(['id']).where('name', '=', spec.name).executeTakeFirst();
    if (!row) {
      await db
        .insertInto('roles')
        .values({ name: spec.name, description: spec.description ?? null, scopes: JSON.stringify(spec.scopes ?? []), managed_by_auth: 1 })
        .execute();
      row = await db.selectFrom('roles').select(['id']).where('name', '=', spec.name).executeTakeFirstOrThrow();
    }
    want.add(row.id);
  }
  const have = await db
    .selectFrom('user_role_map')
    .innerJoin('roles', 'roles.id', 'user_role_map.role_id')
    .select(['roles.id as id', 'roles.managed_by_auth as managed'])
    .where('user_role_map.user_id', '=', user.id)
    .execute();
  const haveIds = new Set(have.map((h) => h.id));
  for (const id of want) if (!haveIds.has(id)) await db.insertInto('user_role_map').values({ user_id: user.id, role_id: id }).execute();
  for (const h of have) if (h.managed && !want.has(h.id)) await db.deleteFrom('user_role_map').where('user_id', '=', user.id).where('role_id', '=', h.id).execute();
}

/**
 * Persist an auth model (after login or refresh): create the user if new (and call
 * authenticator.addUser), set admin when the model says so, sync managed groups/roles,
 * and always (re)write auth_state (null unless enable_auth_state).
 */
export async function applyAuthModel(hub: Hub, model: AuthModel, existing?: UserRow | null): Promise<UserRow> {
  const auth = hub.authenticator;
  const db = hub.db.db;
  if (existing && existing.name !== model.name) throw new Error(`Username doesn't match! ${model.name} != ${existing.name}`);
  let user = existing ?? (await findUser(hub, model.name));
  if (!user) {
    user = await createUserRow(hub, model.name, false);
    try {
      await auth.addUser(user);
    } catch (e) {
      await db.deleteFrom('users').where('id', '=', user.id).execute();
      throw e;
    }
  }
  if (model.admin !== null && model.admin !== undefined && !!model.admin !== !!user.admin) {
    await db.updateTable('users').set({ admin: model.admin ? 1 : 0 }).where('id', '=', user.id).execute();
    user = { ...user, admin: model.admin ? 1 : 0 };
    await hub.rbac?.assignDefaultRoles(user);
  }
  if (auth.manageGroups) {
    if (!('groups' in model))
      throw new Error(`Authenticator.manage_groups is enabled, but auth_model for ${model.name} specifies no groups. Does ${auth.cls} support manage_groups=True?`);
    if (model.groups) await syncGroups(hub, user, model.groups);
  }
  if (auth.manageRoles && model.roles) await syncRoles(hub, user, model.roles);
  // auth_state is only written when the model carries it (a refresh may omit it)
  if (!auth.enableAuthState) {
    if (user.encrypted_auth_state) await auth.setAuthState(user, null);
  } else if ('auth_state' in model) {
    await auth.setAuthState(user, model.auth_state ?? null);
  }
  return (await findUser(hub, user.name))!;
}

/**
 * JupyterHub.init_users: normalize admin_users and allowed_users (lower-case, username_map),
 * create them in the database (admins flagged), merge admins into a non-empty allowed set,
 * then call addUser for every user in the database (allow_existing_users, system users),
 * deleting the ones that fail when delete_invalid_users is set.
 */
export async function initUsers(hub: Hub): Promise<void> {
  const auth = hub.authenticator;
  const db = hub.db.db;
  let adminNames = [...auth.cfgSet('admin_users')];
  if (!adminNames.length) {
    const legacy = hub.config.get<string[]>('JupyterHub', 'admin_users') ?? [];
    if (legacy.length) {
      log.warn('JupyterHub.admin_users is deprecated since version 0.7.2. Use Authenticator.admin_users instead.');
      adminNames = [...legacy];
    }
  }
  const admins = adminNames.map((n) => auth.normalizeUsername(String(n)));
  for (const n of admins) if (!auth.validateUsername(n)) throw new ConfigError(`username '${n}' is not valid (Authenticator.admin_users)`);
  auth.adminUsers = new Set(admins);
  for (const name of admins) {
    const u = await findUser(hub, name);
    if (!u) {
      log.info(`Creating admin user ${name} found in Authenticator.admin_users`);
      await createUserRow(hub, name, true);
    } else if (!u.admin) {
      await db.updateTable('users').set({ admin: 1 }).where('id', '=', u.id).execute();
      await hub.rbac?.assignDefaultRoles({ id: u.id, admin: 1 });
    }
  }
  const allowed = [...auth.cfgSet('allowed_users')].map((n) => auth.normalizeUsername(String(n)));
  for (const n of allowed) if (!auth.validateUsername(n)) throw new ConfigError(`username '${n}' is not valid (Authenticator.allowed_users)`);
  const short = allowed.filter((n) => n.length <= 1).sort();
  if (short.length) log.warn(`Allowed set contains single-character names: ${JSON.stringify(short.slice(0, 8))}; did you mean set(['${short.join('')}']) instead of set('${short.join('')}')?`);
  auth.allowedUsers = new Set(allowed);
  if (auth.allowedUsers.size && auth.adminUsers.size) for (const a of auth.adminUsers) auth.allowedUsers.add(a);
  for (const name of allowed) {
    if (!(await findUser(hub, name))) {
      log.info(`Creating user ${name} found in Authenticator.allowed_users`);
      await createUserRow(hub, name, false);
    }
  }
  const deleteInvalid = !!auth.cfg<boolean>('delete_invalid_users');
  for (const user of await db.selectFrom('users').selectAll().execute()) {
    if (auth.blockedUsers.has(user.name)) continue;
    try {
      await auth.addUser(user);
    } catch (e) {
      log.error(`Error adding user ${user.name} already in db: ${(e as Error).message}`);
      if (deleteInvalid) {
        log.warn(`Deleting invalid user ${user.name} from the Hub database`);
        await db.deleteFrom('users').where('id', '=', user.id).execute();
      } else {
        log.warn('You can set c.Authenticator.delete_invalid_users = True to automatically delete users from the Hub database that no longer pass Authenticator validation.');
      }
    }
  }
}

/**
 * JupyterHub.init_blocked_users (run at start-up, after roles and api_tokens are loaded):
 * users in Authenticator.blocked_users who exist in the database lose the admin flag, their
 * roles and their group memberships, exactly as in JupyterHub 5. JupyterHub leaves the
 * tokens in place because a user without roles has no scopes; jhub grants every user the
 * default 'user' role implicitly, so to keep already-issued credentials from reaching the
 * API the user's API/OAuth tokens and pending OAuth codes are deleted too, and the user's
 * cookie_id is rotated (existing login cookies stop working).
 */
export async function initBlockedUsers(hub: Hub): Promise<void> {
  const blocked = [...hub.authenticator.blockedUsers];
  if (!blocked.length) return;
  const db = hub.db.db;
  const users = await db.selectFrom('users').selectAll().where('name', 'in', blocked).execute();
  for (const user of users) {
    log.debug(`Found blocked user in database: ${user.name}`);
    await db.transaction().execute(async (trx) => {
      if (user.admin) log.warn(`Removing admin permissions from blocked user ${user.name}`);
      const roles = await trx
        .selectFrom('user_role_map')
        .innerJoin('roles', 'roles.id', 'user_role_map.role_id')
        .select('roles.name as name')
        .where('user_role_map.user_id', '=', user.id)
        .execute();
      if (roles.length) log.warn(`Removing blocked user ${user.name} from roles: ${roles.map((r) => r.name).join(', ')}`);
      await trx.deleteFrom('user_role_map').where('user_id', '=', user.id).execute();
      const groups = await trx
        .selectFrom('user_group_map')
        .innerJoin('groups', 'groups.id', 'user_group_map.group_id')
        .select('groups.name as name')
        .where('user_group_map.user_id', '=', user.id)
        .execute();
      if (groups.length) log.warn(`Removing blocked user ${user.name} from groups: ${groups.map((g) => g.name).join(', ')}`);
      await trx.deleteFrom('user_group_map').where('user_id', '=', user.id).execute();
      const r = await trx.deleteFrom('api_tokens').where('user_id', '=', user.id).executeTakeFirst();
      const n = Number(r.numDeletedRows ?? 0);
      if (n) log.warn(`Revoking ${n} API/OAuth token(s) of blocked user ${user.name}`);
      await trx.deleteFrom('oauth_codes').where('user_id', '=', user.id).execute();
      await trx.updateTable('users').set({ admin: 0, cookie_id: newToken() }).where('id', '=', user.id).execute();
    });
  }
  hub.rbac?.invalidate();
}
