/** `/users`, `/users/:name`, `/user`, tokens, activity, server start/stop/progress (rest-api.md §8.4–8.13). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { HttpError, type Hub } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import { createApiToken, findApiToken } from '../hub/tokens.js';
import { getLogger } from '../util/log.js';
import { ALL, ScopeNotFound, identifyScopes, intersectScopes, parseScopes, type Resource } from '../rbac/scopes.js';
import { authenticatorOf, newUserValues, normalizeUsername, validateUsername } from '../rbac/entities.js';
import { activeOf, decryptAuthState, isoformat, loadUserBundleByName, loadUserBundles, serviceModel, loadServices, tokenModel, userModel, readyOf } from './models.js';
import { USER_MODEL_TYPES, arg, boolArg, checkModel, isDict, jsonBody, pagination, paginated, acceptsPagination, sendEmpty, sendJson, pyRepr } from './util.js';
import { metrics } from '../metrics/index.js';
import { prepared } from '../db/prepared.js';

const log = getLogger('JupyterHub', 'api');

type P = Record<string, string>;
const params = (req: FastifyRequest) => req.params as P;
const userRes = (req: FastifyRequest): Resource => ({ user: params(req).name });
const serverRes = (req: FastifyRequest): Resource => ({ server: `${params(req).name}/${params(req).server ?? ''}` });

const userByName = prepared((db, name: string) => db.selectFrom('users').selectAll().where('name', '=', name));

export async function findUser(hub: Hub, name: string): Promise<UserRow | undefined> {
  return (await userByName(hub.db.db, name))[0];
}

async function userOr404(hub: Hub, name: string, msg?: string): Promise<UserRow> {
  const u = await findUser(hub, name);
  if (!u) throw new HttpError(404, msg ?? 'Not Found');
  return u;
}

function callerIsAdmin(auth: { identity: { user: UserRow | null; service: { admin: number } | null } | null }): boolean {
  const id = auth.identity;
  return !!(id?.user?.admin || id?.service?.admin);
}

/** Parse an activity timestamp (naive = UTC); 400 when invalid or > 59 min in the future. */
export function parseTimestamp(v: unknown): string {
  let d: Date | null = null;
  if (typeof v === 'string' && v.trim()) {
    let s = v.trim();
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += 'Z';
    s = s.replace(/(\.\d{3})\d+/, '$1');
    const t = Date.parse(s);
    if (!Number.isNaN(t)) d = new Date(t);
  }
  if (!d) throw new HttpError(400, `Not a valid timestamp: ${pyRepr(v)}`);
  if (d.getTime() - Date.now() > 59 * 60 * 1000) throw new HttpError(400, `Rejecting activity from more than an hour in the future: ${isoformat(d.toISOString())}`);
  return d.toISOString();
}

export function registerUserRoutes(app: FastifyInstance, hub: Hub, api: string): void {
  const rbac = hub.rbac;
  const db = () => hub.db.db;

  // ---- GET /user
  app.get(`${api}/user`, async (req, reply) => {
    const auth = await rbac.identify(req);
    const id = auth.identity;
    if (!id) throw new HttpError(403, 'Forbidden');
    const owner = id.user ? { kind: 'user' as const, name: id.user.name } : { kind: 'service' as const, name: id.service!.name };
    const added = identifyScopes(owner).filter((s) => !auth.scopes.has(s));
    const scopes = new Set([...auth.scopes, ...added]);
    const viewAuth = { ...auth, scopes, parsed: parseScopes(scopes) };
    let model: Record<string, unknown>;
    if (id.user) {
      const [b] = await loadUserBundles(hub, [id.user]);
      model = userModel(hub, viewAuth, b) ?? {};
    } else {
      const s = (await loadServices(hub)).find((x) => x.name === id.service!.name) ?? { name: id.service!.name, admin: !!id.service!.admin };
      model = serviceModel(viewAuth, s) ?? {};
    }
    model.token_id = id.token ? `a${id.token.id}` : null;
    model.session_id = id.token ? id.token.session_id : null;
    model.scopes = [...auth.scopes].sort();
    return sendJson(reply, 200, model);
  });

  // ---- GET /users
  app.get(`${api}/users`, { preHandler: rbac.guard({ scopes: ['list:users'], postFilter: true }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const state = arg(req, 'state');
    const nameFilter = arg(req, 'name_filter');
    const sortParam = arg(req, 'sort') ?? 'id';
    const desc = sortParam.startsWith('-');
    const sort = desc ? sortParam.slice(1) : sortParam;
    const { offset, limit } = pagination(hub, req);
    if (!['id', 'name', 'last_activity'].includes(sort)) throw new HttpError(400, `sort must be 'id', 'name', or 'last_activity', not '${sortParam}'`);
    if (state !== undefined && state !== '' && !['active', 'ready', 'inactive'].includes(state)) throw new HttpError(400, `Unrecognized state filter: ${pyRepr(state)}`);
    const sub = auth.parsed.get('list:users');
    let q = db().selectFrom('users');
    if (state === 'active' || state === 'ready') q = q.where('id', 'in', (eb) => eb.selectFrom('spawners').select('user_id').where('url', 'is not', null));
    else if (state === 'inactive') q = q.where('id', 'not in', (eb) => eb.selectFrom('spawners').select('user_id').where('url', 'is not', null));
    if (sub && sub !== ALL) {
      const kinds = Object.keys(sub);
      if (!kinds.every((k) => k === 'user' || k === 'group')) {
        log.warn(`Invalid filter on list:user for ${auth.identity?.user?.name ?? auth.identity?.service?.name}: ${kinds.join(',')}`);
        throw new HttpError(403, 'Forbidden');
      }
      const users = [...(sub.user ?? [])];
      const groups = [...(sub.group ?? [])];
      q = q.where((eb) =>
        eb.or([
          ...(users.length ? [eb('name', 'in', users)] : []),
          ...(groups.length
            ? [eb('id', 'in', eb.selectFrom('user_group_map').innerJoin('groups', 'groups.id', 'user_group_map.group_id').select('user_group_map.user_id').where('groups.name', 'in', groups))]
            : []),
        ]),
      );
    }
    if (nameFilter) {
      const pat = '%' + nameFilter.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
      q = q.where(sql<boolean>`lower(name) like ${pat} escape '\\'`);
    }
    const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const total = Number(totalRow?.n ?? 0);
    const col = sql.ref(sort);
    let page = q.selectAll();
    page = desc ? page.orderBy(sql`${col} is null`).orderBy(sort as 'id', 'desc') : page.orderBy(sql`${col} is not null`).orderBy(sort as 'id', 'asc');
    let rows = await page.orderBy('id').limit(limit).offset(offset).execute();
    const bundles = await loadUserBundles(hub, rows);
    const includeStopped = boolArg(req, 'include_stopped_servers');
    const items: Record<string, unknown>[] = [];
    for (const b of bundles) {
      if (state === 'ready' && !b.spawners.some((s) => readyOf(hub, b.row.id, s))) continue;
      const m = userModel(hub, auth, b, { includeStopped });
      if (m) items.push(m);
    }
    rows = [];
    if (acceptsPagination(req)) return sendJson(reply, 200, paginated(req, items, offset, limit, total));
    if (offset === 0 && total > limit) log.warn(`Truncated user list in request that does not expect pagination. Processing ${Math.min(limit, total)} of ${total} total users.`);
    return sendJson(reply, 200, items);
  });

  // ---- POST /users (batch, one transaction)
  app.post(`${api}/users`, { preHandler: rbac.guard({ scopes: ['admin:users'] }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const data = jsonBody(req);
    if (!isDict(data) || !data.usernames || (Array.isArray(data.usernames) && !data.usernames.length)) throw new HttpError(400, 'Must specify at least one user to create');
    const { usernames, ...rest } = data;
    if (!Array.isArray(usernames) || usernames.some((n) => typeof n !== 'string')) throw new HttpError(400, 'usernames must be a list of strings');
    checkModel(rest, USER_MODEL_TYPES, 'user');
    const admin = rest.admin === true;
    if (admin && !callerIsAdmin(auth)) throw new HttpError(403, 'Only admins can grant admin permissions');
    const invalid: string[] = [];
    const wanted: string[] = [];
    const seen = new Set<string>();
    for (const n0 of usernames as string[]) {
      const n = normalizeUsername(hub, n0);
      if (!validateUsername(hub, n)) invalid.push(n);
      else if (!seen.has(n)) {
        seen.add(n);
        wanted.push(n);
      }
    }
    if (invalid.length) throw new HttpError(400, invalid.length === 1 ? `Invalid username: ${invalid[0]}` : `Invalid usernames: ${invalid.join(', ')}`);
    const existing = new Set<string>();
    for (let i = 0; i < wanted.length; i += 500) {
      for (const r of await db().selectFrom('users').select('name').where('name', 'in', wanted.slice(i, i + 500)).execute()) existing.add(r.name);
    }
    for (const n of existing) log.warn(`User ${n} already exists`);
    const toCreate = wanted.filter((n) => !existing.has(n));
    if (!toCreate.length) throw new HttpError(409, `All ${usernames.length} users already exist`);
    const userRole = await rbac.roleByName('user');
    const adminRole = await rbac.roleByName('admin');
    const created: UserRow[] = [];
    await db().transaction().execute(async (trx) => {
      for (let i = 0; i < toCreate.length; i += 400) {
        const rows = await trx.insertInto('users').values(toCreate.slice(i, i + 400).map((n) => newUserValues(n, admin))).returningAll().execute();
        created.push(...rows);
        const maps = rows.flatMap((r) => [...(userRole ? [{ user_id: r.id, role_id: userRole.id }] : []), ...(admin && adminRole ? [{ user_id: r.id, role_id: adminRole.id }] : [])]);
        if (maps.length) await trx.insertInto('user_role_map').values(maps).execute();
      }
    });
    rbac.invalidate();
    const authn = authenticatorOf(hub);
    if (authn?.addUser) {
      for (const u of created) {
        try {
          await authn.addUser(u);
        } catch (e) {
          log.error(`Failed to create user: ${u.name}: ${(e as Error).message}`);
          await db().deleteFrom('users').where('id', '=', u.id).execute();
          throw new HttpError(400, `Failed to create user ${u.name}: ${(e as Error).message}`);
        }
      }
    }
    metrics.totalUsers.inc(created.length);
    log.info(`Created ${created.length} users${admin ? ' (admin)' : ''}`);
    const bundles = await loadUserBundles(hub, created);
    return sendJson(reply, 201, bundles.map((b) => userModel(hub, auth, b)).filter(Boolean));
  });

  // ---- /users/:name
  const readUserScopes = ['read:users', 'read:users:name', 'read:servers', 'read:users:groups', 'read:users:activity', 'read:roles:users'];
  app.get(`${api}/users/:name`, { preHandler: rbac.guard({ scopes: readUserScopes, resource: userRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const b = await loadUserBundleByName(hub, params(req).name);
    if (!b) throw new HttpError(404, 'Not Found');
    const u = b.row;
    const m = userModel(hub, auth, b, { includeStopped: boolArg(req, 'include_stopped_servers') }) ?? {};
    if ('auth_state' in m) m.auth_state = decryptAuthState(hub, u);
    return sendJson(reply, 200, m);
  });

  app.post(`${api}/users/:name`, { preHandler: rbac.guard({ scopes: ['admin:users'], resource: userRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const name = params(req).name;
    const data = jsonBody(req);
    if (await findUser(hub, name)) throw new HttpError(409, `User ${name} already exists`);
    if (data) {
      checkModel(data, USER_MODEL_TYPES, 'user');
      if ((data as Record<string, unknown>).admin === true && !callerIsAdmin(auth)) throw new HttpError(403, 'Only admins can grant admin permissions');
    }
    if (!validateUsername(hub, name)) throw new HttpError(400, `Failed to create user: ${name}`);
    const admin = isDict(data) && data.admin === true;
    const u = await rbac.createUser(name, { admin });
    try {
      await authenticatorOf(hub)?.addUser?.(u);
    } catch (e) {
      log.error(`Failed to create user: ${name}: ${(e as Error).message}`);
      await db().deleteFrom('users').where('id', '=', u.id).execute();
      rbac.invalidate();
      throw new HttpError(400, `Failed to create user: ${name}`);
    }
    metrics.totalUsers.inc();
    const [b] = await loadUserBundles(hub, [u]);
    return sendJson(reply, 201, userModel(hub, auth, b));
  });

  app.patch(`${api}/users/:name`, { preHandler: rbac.guard({ scopes: ['admin:users'], resource: userRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const name = params(req).name;
    const u = await userOr404(hub, name);
    const data = checkModel(jsonBody(req), USER_MODEL_TYPES, 'user');
    let newName: string | null = null;
    if ('name' in data && data.name !== name) {
      newName = normalizeUsername(hub, data.name as string);
      if (!validateUsername(hub, newName)) throw new HttpError(400, `Invalid username: ${newName}`);
      if (await findUser(hub, newName)) throw new HttpError(400, `User ${newName} already exists, username must be unique`);
    }
    if (!callerIsAdmin(auth)) {
      if (u.admin) throw new HttpError(403, 'Only admins can modify other admins');
      if (data.admin === true) throw new HttpError(403, 'Only admins can grant admin permissions');
    }
    const who = auth.identity?.user?.name ?? auth.identity?.service?.name;
    const set: Partial<UserRow> = {};
    for (const [k, v] of Object.entries(data)) {
      log.info(`${who} setting ${k}=${k === 'auth_state' ? '...' : pyRepr(k === 'name' ? newName ?? v : v)} for ${u.name}`);
      if (k === 'name' && newName) set.name = newName;
      else if (k === 'admin') set.admin = v ? 1 : 0;
      else if (k === 'auth_state') {
        if (hub.crypt?.available) set.encrypted_auth_state = hub.crypt.encrypt(v);
        else log.warn('Encryption is not available (JUPYTERHUB_CRYPT_KEY): not saving auth_state');
      }
    }
    if (Object.keys(set).length) await db().updateTable('users').set(set).where('id', '=', u.id).execute();
    const row = (await findUser(hub, newName ?? name))!;
    if ('admin' in data) await rbac.assignDefaultRoles(row);
    rbac.invalidate();
    const [b] = await loadUserBundles(hub, [row]);
    const m = userModel(hub, auth, b) ?? {};
    m.auth_state = decryptAuthState(hub, row);
    return sendJson(reply, 200, m);
  });

  app.delete(`${api}/users/:name`, { preHandler: rbac.guard({ scopes: ['delete:users'], resource: userRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const name = params(req).name;
    const u = await userOr404(hub, name);
    if (name === (auth.identity?.user?.name ?? auth.identity?.service?.name)) throw new HttpError(400, 'Cannot delete yourself!');
    const stopping = () => hub.servers?.pending?.(u.id, '') === 'stop';
    if (stopping()) throw new HttpError(400, `${name}'s server is in the process of stopping, please wait.`);
    if (hub.servers?.stopAll) {
      const spawners = await db().selectFrom('spawners').selectAll().where('user_id', '=', u.id).execute();
      if (spawners.some((s) => activeOf(hub, u.id, s))) {
        await hub.servers.stopAll(u);
        if (stopping()) throw new HttpError(400, `${name}'s server is in the process of stopping, please wait.`);
      }
    }
    await authenticatorOf(hub)?.deleteUser?.(u);
    await db().deleteFrom('users').where('id', '=', u.id).execute();
    rbac.invalidate();
    metrics.totalUsers.dec();
    log.info(`Deleted user ${name}`);
    return reply.status(204).send();
  });

  // ---- activity
  app.post(`${api}/users/:name/activity`, { preHandler: rbac.guard({ scopes: ['users:activity'], resource: userRes }) }, async (req, reply) => {
    const name = params(req).name;
    const u = await findUser(hub, name);
    if (!u) throw new HttpError(404, `No such user: ${pyRepr(name)}`);
    const body = jsonBody(req);
    if (!isDict(body)) throw new HttpError(400, 'body must be a json dict');
    const la = body.last_activity;
    const servers = body.servers;
    if (!la && !(isDict(servers) ? Object.keys(servers).length : servers)) throw new HttpError(400, 'body must contain at least one of `last_activity` or `servers`');
    const updates: [number, string][] = [];
    if (servers) {
      const msg = 'servers must be a dict of the form {server_name: {last_activity: timestamp}}';
      if (!isDict(servers)) throw new HttpError(400, msg);
      const rows = await db().selectFrom('spawners').select(['id', 'name', 'last_activity']).where('user_id', '=', u.id).execute();
      const byName = new Map(rows.map((r) => [r.name, r]));
      for (const [sn, info] of Object.entries(servers)) {
        const row = byName.get(sn);
        if (!row && sn !== '') throw new HttpError(400, `No such server '${sn}' for user ${u.name}`);
        if (!isDict(info) || !('last_activity' in info)) throw new HttpError(400, msg);
        const ts = parseTimestamp(info.last_activity);
        if (row && (!row.last_activity || ts > row.last_activity)) updates.push([row.id, ts]);
      }
    }
    let userTs: string | null = null;
    if (la) {
      const ts = parseTimestamp(la);
      if (!u.last_activity || ts > u.last_activity) userTs = ts;
    }
    if (userTs) await db().updateTable('users').set({ last_activity: userTs }).where('id', '=', u.id).execute();
    for (const [id, ts] of updates) await db().updateTable('spawners').set({ last_activity: ts }).where('id', '=', id).execute();
    return sendEmpty(reply, 200);
  });

  // ---- legacy admin-access
  app.post(`${api}/users/:name/admin-access`, { preHandler: rbac.guard({ scopes: ['servers'], resource: userRes }) }, async (_req, reply) => {
    if (!hub.config.get<boolean>('JupyterHub', 'admin_access')) throw new HttpError(403, 'admin access to user servers disabled');
    return sendEmpty(reply, 200);
  });

  // ---- tokens
  app.get(`${api}/users/:name/tokens`, { preHandler: rbac.guard({ scopes: ['read:tokens'], resource: userRes }) }, async (req, reply) => {
    const name = params(req).name;
    const u = await findUser(hub, name);
    if (!u) throw new HttpError(404, `No such user: ${name}`);
    const now = new Date().toISOString();
    await db().deleteFrom('api_tokens').where('user_id', '=', u.id).where('expires_at', 'is not', null).where('expires_at', '<', now).execute();
    const rows = await db().selectFrom('api_tokens').selectAll().where('user_id', '=', u.id).execute();
    rows.sort((a, b) => ((a.last_activity ?? a.created) < (b.last_activity ?? b.created) ? -1 : (a.last_activity ?? a.created) > (b.last_activity ?? b.created) ? 1 : a.id - b.id));
    const clients = new Map<string, string>();
    const out = [];
    for (const t of rows) out.push(await tokenModel(hub, t, { user: u, service: null }, clients));
    return sendJson(reply, 200, { api_tokens: out });
  });

  app.post(`${api}/users/:name/tokens`, async (req, reply) => {
    const name = params(req).name;
    const body = jsonBody(req) ?? {};
    if (!isDict(body)) throw new HttpError(400, 'Body must be a JSON dict or empty');
    let auth = await rbac.identify(req);
    if (!auth.identity) {
      // credentials in the body, for the authenticator (no XSRF check then)
      const authn = authenticatorOf(hub);
      let who: string | null = null;
      if (authn?.getAuthenticatedUser && body.auth !== undefined) {
        try {
          // JupyterHub's BaseHandler.authenticate: the full login checks (blocked, allowed...)
          const r = await authn.getAuthenticatedUser({ hub, request: req, reply } as never, body.auth as Record<string, string>);
          who = typeof r === 'string' ? r : isDict(r) && typeof r.name === 'string' ? r.name : null;
        } catch (e) {
          log.error(`Error authenticating request for ${req.url}: ${(e as Error).message}`);
          throw new HttpError(403, 'Forbidden');
        }
      }
      if (!who) throw new HttpError(403, 'Forbidden');
      const ru = await findUser(hub, who);
      if (!ru) throw new HttpError(403, 'Forbidden');
      auth = await rbac.authFor({ kind: 'user', user: ru, service: null, token: null, viaCookie: false });
      rbac.setAuth(req, auth);
    }
    const requester = auth.identity!;
    const kind = requester.user ? 'user' : 'service';
    const u = await findUser(hub, name);
    if (!u || !(await rbac.can(auth, 'tokens', { user: name }))) throw new HttpError(403, `${kind === 'user' ? 'User' : 'Service'} ${name} not found or no permissions to generate tokens`);
    const requesterName = requester.user?.name ?? requester.service!.name;
    const isSelf = kind === 'user' && requester.user!.id === u.id;
    let note = typeof body.note === 'string' && body.note ? body.note : '';
    if (!note) note = 'Requested via api' + (isSelf ? '' : ` by ${kind} ${requesterName}`);
    for (const key of ['roles', 'scopes'] as const) {
      const v = body[key];
      if (v === undefined || v === null) continue;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, `token ${key} must be null or a list of strings, not ${pyRepr(v)}`);
    }
    let expiresIn = body.expires_in as number | null | undefined;
    if (!(expiresIn === undefined || expiresIn === null || (typeof expiresIn === 'number' && Number.isInteger(expiresIn)))) throw new HttpError(400, `token expires_in must be null or integer, not ${pyRepr(expiresIn)}`);
    const max = hub.config.get<number>('JupyterHub', 'token_expires_in_max_seconds');
    if (max) {
      if (expiresIn === undefined || expiresIn === null) expiresIn = max;
      else if (expiresIn > max) throw new HttpError(400, `token expires_in: ${expiresIn} must not exceed ${max}`);
    }
    if (typeof expiresIn === 'number' && expiresIn < 0) throw new HttpError(400, `expires_in must be a positive integer or null, not ${expiresIn}`);
    const roles = body.roles as string[] | null | undefined;
    let scopes = body.scopes as string[] | null | undefined;
    if (roles && scopes) throw new HttpError(400, 'Can only assign one of scopes or roles');
    if (roles) {
      const rs: string[] = [];
      for (const r of roles) {
        const role = await rbac.roleByName(r);
        if (!role) throw new HttpError(400, `No such role: ${r}`);
        rs.push(...role.scopes);
      }
      scopes = rs;
    }
    if (!scopes) scopes = (await rbac.roleByName('token'))?.scopes ?? ['inherit'];
    try {
      rbac.scopeSet.checkExist(scopes, 'token');
    } catch (e) {
      if (e instanceof ScopeNotFound) throw new HttpError(400, e.message.startsWith('Draft') ? e.message : `"${e.message}"`);
      throw e;
    }
    const requested = scopes.filter((s) => s !== 'inherit');
    if (requested.length) {
      const expanded = rbac.scopeSet.expand(requested, { kind: 'user', name: u.name });
      const owner = (await rbac.userScopes(u)).all;
      const groups = await rbac.groupsForIntersection(expanded, owner);
      const inter = intersectScopes(expanded, owner, (x) => groups.get(x));
      const excess = [...expanded].filter((s) => !inter.has(s));
      if (excess.length) throw new HttpError(400, `Not assigning requested scopes ${excess.join(',')} not held by User ${u.name}`);
    }
    const token = await createApiToken(db(), { userId: u.id, note, scopes, expiresIn: expiresIn || null });
    if (isSelf) log.info(`User ${u.name} requested new API token`);
    else log.info(`${kind === 'user' ? 'User' : 'Service'} ${requesterName} requested API token for ${u.name}`);
    const row = await findApiToken(db(), token);
    if (!row) throw new HttpError(500, 'Failed to create token');
    const m = await tokenModel(hub, row, { user: u, service: null });
    m.token = token;
    return sendJson(reply, 201, m);
  });

  const tokenRow = async (req: FastifyRequest) => {
    const { name, id } = params(req);
    const u = await findUser(hub, name);
    const m = /^a(\d+)$/.exec(id);
    const row = u && m ? await db().selectFrom('api_tokens').selectAll().where('id', '=', Number(m[1])).where('user_id', '=', u.id).executeTakeFirst() : undefined;
    if (!u || !row) throw new HttpError(404, `No such token ${id} for user ${name}`);
    return { u, row };
  };
  app.get(`${api}/users/:name/tokens/:id`, { preHandler: rbac.guard({ scopes: ['read:tokens'], resource: userRes }) }, async (req, reply) => {
    const { u, row } = await tokenRow(req);
    return sendJson(reply, 200, await tokenModel(hub, row, { user: u, service: null }));
  });
  app.delete(`${api}/users/:name/tokens/:id`, { preHandler: rbac.guard({ scopes: ['tokens'], resource: userRes }) }, async (req, reply) => {
    const { u, row } = await tokenRow(req);
    if (row.oauth_client_id !== 'jupyterhub') await db().deleteFrom('api_tokens').where('user_id', '=', u.id).where('oauth_client_id', '=', row.oauth_client_id).execute();
    else await db().deleteFrom('api_tokens').where('id', '=', row.id).execute();
    return reply.status(204).send();
  });

  // ---- servers (delegated to hub.servers)
  const serverName = (req: FastifyRequest) => params(req).server ?? '';
  const checkNamed = (req: FastifyRequest) => {
    const s = serverName(req);
    if (s) {
      if (!hub.config.get<boolean>('JupyterHub', 'allow_named_servers')) throw new HttpError(400, 'Named servers are not enabled.');
      if (s.includes('/')) throw new HttpError(400, `Invalid server_name (may not contain '/'): ${s}`);
    }
    return s;
  };
  const manager = () => {
    if (!hub.servers?.start) throw new HttpError(503, 'Spawning is not available in this hub');
    return hub.servers;
  };
  const start = async (req: FastifyRequest, reply: FastifyReply) => {
    const u = await userOr404(hub, params(req).name);
    const s = checkNamed(req);
    const body = jsonBody(req);
    if (body !== null && !isDict(body)) throw new HttpError(400, 'body must be a json dict');
    const r = await manager().start(u, s, body ?? undefined);
    return sendEmpty(reply, r.status === 'ready' ? 201 : 202, 'text/plain');
  };
  const stop = async (req: FastifyRequest, reply: FastifyReply) => {
    const u = await userOr404(hub, params(req).name);
    const s = checkNamed(req);
    const body = jsonBody(req);
    const remove = isDict(body) && body.remove === true;
    if (remove && !s) throw new HttpError(400, 'Cannot delete the default server');
    if (s) {
      const row = await db().selectFrom('spawners').select('id').where('user_id', '=', u.id).where('name', '=', s).executeTakeFirst();
      if (!row) throw new HttpError(404, `${u.name} has no server named '${s}'`);
    }
    const r = await manager().stop(u, s, { remove });
    if (r.status === 'pending') return sendEmpty(reply, 202, 'text/plain');
    return reply.status(204).send();
  };
  app.post(`${api}/users/:name/server`, { preHandler: rbac.guard({ scopes: ['servers'], resource: serverRes }) }, start);
  app.post(`${api}/users/:name/servers/:server`, { preHandler: rbac.guard({ scopes: ['servers'], resource: serverRes }) }, start);
  app.delete(`${api}/users/:name/server`, { preHandler: rbac.guard({ scopes: ['delete:servers'], resource: serverRes }) }, stop);
  app.delete(`${api}/users/:name/servers/:server`, { preHandler: rbac.guard({ scopes: ['delete:servers'], resource: serverRes }) }, stop);

  const progress = async (req: FastifyRequest, reply: FastifyReply) => {
    const u = await userOr404(hub, params(req).name);
    const s = serverName(req);
    const row = await db().selectFrom('spawners').select('id').where('user_id', '=', u.id).where('name', '=', s).executeTakeFirst();
    if (!row || !hub.servers?.progress) throw new HttpError(404, 'Not Found');
    const logName = s ? `${u.name}:${s}` : u.name;
    const events = hub.servers.progress(u, s);
    if (!events) throw new HttpError(400, `${logName} is not starting...`);
    reply.hijack();
    const res = reply.raw;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = String(v);
    res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const ka = setInterval(() => res.write('\n\n'), 8000);
    let closed = false;
    res.on('close', () => {
      closed = true;
      clearInterval(ka);
    });
    try {
      for await (const ev of events) {
        if (closed) break;
        res.write(`data: ${JSON.stringify(ev)}\n\n`);
      }
    } catch (e) {
      log.error(`Error in progress stream for ${logName}: ${(e as Error).message}`);
    } finally {
      clearInterval(ka);
      res.end();
    }
  };
  app.get(`${api}/users/:name/server/progress`, { preHandler: rbac.guard({ scopes: ['read:servers'], resource: serverRes }) }, progress);
  app.get(`${api}/users/:name/servers/:server/progress`, { preHandler: rbac.guard({ scopes: ['read:servers'], resource: serverRes }) }, progress);
}
