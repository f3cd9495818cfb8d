/** Shares and share codes (rest-api.md §8.17, rbac.md §10). */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';
import type { ShareRow, SpawnerRow, UserRow } from '../db/schema.js';
import { hashToken } from '../util/crypto.js';
import type { RequestAuth } from '../rbac/index.js';
import { ScopeNotFound, splitScope, type Resource } from '../rbac/scopes.js';
import { escapePath } from '../rbac/entities.js';
import { isoformat, readyOf, userUrl } from './models.js';
import { arg, isDict, jsonBody, pagination, paginated, sendJson } from './util.js';

type P = Record<string, string>;
const params = (req: FastifyRequest) => req.params as P;

export function registerShareRoutes(app: FastifyInstance, hub: Hub, api: string): void {
  const rbac = hub.rbac;
  const db = () => hub.db.db;
  const ownerRes = (req: FastifyRequest): Resource => ({ user: params(req).owner });
  const serverRes = (req: FastifyRequest): Resource => ({ server: `${params(req).owner}/${params(req).server ?? ''}` });

  const spawnerOf = async (owner: string, server: string): Promise<{ u: UserRow; s: SpawnerRow }> => {
    const u = await db().selectFrom('users').selectAll().where('name', '=', owner).executeTakeFirst();
    const s = u ? await db().selectFrom('spawners').selectAll().where('user_id', '=', u.id).where('name', '=', server).executeTakeFirst() : undefined;
    if (!u || !s) throw new HttpError(404, `No such server: ${owner}/${server}`);
    return { u, s };
  };
  const serverInfo = (u: UserRow, s: SpawnerRow) => {
    const url = userUrl(hub, u.name) + (s.name ? escapePath(s.name) + '/' : '');
    return { user: { name: u.name }, name: s.name, url, full_url: hub.publicUrl ? hub.publicUrl.replace(/\/$/, '') + url.slice(hub.baseUrl.length - 1) : null, ready: readyOf(hub, u.id, s) };
  };
  /** Share models for rows (joined with owner/server/target names). */
  const shareModels = async (rows: ShareRow[]) => {
    const out = [];
    for (const r of rows) {
      const s = await db().selectFrom('spawners').selectAll().where('id', '=', r.spawner_id).executeTakeFirstOrThrow();
      const owner = await db().selectFrom('users').selectAll().where('id', '=', s.user_id).executeTakeFirstOrThrow();
      const user = r.user_id != null ? await db().selectFrom('users').select('name').where('id', '=', r.user_id).executeTakeFirst() : null;
      const group = r.group_id != null ? await db().selectFrom('groups').select('name').where('id', '=', r.group_id).executeTakeFirst() : null;
      out.push({ server: serverInfo(owner, s), scopes: JSON.parse(r.scopes), user: user ? { name: user.name } : null, group: group ? { name: group.name } : null, kind: user ? 'user' : 'group', created_at: isoformat(r.created) });
    }
    return out;
  };
  const envelope = async (req: FastifyRequest, reply: FastifyReply, base: ReturnType<typeof sharesQuery>) => {
    const { offset, limit } = pagination(hub, req);
    const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
    const rows = await base.selectAll('shares').orderBy('shares.id').limit(limit).offset(offset).execute();
    return sendJson(reply, 200, paginated(req, await shareModels(rows), offset, limit, total));
  };
  const sharesQuery = () => db().selectFrom('shares');

  /** Validate requested share scopes: exist, only `!server=<owner>/<server>` filters (added when absent). */
  const shareScopes = (v: unknown, full: string): string[] => {
    if (v === undefined || v === null) return [`access:servers!server=${full}`];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, 'scopes must be a list of strings');
    const out: string[] = [];
    for (const s of v as string[]) {
      const [base, kind, value] = splitScope(s);
      try {
        rbac.scopeSet.checkExist([base], 'share');
      } catch (e) {
        if (e instanceof ScopeNotFound) throw new HttpError(400, e.message);
        throw e;
      }
      if (kind && !(kind === 'server' && value === full)) throw new HttpError(400, `Can only share with filter !server=${full}, not ${s}`);
      out.push(`${base}!server=${full}`);
    }
    return out;
  };
  const target = async (data: Record<string, unknown>) => {
    const keys = Object.keys(data).filter((k) => k !== 'scopes');
    for (const k of keys) if (k !== 'user' && k !== 'group') throw new HttpError(400, `Unexpected keys in request body: ${k}`);
    if (keys.length !== 1 || typeof data[keys[0]] !== 'string') throw new HttpError(400, "Specify exactly one of 'user' or 'group'");
    const name = data[keys[0]] as string;
    if (keys[0] === 'user') {
      const u = await db().selectFrom('users').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
      return { kind: 'user' as const, name, id: u?.id };
    }
    const g = await db().selectFrom('groups').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    return { kind: 'group' as const, name, id: g?.id };
  };

  // ---- /shares/:owner[/:server]
  app.get(`${api}/shares/:owner`, { preHandler: rbac.guard({ scopes: ['read:shares'], resource: ownerRes }) }, async (req, reply) => {
    const u = await db().selectFrom('users').select('id').where('name', '=', params(req).owner).executeTakeFirst();
    if (!u) throw new HttpError(404, `No such user: ${params(req).owner}`);
    return envelope(req, reply, sharesQuery().where('shares.owner_id', '=', u.id));
  });
  app.get(`${api}/shares/:owner/:server`, { preHandler: rbac.guard({ scopes: ['read:shares'], resource: serverRes }) }, async (req, reply) => {
    const { s } = await spawnerOf(params(req).owner, params(req).server);
    return envelope(req, reply, sharesQuery().where('shares.spawner_id', '=', s.id));
  });
  app.post(`${api}/shares/:owner/:server`, { preHandler: rbac.guard({ scopes: ['shares'], resource: serverRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const { u, s } = await spawnerOf(params(req).owner, params(req).server);
    const full = `${u.name}/${s.name}`;
    const data = jsonBody(req);
    if (!isDict(data)) throw new HttpError(400, 'body must be a json dict');
    const t = await target(data);
    const scopes = shareScopes(data.scopes, full);
    for (const sc of scopes) if (!(await rbac.can(auth, splitScope(sc)[0], { server: full }))) throw new HttpError(403, `Do not have permission to grant ${sc}`);
    const nameScope = t.kind === 'user' ? 'read:users:name' : 'read:groups:name';
    if (!(await rbac.can(auth, nameScope, t.kind === 'user' ? { user: t.name } : { group: t.name }))) throw new HttpError(403, `Need ${nameScope} on ${t.kind} ${t.name} to share with them`);
    if (t.id === undefined) throw new HttpError(400, `No such ${t.kind}: ${t.name}`);
    if (t.kind === 'user' && t.id === u.id) throw new HttpError(400, "Can't share a server with its owner");
    const col = t.kind === 'user' ? 'user_id' : 'group_id';
    const existing = await db().selectFrom('shares').selectAll().where('spawner_id', '=', s.id).where(col, '=', t.id).executeTakeFirst();
    if (existing) {
      const merged = [...new Set([...JSON.parse(existing.scopes), ...scopes])];
      await db().updateTable('shares').set({ scopes: JSON.stringify(merged) }).where('id', '=', existing.id).execute();
    } else {
      await db().insertInto('shares').values({ spawner_id: s.id, user_id: t.kind === 'user' ? t.id : null, group_id: t.kind === 'group' ? t.id : null, owner_id: u.id, scopes: JSON.stringify(scopes), created: new Date().toISOString() }).execute();
    }
    rbac.invalidate();
    const row = await db().selectFrom('shares').selectAll().where('spawner_id', '=', s.id).where(col, '=', t.id).executeTakeFirstOrThrow();
    return sendJson(reply, 200, (await shareModels([row]))[0]);
  });
  app.patch(`${api}/shares/:owner/:server`, { preHandler: rbac.guard({ scopes: ['shares'], resource: serverRes }) }, async (req, reply) => {
    const { u, s } = await spawnerOf(params(req).owner, params(req).server);
    const data = jsonBody(req);
    if (!isDict(data)) throw new HttpError(400, 'body must be a json dict');
    const t = await target(data);
    if (t.id === undefined) return sendJson(reply, 200, {});
    const col = t.kind === 'user' ? 'user_id' : 'group_id';
    const existing = await db().selectFrom('shares').selectAll().where('spawner_id', '=', s.id).where(col, '=', t.id).executeTakeFirst();
    if (!existing) return sendJson(reply, 200, {});
    const remaining = data.scopes === undefined || data.scopes === null ? [] : (() => {
      const drop = new Set(shareScopes(data.scopes, `${u.name}/${s.name}`));
      return (JSON.parse(existing.scopes) as string[]).filter((x) => !drop.has(x));
    })();
    if (!remaining.length) await db().deleteFrom('shares').where('id', '=', existing.id).execute();
    else await db().updateTable('shares').set({ scopes: JSON.stringify(remaining) }).where('id', '=', existing.id).execute();
    rbac.invalidate();
    if (!remaining.length) return sendJson(reply, 200, {});
    return sendJson(reply, 200, (await shareModels([{ ...existing, scopes: JSON.stringify(remaining) }]))[0]);
  });
  app.delete(`${api}/shares/:owner/:server`, { preHandler: rbac.guard({ scopes: ['shares'], resource: serverRes }) }, async (req, reply) => {
    const { s } = await spawnerOf(params(req).owner, params(req).server);
    await db().deleteFrom('shares').where('spawner_id', '=', s.id).execute();
    rbac.invalidate();
    return reply.status(204).send();
  });

  // ---- shares seen from the recipient
  for (const kind of ['users', 'groups'] as const) {
    const base = kind === 'users' ? `${api}/users/:name/shared` : `${api}/groups/:group/shared`;
    const res = (req: FastifyRequest): Resource => (kind === 'users' ? { user: params(req).name } : { group: params(req).group });
    const who = async (req: FastifyRequest) => {
      const name = kind === 'users' ? params(req).name : params(req).group;
      const row = await db().selectFrom(kind).select('id').where('name', '=', name).executeTakeFirst();
      if (!row) throw new HttpError(404, `No such ${kind.slice(0, -1)}: ${name}`);
      return row.id;
    };
    const q = (id: number) => (kind === 'users' ? sharesQuery().where('shares.user_id', '=', id) : sharesQuery().where('shares.group_id', '=', id));
    const readScope = kind === 'users' ? 'read:users:shares' : 'read:groups:shares';
    const writeScope = kind === 'users' ? 'users:shares' : 'groups:shares';
    app.get(base, { preHandler: rbac.guard({ scopes: [readScope], resource: res }) }, async (req, reply) => envelope(req, reply, q(await who(req))));
    const one = async (req: FastifyRequest) => {
      const id = await who(req);
      const { s } = await spawnerOf(params(req).owner, params(req).server);
      const row = await q(id).selectAll('shares').where('shares.spawner_id', '=', s.id).executeTakeFirst();
      if (!row) throw new HttpError(404, 'No such share');
      return row;
    };
    app.get(`${base}/:owner/:server`, { preHandler: rbac.guard({ scopes: [readScope], resource: res }) }, async (req, reply) => sendJson(reply, 200, (await shareModels([await one(req)]))[0]));
    app.delete(`${base}/:owner/:server`, { preHandler: rbac.guard({ scopes: [writeScope], resource: res }) }, async (req, reply) => {
      const row = await one(req);
      await db().deleteFrom('shares').where('id', '=', row.id).execute();
      rbac.invalidate();
      return reply.status(204).send();
    });
  }

  // ---- share codes
  const codeModel = (r: { id: number; scopes: string; created: string; expires_at: string | null; exchange_count: number; last_exchanged_at: string | null }, u: UserRow, s: SpawnerRow) => ({
    server: serverInfo(u, s),
    scopes: JSON.parse(r.scopes),
    id: `sc_${r.id}`,
    created_at: isoformat(r.created),
    expires_at: isoformat(r.expires_at),
    exchange_count: r.exchange_count,
    last_exchanged_at: isoformat(r.last_exchanged_at),
  });
  const listCodes = async (req: FastifyRequest, reply: FastifyReply, where: { owner_id?: number; spawner_id?: number }) => {
    const { offset, limit } = pagination(hub, req);
    let q = db().selectFrom('share_codes');
    if (where.owner_id !== undefined) q = q.where('owner_id', '=', where.owner_id);
    if (where.spawner_id !== undefined) q = q.where('spawner_id', '=', where.spawner_id);
    q = q.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date().toISOString())]));
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
    const rows = await q.selectAll().orderBy('id').limit(limit).offset(offset).execute();
    const items = [];
    for (const r of rows) {
      const s = await db().selectFrom('spawners').selectAll().where('id', '=', r.spawner_id).executeTakeFirstOrThrow();
      const u = await db().selectFrom('users').selectAll().where('id', '=', s.user_id).executeTakeFirstOrThrow();
      items.push(codeModel(r, u, s));
    }
    return sendJson(reply, 200, paginated(req, items, offset, limit, total));
  };
  app.get(`${api}/share-codes/:owner`, { preHandler: rbac.guard({ scopes: ['read:shares'], resource: ownerRes }) }, async (req, reply) => {
    const u = await db().selectFrom('users').select('id').where('name', '=', params(req).owner).executeTakeFirst();
    if (!u) throw new HttpError(404, `No such user: ${params(req).owner}`);
    return listCodes(req, reply, { owner_id: u.id });
  });
  app.get(`${api}/share-codes/:owner/:server`, { preHandler: rbac.guard({ scopes: ['read:shares'], resource: serverRes }) }, async (req, reply) => {
    const { s } = await spawnerOf(params(req).owner, params(req).server);
    return listCodes(req, reply, { spawner_id: s.id });
  });
  app.post(`${api}/share-codes/:owner/:server`, { preHandler: rbac.guard({ scopes: ['shares'], resource: serverRes }) }, async (req, reply) => {
    const auth: RequestAuth = await rbac.identify(req);
    const { u, s } = await spawnerOf(params(req).owner, params(req).server);
    const data = jsonBody(req) ?? {};
    if (!isDict(data)) throw new HttpError(400, 'body must be a json dict');
    for (const k of Object.keys(data)) if (k !== 'scopes' && k !== 'expires_in') throw new HttpError(400, `Unexpected keys in request body: ${k}`);
    const full = `${u.name}/${s.name}`;
    const scopes = shareScopes(data.scopes, full);
    for (const sc of scopes) if (!(await rbac.can(auth, splitScope(sc)[0], { server: full }))) throw new HttpError(403, `Do not have permission to grant ${sc}`);
    const ei = data.expires_in ?? 86400;
    if (typeof ei !== 'number' || !Number.isInteger(ei) || ei < 60 || ei > 31536000) throw new HttpError(400, `expires_in must be an integer between 60 and 31536000, not ${String(ei)}`);
    const code = crypto.randomBytes(24).toString('base64url').slice(0, 32);
    const now = new Date();
    const r = await db()
      .insertInto('share_codes')
      .values({ spawner_id: s.id, owner_id: u.id, code: hashToken(code), prefix: code.slice(0, 4), scopes: JSON.stringify(scopes), created: now.toISOString(), expires_at: new Date(now.getTime() + ei * 1000).toISOString(), exchange_count: 0, last_exchanged_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    const accept = `${hub.hubPrefix}accept-share?code=${code}`;
    return sendJson(reply, 200, { ...codeModel(r, u, s), code, accept_url: accept, full_accept_url: hub.publicUrl ? hub.publicUrl.replace(/\/$/, '') + accept.slice(hub.baseUrl.length - 1) : null });
  });
  app.delete(`${api}/share-codes/:owner/:server`, { preHandler: rbac.guard({ scopes: ['shares'], resource: serverRes }) }, async (req, reply) => {
    const { s } = await spawnerOf(params(req).owner, params(req).server);
    const code = arg(req, 'code');
    const id = arg(req, 'id');
    let q = db().deleteFrom('share_codes').where('spawner_id', '=', s.id);
    if (code) q = q.where('code', '=', hashToken(code));
    else if (id) {
      const m = /^sc_(\d+)$/.exec(id);
      if (!m) throw new HttpError(404, 'No such code');
      q = q.where('id', '=', Number(m[1]));
    }
    const r = await q.executeTakeFirst();
    if ((code || id) && !Number(r.numDeletedRows)) throw new HttpError(404, 'No such code');
    return reply.status(204).send();
  });
}
