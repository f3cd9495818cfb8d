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
import { HttpError } from '../hub/app.js';
import { roleDefinitionError } from '../rbac/roles.js';

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
  const wanted = new Set(names.map(String));
  const current = await db
    .selectFrom('user_group_map')
    .innerJoin('groups', 'groups.id', 'user_group_map.group_id')
    .select(['groups.id as id', 'groups.name as name'])
    .where('user_group_map.user_id', '=', user.id)
    .execute();
  const have = new Set(current.map((g) => g.name));
  const added = [...wanted].filter((n) => !have.has(n));
  const removed = current.filter((g) => !wanted.has(g.name));
  if (!added.length && !removed.length) return;
  if (added.length) log.info(`Adding user ${user.name} to group(s): ${added.join(', ')}`);
  if (removed.length) log.info(`Removing user ${user.name} from group(s): ${removed.map((g) => g.name).join(', ')}`);
  for (const n of added) await db.insertInto('user_group_map').values({ user_id: user.id, group_id: await groupId(hub, n) }).onConflict((oc) => oc.doNothing()).execute();
  if (removed.length)
    await db
      .deleteFrom('user_group_map')
      .where('user_id', '=', user.id)
      .where('group_id', 'in', removed.map((g) => g.id))
      .execute();
  hub.rbac?.invalidate();
}

/** An HTTP error raised while applying an auth model (the login fails with this status). */
class AuthModelError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * manage_roles (rbac.md §8.3, JupyterHub's User.sync_roles): every role in `roles` is created
 * (marked managed_by_auth) or updated (description and scopes, when given), its `users`,
 * `groups` and `services` lists (when given) become its members; the user's direct roles
 * become exactly these names: new ones are granted as managed assignments, all others
 * (default roles included) are removed. A managed role left without any member that
 * the configuration does not define is deleted. An invalid role definition → 409 and
 * nothing is changed.
 */
export async function syncRoles(hub: Hub, user: UserRow, roles: unknown): Promise<void> {
  const db = hub.db.db;
  if (!Array.isArray(roles)) throw new AuthModelError(409, `roles in the auth model must be a list of role definitions, not ${JSON.stringify(roles)}`);
  const byName = new Map<string, Record<string, unknown>>();
  for (const r of roles) {
    const spec = typeof r === 'string' ? { name: r } : r;
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new AuthModelError(409, `Role definition must be a dict, not ${JSON.stringify(r)}`);
    const err = roleDefinitionError(hub.rbac.scopeSet, spec as Record<string, unknown>);
    if (err) throw new AuthModelError(409, err);
    byName.set((spec as { name: string }).name, spec as Record<string, unknown>);
  }
  const current = await db
    .selectFrom('user_role_map')
    .innerJoin('roles', 'roles.id', 'user_role_map.role_id')
    .select(['roles.id as id', 'roles.name as name'])
    .where('user_role_map.user_id', '=', user.id)
    .execute();
  const currentNames = new Set(current.map((r) => r.name));
  const granted = [...byName.keys()].filter((n) => !currentNames.has(n));
  const stripped = current.filter((r) => !byName.has(r.name));
  if (granted.length) log.info(`Granting user ${user.name} role(s): ${granted.join(', ')}`);
  if (stripped.length) log.info(`Stripping user ${user.name} role(s): ${stripped.map((r) => r.name).join(', ')}`);
  const asList = (v: unknown): string[] => (v instanceof Set ? [...v] : (v as string[])).map(String);
  // logins that change nothing keep the RBAC caches
  let changed = granted.length > 0 || stripped.length > 0;
  await db.transaction().execute(async (trx) => {
    for (const [name, spec] of byName) {
      let role = await trx.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
      if (!role) {
        log.info(`Creating new role ${name}`);
        changed = true;
        if (!(Array.isArray(spec.scopes) && spec.scopes.length)) log.warn(`Role ${name} will have no scopes`);
        role = await trx
          .insertInto('roles')
          .values({ name, description: (spec.description as string | null | undefined) ?? null, scopes: JSON.stringify(spec.scopes ? asList(spec.scopes) : []), managed_by_auth: 1 })
          .returningAll()
          .executeTakeFirstOrThrow();
      } else {
        // only what the definition gives (and differs from the "empty" default) is changed
        const upd: { description?: string; scopes?: string } = {};
        if (typeof spec.description === 'string' && spec.description !== role.description) upd.description = spec.description;
        const sc = spec.scopes ? asList(spec.scopes) : [];
        if (sc.length && JSON.stringify(sc) !== role.scopes) upd.scopes = JSON.stringify(sc);
        if (Object.keys(upd).length) {
          log.info(`Role ${name}: ${Object.keys(upd).join(' and ')} changed by the authenticator`);
          changed = true;
          await trx.updateTable('roles').set(upd).where('id', '=', role.id).execute();
        }
      }
      const members = async (key: 'users' | 'groups' | 'services', table: 'users' | 'groups' | 'services') => {
        if (!(key in spec) || spec[key] === null || spec[key] === undefined) return null;
        const names = [...new Set(asList(spec[key]))];
        const rows = names.length ? await trx.selectFrom(table).select(['id', 'name']).where('name', 'in', names).execute() : [];
        const missing = names.filter((n) => !rows.some((r) => r.name === n));
        if (missing.length) log.warn(`Could not assign the role ${name} to ${key}: ${missing.join(', ')} not found in the database`);
        changed = true;
        return rows.map((r) => r.id);
      };
      const userIds = await members('users', 'users');
      if (userIds) {
        // the logging-in user keeps the role: the list in the auth model is theirs
        const ids = [...new Set([...userIds, user.id])];
        await trx.deleteFrom('user_role_map').where('role_id', '=', role.id).where('user_id', 'not in', ids).execute();
        for (const id of ids) await trx.insertInto('user_role_map').values({ user_id: id, role_id: role.id }).onConflict((oc) => oc.doNothing()).execute();
      }
      const groupIds = await members('groups', 'groups');
      if (groupIds) {
        let del = trx.deleteFrom('group_role_map').where('role_id', '=', role.id);
        if (groupIds.length) del = del.where('group_id', 'not in', groupIds);
        await del.execute();
        for (const id of groupIds) await trx.insertInto('group_role_map').values({ group_id: id, role_id: role.id }).onConflict((oc) => oc.doNothing()).execute();
      }
      const serviceIds = await members('services', 'services');
      if (serviceIds) {
        let del = trx.deleteFrom('service_role_map').where('role_id', '=', role.id);
        if (serviceIds.length) del = del.where('service_id', 'not in', serviceIds);
        await del.execute();
        for (const id of serviceIds) await trx.insertInto('service_role_map').values({ service_id: id, role_id: role.id }).onConflict((oc) => oc.doNothing()).execute();
      }
      if (granted.includes(name))
        await trx
          .insertInto('user_role_map')
          .values({ user_id: user.id, role_id: role.id, managed_by_auth: 1 })
          .onConflict((oc) => oc.columns(['user_id', 'role_id']).doUpdateSet({ managed_by_auth: 1 }))
          .execute();
    }
    if (stripped.length)
      await trx
        .deleteFrom('user_role_map')
        .where('user_id', '=', user.id)
        .where('role_id', 'in', stripped.map((r) => r.id))
        .execute();
    // managed roles nobody holds any more (and the configuration does not define) go away
    const keep = hub.rbac?.configRoleNames ?? new Set<string>();
    for (const r of stripped) {
      if (keep.has(r.name)) continue;
      const row = await trx.selectFrom('roles').select('managed_by_auth').where('id', '=', r.id).executeTakeFirst();
      if (!row?.managed_by_auth) continue;
      const used =
        (await trx.selectFrom('user_role_map').select('user_id').where('role_id', '=', r.id).limit(1).executeTakeFirst()) ||
        (await trx.selectFrom('group_role_map').select('group_id').where('role_id', '=', r.id).limit(1).executeTakeFirst()) ||
        (await trx.selectFrom('service_role_map').select('service_id').where('role_id', '=', r.id).limit(1).executeTakeFirst());
      if (used) continue;
      log.info(`Deleting role ${r.name}: managed by the authenticator and no longer held by anyone`);
      await trx.deleteFrom('roles').where('id', '=', r.id).execute();
    }
  });
  if (changed) hub.rbac?.invalidate();
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
    hub.rbac?.invalidate(); // the admin flag itself decides scopes (and cached token scopes)
  } else if (auth.manageRoles) {
    // JupyterHub grants the default roles at every login; with manage_roles the sync below
    // removes them again unless the authenticator lists them
    await hub.rbac?.assignDefaultRoles(user);
  }
  if (auth.manageGroups) {
    if (!('groups' in model))
      throw new Error(`Authenticator.manage_groups is enabled, but auth_model for ${model.name} specifies no groups. Does ${auth.cls} support manage_groups=True?`);
    const groups = model.groups as unknown;
    if (groups !== null && groups !== undefined) {
      const list = groups instanceof Set ? [...groups] : groups;
      if (!Array.isArray(list) || list.some((g) => typeof g !== 'string'))
        throw new Error(`groups in the auth model for ${model.name} must be a list of group names, not ${JSON.stringify(groups)}`);
      await syncGroups(hub, user, list as string[]);
    }
  }
  if (auth.manageRoles && model.roles !== null && model.roles !== undefined) {
    try {
      await syncRoles(hub, user, model.roles);
    } catch (e) {
      if (e instanceof AuthModelError) {
        log.error(`Roles of ${model.name} from the authenticator not applied: ${e.message}`);
        throw new HttpError(e.status, e.message);
      }
      throw e;
    }
  }
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
 * JupyterHub.init_groups (config.md §3, `load_groups`): create the groups, add the listed
 * users (created if missing; membership is only ever added) and replace the properties when
 * given. The legacy form `{"group": ["user", ...]}` is accepted with a warning. Refused
 * with manage_groups (the authenticator owns the memberships).
 */
export async function initGroups(hub: Hub): Promise<void> {
  const auth = hub.authenticator;
  const cfg = hub.config.get<Record<string, unknown>>('JupyterHub', 'load_groups') ?? {};
  const entries = Object.entries(cfg);
  if (!entries.length) return;
  if (auth.manageGroups)
    throw new ConfigError(
      `JupyterHub.load_groups can not be used when the authenticator manages groups (${auth.cls}.manage_groups = True): ` +
        `group memberships come from the authenticator (groups: ${entries.map(([n]) => n).join(', ')})`,
    );
  const db = hub.db.db;
  for (const [name, raw] of entries) {
    let contents = raw;
    if (Array.isArray(contents) || contents instanceof Set) {
      log.warn(`JupyterHub.load_groups['${name}']: the form 'group': [usernames] is deprecated (JupyterHub 3.2), use 'group': {'users': [usernames], ...}`);
      contents = { users: [...contents] };
    }
    if (!contents || typeof contents !== 'object' || Array.isArray(contents))
      throw new ConfigError(`JupyterHub.load_groups['${name}'] must be a dict like {"users": [...], "properties": {...}}, not ${JSON.stringify(raw)}`);
    const c = contents as Record<string, unknown>;
    for (const k of Object.keys(c)) if (k !== 'users' && k !== 'properties') log.warn(`JupyterHub.load_groups['${name}']: ignoring unknown key '${k}'`);
    log.debug(`Loading group ${name}`);
    const gid = await groupId(hub, name);
    if ('users' in c) {
      const users = c.users instanceof Set ? [...c.users] : c.users;
      if (!Array.isArray(users) || users.some((u) => typeof u !== 'string'))
        throw new ConfigError(`JupyterHub.load_groups['${name}'].users must be a list of user names, not ${JSON.stringify(c.users)}`);
      for (const u0 of users as string[]) {
        const uname = auth.normalizeUsername(u0);
        let user = await findUser(hub, uname);
        if (!user) {
          if (!auth.validateUsername(uname)) throw new ConfigError(`JupyterHub.load_groups['${name}']: username '${uname}' is not valid`);
          log.info(`Creating user ${uname} found in group: ${name}`);
          user = await createUserRow(hub, uname, false);
          await auth.addUser(user);
        }
        const r = await db.insertInto('user_group_map').values({ user_id: user.id, group_id: gid }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0)) log.debug(`Adding user ${uname} to group ${name}`);
      }
    }
    if ('properties' in c) {
      const props = c.properties;
      if (!props || typeof props !== 'object' || Array.isArray(props))
        throw new ConfigError(`JupyterHub.load_groups['${name}'].properties must be a dict, not ${JSON.stringify(props)}`);
      const json = JSON.stringify(props);
      const row = await db.selectFrom('groups').select('properties').where('id', '=', gid).executeTakeFirst();
      if (row?.properties !== json) {
        log.debug(`Setting properties of group ${name}: ${json}`);
        await db.updateTable('groups').set({ properties: json }).where('id', '=', gid).execute();
      }
    }
  }
  hub.rbac?.invalidate();
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
