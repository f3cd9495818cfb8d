/**
 * Spawn-related hub pages (singleuser-and-services.md §9.2–9.3, rest-api.md §10):
 *
 *   {hub}spawn[/<user>[/<server>]]          options form or start, then spawn-pending
 *   {hub}spawn-pending/<user>[/<server>]    live progress (static/js/spawn_pending.js)
 *   {hub}home                               control panel (static/js/home.js, REST API + XSRF)
 *   {hub}user/<name>[/<server>]/...         server not running: 424 page/JSON, pending → 303, ready → redirect back
 *   {hub}user-redirect/<path>               → the current user's server
 *   {base}user/... and {base}user-redirect/... that reach the hub → {hub}...
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';
import type { SpawnerRow, UserRow } from '../db/schema.js';
import { cookieUser, xsrfValid } from '../hub/identity.js';
import { renderError, renderPage } from '../web/render.js';
import { escapeName, type SpawnManager } from './manager.js';

function manager(hub: Hub): SpawnManager {
  return hub.servers as SpawnManager;
}

/** A `next` URL that stays on this site (path only), or ''. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next) return '';
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '';
  return next;
}

async function requireUser(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<UserRow | null> {
  const user = await cookieUser(hub, req);
  if (!user) {
    reply.redirect(`${hub.hubPrefix}login?next=${encodeURIComponent(req.url)}`);
    return null;
  }
  return user;
}

async function findUser(hub: Hub, name: string): Promise<UserRow | undefined> {
  return hub.db.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
}
async function findRow(hub: Hub, userId: number, name: string): Promise<SpawnerRow | undefined> {
  return hub.db.db.selectFrom('spawners').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
}

/** The user whose server a page is about; others need the `servers` scope on that user. */
async function targetUser(hub: Hub, req: FastifyRequest, current: UserRow, name: string | undefined, scope: string): Promise<UserRow> {
  if (!name || name === current.name) return current;
  const scopes = (await hub.rbac.userScopes(current)).all;
  if (!(await hub.rbac.can(scopes, scope, { user: name }))) throw new HttpError(403, `User ${current.name} is not allowed to manage servers of ${name}`);
  const u = await findUser(hub, name);
  if (!u) throw new HttpError(404, `No such user: ${name}`);
  return u;
}

function spawnPath(hub: Hub, user: string, server: string): string {
  return `${hub.hubPrefix}spawn/${escapeName(user)}${server ? '/' + escapeName(server) : ''}`;
}
function pendingPath(hub: Hub, user: string, server: string): string {
  return `${hub.hubPrefix}spawn-pending/${escapeName(user)}${server ? '/' + escapeName(server) : ''}`;
}

/** Form/query data as lists of strings (Tornado's request.arguments). */
function asLists(data: unknown, skip: string[] = []): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!data || typeof data !== 'object') return out;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (skip.includes(k)) continue;
    out[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  return out;
}

async function startAndRedirect(hub: Hub, req: FastifyRequest, reply: FastifyReply, user: UserRow, server: string, options: Record<string, unknown> | undefined, next: string): Promise<FastifyReply> {
  const pending = pendingPath(hub, user.name, server) + (next ? `?next=${encodeURIComponent(next)}` : '');
  const p = manager(hub).start(user, server, options);
  // As JupyterHub: wait up to 1 s for an early error, then show the progress page.
  const early = await Promise.race([p.then(() => null, (e: Error) => e), new Promise<'wait'>((r) => setTimeout(() => r('wait'), 1000))]);
  if (early === 'wait') p.catch(() => {});
  else if (early instanceof HttpError && early.status !== 500) throw early;
  return reply.redirect(pending);
}

async function spawnPage(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const current = await requireUser(hub, req, reply);
  if (!current) return reply;
  const params = req.params as { user?: string; server?: string };
  const user = await targetUser(hub, req, current, params.user, 'servers');
  const server = params.server ?? '';
  if (server && !hub.config.get<boolean>('JupyterHub', 'allow_named_servers')) throw new HttpError(400, 'Named servers are not enabled.');
  const q = (req.query ?? {}) as Record<string, unknown>;
  const next = safeNext(q.next);
  const mgr = manager(hub);
  const serverUrl = mgr.serverPrefix(user.name, server);
  if (mgr.ready(user.id, server)) return reply.redirect(next || serverUrl);
  if (mgr.pending(user.id, server) === 'spawn') return reply.redirect(pendingPath(hub, user.name, server) + (next ? `?next=${encodeURIComponent(next)}` : ''));
  if (mgr.pending(user.id, server)) throw new HttpError(400, `${mgr.logName(user.name, server)} is pending ${mgr.pending(user.id, server)}`);
  // The options form, from a spawner configured for this user/server.
  const row = await findRow(hub, user.id, server);
  const sp = row ? mgr.spawnerFor(user, row) : mgr.transientSpawner(user, server);
  const form = await sp.getOptionsForm();
  const queryOptions = asLists(q, ['next', '_xsrf']);
  if (Object.keys(queryOptions).length) {
    return startAndRedirect(hub, req, reply, user, server, await sp.optionsFromQuery(queryOptions), next);
  }
  if (form) {
    return renderPage(hub, req, reply, 'spawn.html', {
      user: current,
      for_user: user,
      server_name: server,
      spawner_options_form: form,
      url: req.url,
      error_message: '',
    });
  }
  return startAndRedirect(hub, req, reply, user, server, undefined, next);
}

async function spawnPost(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const current = await requireUser(hub, req, reply);
  if (!current) return reply;
  if (!xsrfValid(hub, req, current)) throw new HttpError(403, "'_xsrf' argument missing or invalid");
  const params = req.params as { user?: string; server?: string };
  const user = await targetUser(hub, req, current, params.user, 'servers');
  const server = params.server ?? '';
  const q = (req.query ?? {}) as Record<string, unknown>;
  const next = safeNext(q.next);
  const mgr = manager(hub);
  if (mgr.ready(user.id, server) || mgr.pending(user.id, server) === 'spawn') return reply.redirect(pendingPath(hub, user.name, server));
  const row = await findRow(hub, user.id, server);
  const sp = row ? mgr.spawnerFor(user, row) : mgr.transientSpawner(user, server);
  const form = asLists(req.body, ['_xsrf']);
  let options: Record<string, unknown> = form;
  try {
    options = await sp.optionsFromForm(form);
  } catch (e) {
    return renderPage(hub, req, reply, 'spawn.html', { user: current, for_user: user, server_name: server, spawner_options_form: '', url: req.url, error_message: `Error in options: ${(e as Error).message}` }, 400);
  }
  return startAndRedirect(hub, req, reply, user, server, options, next);
}

async function pendingPage(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const current = await requireUser(hub, req, reply);
  if (!current) return reply;
  const params = req.params as { user: string; server?: string };
  const user = await targetUser(hub, req, current, params.user, 'read:servers');
  const server = params.server ?? '';
  const row = await findRow(hub, user.id, server);
  if (!row) throw new HttpError(404, `${user.name} has no such server ${server}`);
  const q = (req.query ?? {}) as Record<string, unknown>;
  const mgr = manager(hub);
  const serverUrl = mgr.serverPrefix(user.name, server);
  const next = safeNext(q.next) || serverUrl;
  if (mgr.ready(user.id, server)) return reply.redirect(next);
  const spawnUrl = spawnPath(hub, user.name, server) + (q.next ? `?next=${encodeURIComponent(next)}` : '');
  if (mgr.failed(user.id, server)) {
    const e = mgr.entries.get(`${user.id}/${server}`);
    const last = e?.events[e.events.length - 1];
    return renderPage(hub, req, reply, 'not_running.html', { user: current, for_user: user, server_name: server, spawn_url: spawnUrl, failed: true, failed_message: last?.message ?? 'Spawn failed', implicit_spawn_seconds: 0 });
  }
  if (mgr.pending(user.id, server) !== 'spawn') {
    return renderPage(hub, req, reply, 'not_running.html', { user: current, for_user: user, server_name: server, spawn_url: spawnUrl, failed: false, failed_message: '', implicit_spawn_seconds: 0 });
  }
  return renderPage(hub, req, reply, 'spawn_pending.html', {
    user: current,
    for_user: user,
    server_name: server,
    progress_url: mgr.progressUrl(user.name, server),
    next_url: next,
    spawn_url: spawnUrl,
  });
}

async function homePage(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const user = await requireUser(hub, req, reply);
  if (!user) return reply;
  const mgr = manager(hub);
  const rows = await hub.db.db.selectFrom('spawners').selectAll().where('user_id', '=', user.id).orderBy('name').execute();
  const def = rows.find((r) => r.name === '');
  const named = rows.filter((r) => r.name !== '').map((r) => ({ ...mgr.model(user, r), user_name: user.name }));
  let limit = hub.config.get<unknown>('JupyterHub', 'named_server_limit_per_user');
  if (typeof limit === 'function') limit = await (limit as (h: unknown) => unknown)({ current_user: user, user });
  return renderPage(hub, req, reply, 'home.html', {
    user,
    default_server: def ? mgr.model(user, def) : { name: '', ready: false, pending: null, url: mgr.serverPrefix(user.name, '') },
    named_servers: named,
    allow_named_servers: hub.config.get<boolean>('JupyterHub', 'allow_named_servers'),
    named_server_limit_per_user: Number(limit) || 0,
    spawn_url: spawnPath(hub, user.name, ''),
    user_url: mgr.serverPrefix(user.name, ''),
    api_user_url: `${hub.hubPrefix}api/users/${escapeName(user.name)}`,
  });
}

/** `{hub}user/<name>/...`: the proxy had no route for this server. */
async function userUrl(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const rest = (req.params as { '*': string })['*'] ?? '';
  const [pathPart, query = ''] = req.url.slice(`${hub.hubPrefix}user/`.length).split(/\?(.*)/s);
  const segs = pathPart.split('/');
  const name = decodeURIComponent(segs[0] ?? '');
  if (!name) throw new HttpError(404, '');
  if (segs.length === 1) return reply.code(301).redirect(`${hub.hubPrefix}user/${segs[0]}/${query ? '?' + query : ''}`);
  void rest;
  const auth = await hub.rbac.identify(req, { api: false });
  const current = auth.identity?.user ?? null;
  const mgr = manager(hub);
  const owner = await findUser(hub, name);
  // A named server is recognised only if the user has one by that name.
  let server = '';
  if (owner && segs.length > 2 && segs[1] && hub.config.get<boolean>('JupyterHub', 'allow_named_servers')) {
    const cand = decodeURIComponent(segs[1]);
    if (await findRow(hub, owner.id, cand)) server = cand;
  }
  const serverPath = `${hub.baseUrl}user/${pathPart}`;
  const apiLike = segs.slice(server ? 2 : 1).includes('api') || /application\/json/.test(String(req.headers.accept ?? '')) && !/text\/html/.test(String(req.headers.accept ?? ''));
  if (!auth.identity) {
    if (req.method !== 'GET' || apiLike) throw new HttpError(403, 'Missing or invalid credentials.');
    return reply.redirect(`${hub.hubPrefix}login?next=${encodeURIComponent(req.url)}`);
  }
  if (!owner || !(await hub.rbac.can(auth, 'access:servers', { server: `${name}/${server}` }))) throw new HttpError(404, '');
  const q = (req.query ?? {}) as Record<string, unknown>;
  if (mgr.ready(owner.id, server)) {
    // The proxy has not caught up: redirect back with back-off, up to user_redirect_limit.
    const n = Number(q.redirects ?? 0) || 0;
    const limit = 4;
    if (n >= limit) throw new HttpError(500, 'Redirect loop detected.');
    await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** n, 10000) / 4));
    const params = new URLSearchParams(query);
    params.set('redirects', String(n + 1));
    return reply.redirect(`${serverPath}?${params.toString()}`);
  }
  const spawnUrl = new URL(spawnPath(hub, owner.name, server), 'http://x').pathname;
  if (mgr.pending(owner.id, server) || mgr.failed(owner.id, server)) {
    return reply.code(303).redirect(`${pendingPath(hub, owner.name, server)}?next=${encodeURIComponent(serverPath + (query ? '?' + query : ''))}`);
  }
  const status = hub.config.get<boolean>('JupyterHub', 'use_legacy_stopped_server_status_code') ? 503 : 424;
  if (req.method !== 'GET' || apiLike) {
    const origin = hub.publicUrl ? new URL(hub.publicUrl).origin : `${req.protocol}://${req.headers.host ?? ''}`;
    return reply
      .status(status)
      .header('Content-Type', 'application/json')
      .send(JSON.stringify({ message: `JupyterHub server no longer running at ${serverPath}. Restart the server at ${origin}${spawnUrl}` }));
  }
  const next = serverPath + (query ? '?' + query : '');
  return renderPage(
    hub,
    req,
    reply,
    'not_running.html',
    {
      user: current,
      for_user: owner,
      server_name: server,
      spawn_url: `${spawnUrl}?next=${encodeURIComponent(next)}`,
      failed: false,
      failed_message: '',
      implicit_spawn_seconds: hub.config.get<number>('JupyterHub', 'implicit_spawn_seconds') || 0,
    },
    status,
  );
}

async function userRedirect(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const user = await requireUser(hub, req, reply);
  if (!user) return reply;
  const [pathPart, query] = req.url.slice(`${hub.hubPrefix}user-redirect/`.length).split(/\?(.*)/s);
  const hook = hub.config.get<unknown>('JupyterHub', 'user_redirect_hook');
  if (typeof hook === 'function') {
    const url = await (hook as (p: string, r: unknown, u: unknown, b: string) => unknown)(pathPart, req, user, hub.baseUrl);
    if (typeof url === 'string' && url) return reply.redirect(url);
  }
  const dsn = hub.config.get<boolean>('JupyterHub', 'allow_named_servers') ? hub.config.get<string>('JupyterHub', 'default_server_name') || '' : '';
  const mgr = manager(hub);
  const target = mgr.serverPrefix(user.name, dsn) + pathPart + (query ? '?' + query : '');
  return reply.redirect(`${spawnPath(hub, user.name, dsn)}?next=${encodeURIComponent(target)}`);
}

export function registerPages(app: FastifyInstance, hub: Hub): void {
  const h = hub.hubPrefix;
  const wrap = (fn: (hub: Hub, req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) => async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      return await fn(hub, req, reply);
    } catch (e) {
      if (e instanceof HttpError) {
        for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
        return renderError(hub, req, reply, e.status, e.message, await cookieUser(hub, req).catch(() => null));
      }
      throw e;
    }
  };
  for (const p of ['spawn', 'spawn/:user', 'spawn/:user/:server']) {
    app.get(h + p, wrap(spawnPage));
    app.post(h + p, wrap(spawnPost));
  }
  app.get(h + 'spawn-pending/:user', wrap(pendingPage));
  app.get(h + 'spawn-pending/:user/:server', wrap(pendingPage));
  app.get(h + 'home', wrap(homePage));
  app.all(h + 'user/*', wrap(userUrl));
  app.get(h + 'user-redirect/*', wrap(userRedirect));
  // Requests for /user/... and /user-redirect/... that reach the hub (no route in the proxy).
  for (const p of ['user/*', 'user-redirect/*']) {
    app.all(hub.baseUrl + p, async (req, reply) => {
      const rest = req.url.slice(hub.baseUrl.length);
      return reply.code(req.method === 'GET' || req.method === 'HEAD' ? 302 : 307).redirect(h + rest);
    });
  }
}
