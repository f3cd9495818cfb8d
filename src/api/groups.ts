/** `/groups` endpoints (rest-api.md §8.14). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';
import type { GroupRow } from '../db/schema.js';
import { ALL, type Resource } from '../rbac/scopes.js';
import { normalizeUsername } from '../rbac/entities.js';
import { groupModel, loadGroupBundles } from './models.js';
import { GROUP_MODEL_TYPES, acceptsPagination, checkModel, isDict, jsonBody, pagination, paginated, sendJson } from './util.js';
import { getLogger } from '../util/log.js';

const log = getLogger('JupyterHub', 'api');
const groupRes = (req: FastifyRequest): Resource => ({ group: (req.params as Record<string, string>).group });
const gname = (req: FastifyRequest) => (req.params as Record<string, string>).group;

export function registerGroupRoutes(app: FastifyInstance, hub: Hub, api: string): void {
  const rbac = hub.rbac;
  const db = () => hub.db.db;

  const findGroup = (name: string) => db().selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
  const groupOr404 = async (name: string): Promise<GroupRow> => {
    const g = await findGroup(name);
    if (!g) throw new HttpError(404, `No such group: ${name}`);
    return g;
  };
  /** User ids for names (normalized); 400 on an unknown user. */
  const userIds = async (names: unknown): Promise<number[]> => {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new HttpError(400, 'users must be a list of strings');
    const ids: number[] = [];
    for (const n0 of names as string[]) {
      const n = normalizeUsername(hub, n0);
      const u = await db().selectFrom('users').select('id').where('name', '=', n).executeTakeFirst();
      if (!u) throw new HttpError(400, `No such user: ${n}`);
      ids.push(u.id);
    }
    return ids;
  };
  const model = async (req: FastifyRequest, g: GroupRow) => {
    const auth = await rbac.identify(req);
    const [b] = await loadGroupBundles(hub, [g]);
    return groupModel(auth, b) ?? {};
  };

  app.get(`${api}/groups`, { preHandler: rbac.guard({ scopes: ['list:groups'], postFilter: true }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const { offset, limit } = pagination(hub, req);
    let q = db().selectFrom('groups');
    const sub = auth.parsed.get('list:groups');
    if (sub && sub !== ALL) {
      if (!Object.keys(sub).every((k) => k === 'group')) throw new HttpError(403, 'Forbidden');
      q = q.where('name', 'in', [...(sub.group ?? [])]);
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
    const rows = await q.selectAll().orderBy('id').limit(limit).offset(offset).execute();
    const items = (await loadGroupBundles(hub, rows)).map((b) => groupModel(auth, b)).filter(Boolean);
    if (acceptsPagination(req)) return sendJson(reply, 200, paginated(req, items, offset, limit, total));
    return sendJson(reply, 200, items);
  });

  app.post(`${api}/groups`, { preHandler: rbac.guard({ scopes: ['admin:groups'] }) }, async (req, reply) => {
    const data = jsonBody(req);
    if (!isDict(data) || !data.groups) throw new HttpError(400, 'Must specify at least one group to create');
    const { groups, ...rest } = data;
    if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw new HttpError(400, 'group names must be str');
    checkModel(rest, GROUP_MODEL_TYPES, 'group');
    const ids = rest.users !== undefined ? await userIds(rest.users) : [];
    const created: GroupRow[] = [];
    for (const name of groups as string[]) {
      if (!name) throw new HttpError(400, 'Invalid group name');
      if (await findGroup(name)) {
        rbac.invalidate();
        throw new HttpError(409, `Group ${name} already exists`);
      }
      const g = await db().insertInto('groups').values({ name, properties: '{}' }).returningAll().executeTakeFirstOrThrow();
      for (const id of ids) await db().insertInto('user_group_map').values({ user_id: id, group_id: g.id }).onConflict((oc) => oc.doNothing()).execute();
      log.info(`Created group ${name}`);
      created.push(g);
    }
    rbac.invalidate();
    const auth = await rbac.identify(req);
    return sendJson(reply, 201, (await loadGroupBundles(hub, created)).map((b) => groupModel(auth, b) ?? {}));
  });

  const readScopes = ['read:groups', 'read:groups:name', 'read:roles:groups'];
  app.get(`${api}/groups/:group`, { preHandler: rbac.guard({ scopes: readScopes, resource: groupRes }) }, async (req, reply) => {
    return sendJson(reply, 200, await model(req, await groupOr404(gname(req))));
  });

  app.post(`${api}/groups/:group`, { preHandler: rbac.guard({ scopes: ['admin:groups'], resource: groupRes }) }, async (req, reply) => {
    const name = gname(req);
    if (await findGroup(name)) throw new HttpError(409, `Group ${name} already exists`);
    const data = jsonBody(req) ?? {};
    checkModel(data, GROUP_MODEL_TYPES, 'group');
    const ids = (data as Record<string, unknown>).users !== undefined ? await userIds((data as Record<string, unknown>).users) : [];
    const g = await db().transaction().execute(async (trx) => {
      const g = await trx.insertInto('groups').values({ name, properties: '{}' }).returningAll().executeTakeFirstOrThrow();
      for (const id of ids) await trx.insertInto('user_group_map').values({ user_id: id, group_id: g.id }).onConflict((oc) => oc.doNothing()).execute();
      return g;
    });
    rbac.invalidate();
    log.info(`Created group ${name}`);
    return sendJson(reply, 201, await model(req, g));
  });

  app.delete(`${api}/groups/:group`, { preHandler: rbac.guard({ scopes: ['delete:groups'], resource: groupRes }) }, async (req, reply) => {
    const g = await groupOr404(gname(req));
    await db().deleteFrom('groups').where('id', '=', g.id).execute();
    rbac.invalidate();
    log.info(`Deleted group ${g.name}`);
    return reply.status(204).send();
  });

  const members = (add: boolean) => async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const g = await groupOr404(gname(req));
    const data = jsonBody(req);
    if (!isDict(data) || !data.users) throw new HttpError(400, `Must specify users to ${add ? 'add' : 'delete'}`);
    checkModel(data, GROUP_MODEL_TYPES, 'group');
    const ids = await userIds(data.users);
    await db().transaction().execute(async (trx) => {
      for (const id of ids) {
        if (add) await trx.insertInto('user_group_map').values({ user_id: id, group_id: g.id }).onConflict((oc) => oc.doNothing()).execute();
        else await trx.deleteFrom('user_group_map').where('user_id', '=', id).where('group_id', '=', g.id).execute();
      }
    });
    rbac.invalidate();
    return sendJson(reply, 200, await model(req, g));
  };
  app.post(`${api}/groups/:group/users`, { preHandler: rbac.guard({ scopes: ['groups'], resource: groupRes }) }, members(true));
  app.delete(`${api}/groups/:group/users`, { preHandler: rbac.guard({ scopes: ['groups'], resource: groupRes }) }, members(false));

  app.put(`${api}/groups/:group/properties`, { preHandler: rbac.guard({ scopes: ['groups'], resource: groupRes }) }, async (req, reply) => {
    const g = await groupOr404(gname(req));
    const data = jsonBody(req);
    if (!isDict(data)) throw new HttpError(400, 'Must specify properties');
    await db().updateTable('groups').set({ properties: JSON.stringify(data) }).where('id', '=', g.id).execute();
    return sendJson(reply, 200, await model(req, (await findGroup(g.name))!));
  });
}
