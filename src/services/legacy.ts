/**
 * Legacy authorization endpoints old services still call (rest-api.md §8.19):
 *
 *   GET  {hub}api/authorizations/token/:token                 → owner model of that token
 *   POST {hub}api/authorizations/token                        → 404 (removed in 2.0)
 *   GET  {hub}api/authorizations/cookie/:name[/:value]        → user of a hub-signed cookie
 *
 * Both GETs require token authentication (no specific scope), as JupyterHub 5's
 * `@token_authenticated`; models are filtered by the caller's scopes plus the owner's
 * identify scopes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';
import type { ServiceRow, UserRow } from '../db/schema.js';
import { findApiToken } from '../hub/tokens.js';
import { unsignValue } from '../util/crypto.js';
import { getLogger } from '../util/log.js';
import { identifyScopes, parseScopes, type RequestAuth } from '../rbac/index.js';
import { loadServices, loadUserBundles, serviceModel, userModel } from '../api/models.js';

const log = getLogger('JupyterHub', 'services');

/** The caller, who must have authenticated with a token. */
async function tokenCaller(hub: Hub, req: FastifyRequest): Promise<RequestAuth> {
  const auth = await hub.rbac.identify(req, { api: true });
  if (!auth.identity || !auth.identity.token) throw new HttpError(403, 'Missing or invalid credentials.');
  return auth;
}

/** Caller's scopes plus the owner's identify scopes (having the token means reading its owner). */
function withIdentify(auth: RequestAuth, owner: { kind: 'user' | 'service'; name: string }): RequestAuth {
  const scopes = new Set([...auth.scopes, ...identifyScopes(owner)]);
  return { ...auth, scopes, parsed: parseScopes(scopes), groupCache: new Map() };
}

async function userJson(hub: Hub, auth: RequestAuth, user: UserRow): Promise<Record<string, unknown>> {
  const [bundle] = await loadUserBundles(hub, [user]);
  return userModel(hub, auth, bundle) ?? { kind: 'user', name: user.name };
}

async function serviceJson(hub: Hub, auth: RequestAuth, svc: ServiceRow): Promise<Record<string, unknown>> {
  const info = (await loadServices(hub)).find((s) => s.name === svc.name) ?? { name: svc.name, admin: !!svc.admin };
  return serviceModel(auth, info) ?? { kind: 'service', name: svc.name };
}

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * Register the legacy endpoints, skipping any route another module already declared
 * (so this module can sit at the end of the module list without conflicts).
 */
export function legacyRoutes(app: FastifyInstance, hub: Hub): void {
  const api = `${hub.hubPrefix}api/authorizations`;
  const add = (method: 'GET' | 'POST', url: string, handler: Handler) => {
    if (app.hasRoute({ method, url })) {
      log.debug(`${method} ${url} is already served by another module`);
      return;
    }
    app.route({ method, url, handler });
  };

  add('GET', `${api}/token/:token`, async (req, reply) => {
    const caller = await tokenCaller(hub, req);
    log.warn('/authorizations/token/:token endpoint is deprecated in JupyterHub 2.0. Use /api/user');
    const token = (req.params as { token: string }).token;
    const row = await findApiToken(hub.db.db, token);
    if (!row) throw new HttpError(404, 'Not Found');
    const db = hub.db.db;
    const now = new Date().toISOString();
    let body: Record<string, unknown>;
    if (row.user_id != null) {
      const user = await db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst();
      if (!user) throw new HttpError(404, 'Not Found');
      await db.updateTable('api_tokens').set({ last_activity: now }).where('id', '=', row.id).execute();
      await db.updateTable('users').set({ last_activity: now }).where('id', '=', user.id).execute();
      user.last_activity = now;
      body = await userJson(hub, withIdentify(caller, { kind: 'user', name: user.name }), user);
    } else if (row.service_id != null) {
      const svc = await db.selectFrom('services').selectAll().where('id', '=', row.service_id).executeTakeFirst();
      if (!svc) throw new HttpError(404, 'Not Found');
      await db.updateTable('api_tokens').set({ last_activity: now }).where('id', '=', row.id).execute();
      body = await serviceJson(hub, withIdentify(caller, { kind: 'service', name: svc.name }), svc);
    } else {
      log.warn(`Token ${row.prefix}... has no user or service. Deleting...`);
      await db.deleteFrom('api_tokens').where('id', '=', row.id).execute();
      throw new HttpError(404, 'Not Found');
    }
    return reply.header('Content-Type', 'application/json').send(JSON.stringify(body));
  });

  add('POST', `${api}/token`, async () => {
    throw new HttpError(404, 'Deprecated endpoint /hub/api/authorizations/token is removed in JupyterHub 2.0. Use /hub/api/users/:user/tokens instead.');
  });

  const cookieHandler = async (req: FastifyRequest) => {
    const caller = await tokenCaller(hub, req);
    log.warn('/authorizations/cookie endpoint is deprecated in JupyterHub 2.0. Use /api/user with OAuth tokens.');
    const p = req.params as { name: string; value?: string };
    let value = p.value;
    if (value === undefined) {
      log.warn('Cookie values in request body is deprecated, use `/cookie_name/cookie_value`');
      value = typeof req.body === 'string' ? req.body : '';
    }
    // a hub-signed cookie: the login cookie (or the 3.x `jupyterhub-services` cookie, which this hub never sets)
    const cookieId = unsignValue(hub.cookieSecret, p.name, value.trim());
    if (!cookieId) throw new HttpError(404, 'Not Found');
    const user = await hub.db.db.selectFrom('users').selectAll().where('cookie_id', '=', cookieId).executeTakeFirst();
    if (!user) throw new HttpError(404, 'Not Found');
    return userJson(hub, caller, user);
  };
  add('GET', `${api}/cookie/:name`, async (req, reply) => reply.header('Content-Type', 'application/json').send(JSON.stringify(await cookieHandler(req))));
  add('GET', `${api}/cookie/:name/:value`, async (req, reply) => reply.header('Content-Type', 'application/json').send(JSON.stringify(await cookieHandler(req))));
}
