/**
 * Hub pages of this module (singleuser-and-services.md §9.3): `{hub}admin` (admin panel,
 * `admin-ui` scope), `{hub}token` (token management) and `{hub}accept-share` (5.x share
 * codes, rbac.md §10, rest-api.md §8.17). The admin and token pages are static shells: all
 * their data comes from the REST API, called from `static/js/*.js` with the login cookie and
 * the `X-XSRFToken` header.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import type { ShareCodeRow, UserRow } from '../db/schema.js';
import { cookieUser, xsrfValid } from '../hub/identity.js';
import { hashToken } from '../util/crypto.js';
import { getLogger } from '../util/log.js';
import { BUILTIN_SCOPES } from '../rbac/scopes.js';
import { escapePath } from '../rbac/entities.js';
import { hasAdminUi, renderPage } from './render.js';

const log = getLogger('JupyterHub', 'pages');

/** The user logged in by cookie (page handlers ignore API tokens, §9.3). */
export async function pageUser(hub: Hub, req: FastifyRequest): Promise<UserRow | null> {
  const rbac = (hub as unknown as { rbac?: { identify?: (r: FastifyRequest, o?: { api?: boolean }) => Promise<{ identity: { user: UserRow | null; viaCookie: boolean } | null }> } }).rbac;
  if (rbac?.identify) {
    try {
      const id = (await rbac.identify(req, { api: false })).identity;
      if (id?.user && id.viaCookie) return id.user;
    } catch {
      /* fall through to the cookie */
    }
  }
  return cookieUser(hub, req);
}

/** `{hub}login?next=<this URL>`. */
export function loginRedirect(hub: Hub, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.redirect(`${hub.hubPrefix}login?next=${encodeURIComponent(req.url)}`, 302);
}

/** A `next` URL that stays on this site (a path, no scheme, no `//host`, no backslashes). */
export function safeNext(next: unknown): string | null {
  if (typeof next !== 'string' || !next) return null;
  if (!next.startsWith('/') || next.startsWith('//') || /[\\\s\u0000-\u001f]/.test(next)) return null;
  return next;
}

function serverUrl(hub: Hub, owner: UserRow, serverName: string): string {
  return `${hub.baseUrl}user/${escapePath(owner.name)}/${serverName ? escapePath(serverName) + '/' : ''}`;
}

function scopeDescriptions(scopes: string[]) {
  return scopes.map((s) => {
    const i = s.indexOf('!');
    const base = i < 0 ? s : s.slice(0, i);
    const filter = i < 0 ? '' : s.slice(i + 1);
    return {
      scope: s,
      description: BUILTIN_SCOPES[base]?.description ?? base,
      filter: filter.replace(/^server=/, 'server ').replace(/^user=/, 'user ').replace(/^group=/, 'group '),
    };
  });
}

interface ShareContext {
  code: ShareCodeRow;
  owner: UserRow;
  serverName: string;
  ready: boolean;
}

async function findShareCode(hub: Hub, code: string): Promise<ShareContext> {
  const db = hub.db.db;
  const row = code ? await db.selectFrom('share_codes').selectAll().where('code', '=', hashToken(code)).executeTakeFirst() : undefined;
  if (!row || (row.expires_at && row.expires_at < new Date().toISOString())) throw new HttpError(404, 'Share code not found or expired');
  const spawner = await db.selectFrom('spawners').selectAll().where('id', '=', row.spawner_id).executeTakeFirst();
  const owner = await db.selectFrom('users').selectAll().where('id', '=', row.owner_id).executeTakeFirst();
  if (!spawner || !owner) throw new HttpError(404, 'Share code not found or expired');
  const servers = (hub as unknown as { servers?: Hub['servers'] }).servers;
  let ready = !!spawner.url;
  try {
    if (servers) ready = servers.ready(owner.id, spawner.name);
  } catch {
    /* spawning module not ready: keep the database's view */
  }
  return { code: row, owner, serverName: spawner.name, ready };
}

function parseScopes(json: string): string[] {
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/** Exchange a share code: grant (or extend) the user's share on the server (rbac.md §10). */
async function exchangeShareCode(hub: Hub, ctx: ShareContext, user: UserRow): Promise<void> {
  const db = hub.db.db;
  const now = new Date().toISOString();
  const scopes = parseScopes(ctx.code.scopes);
  await db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('shares')
      .selectAll()
      .where('spawner_id', '=', ctx.code.spawner_id)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (existing) {
      const merged = [...new Set([...parseScopes(existing.scopes), ...scopes])].sort();
      await trx.updateTable('shares').set({ scopes: JSON.stringify(merged) }).where('id', '=', existing.id).execute();
    } else {
      await trx
        .insertInto('shares')
        .values({ spawner_id: ctx.code.spawner_id, user_id: user.id, group_id: null, owner_id: ctx.owner.id, scopes: JSON.stringify([...new Set(scopes)].sort()), created: now })
        .execute();
    }
    await trx
      .updateTable('share_codes')
      .set({ exchange_count: ctx.code.exchange_count + 1, last_exchanged_at: now })
      .where('id', '=', ctx.code.id)
      .execute();
  });
  // Permissions changed: let the RBAC module drop cached scopes if it keeps any.
  const rbac = (hub as unknown as { rbac?: { invalidate?: (u?: UserRow) => void } }).rbac;
  try {
    rbac?.invalidate?.(user);
  } catch {
    /* optional */
  }
  log.info(`User ${user.name} accepted share code ${ctx.code.prefix}… for ${ctx.owner.name}/${ctx.serverName}`);
}

export const pagesModule: HubModule = {
  name: 'pages',
  routes(app, hub: Hub) {
    const p = hub.hubPrefix;

    app.get(`${p}admin`, async (req, reply) => {
      const user = await pageUser(hub, req);
      if (!user) return loginRedirect(hub, req, reply);
      if (!(await hasAdminUi(hub, user))) throw new HttpError(403, 'You do not have permission to use the admin page.');
      return renderPage(hub, req, reply, 'admin.html', {
        user,
        allow_named_servers: hub.config.get<boolean>('JupyterHub', 'allow_named_servers'),
        named_server_limit_per_user: Number(hub.config.get<unknown>('JupyterHub', 'named_server_limit_per_user')) || 0,
        api_page_default_limit: hub.config.get<number>('JupyterHub', 'api_page_default_limit'),
      });
    });

    app.get(`${p}token`, async (req, reply) => {
      const user = await pageUser(hub, req);
      if (!user) return loginRedirect(hub, req, reply);
      return renderPage(hub, req, reply, 'token.html', {
        user,
        token_expires_in_max_seconds: hub.config.get<number>('JupyterHub', 'token_expires_in_max_seconds') || 0,
      });
    });

    app.get(`${p}accept-share`, async (req, reply) => {
      const user = await pageUser(hub, req);
      if (!user) return loginRedirect(hub, req, reply);
      const q = req.query as Record<string, string | undefined>;
      const code = String(q.code ?? '');
      if (!code) throw new HttpError(400, 'Missing share code');
      const ctx = await findShareCode(hub, code);
      if (ctx.owner.id === user.id) throw new HttpError(403, 'You cannot accept a share code for your own server.');
      const url = serverUrl(hub, ctx.owner, ctx.serverName);
      return renderPage(hub, req, reply, 'accept-share.html', {
        user,
        code,
        owner: { name: ctx.owner.name },
        spawner: { name: ctx.serverName, ready: ctx.ready },
        spawner_url: url,
        spawner_ready: ctx.ready,
        scope_descriptions: scopeDescriptions(parseScopes(ctx.code.scopes)),
        next_url: safeNext(q.next) ?? url,
        next: safeNext(q.next) ?? '',
      });
    });

    app.post(`${p}accept-share`, async (req, reply) => {
      const user = await pageUser(hub, req);
      if (!user) throw new HttpError(403, 'Missing or invalid credentials.');
      if (!xsrfValid(hub, req, user)) throw new HttpError(403, "XSRF cookie does not match POST argument");
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const q = req.query as Record<string, string | undefined>;
      const code = String(body.code ?? q.code ?? '');
      if (!code) throw new HttpError(400, 'Missing share code');
      const ctx = await findShareCode(hub, code);
      if (ctx.owner.id === user.id) throw new HttpError(403, 'You cannot accept a share code for your own server.');
      await exchangeShareCode(hub, ctx, user);
      const next = safeNext(body.next) ?? safeNext(q.next) ?? serverUrl(hub, ctx.owner, ctx.serverName);
      return reply.redirect(next, 302);
    });
  },
};
