/** Root, info, health, services, proxy, shutdown and the legacy authorization endpoints. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import YAML from 'yaml';
import { HttpError, type Hub } from '../hub/app.js';
import type { ConfigurableHTTPProxy } from '../proxy/client.js';
import { ALL, type Resource } from '../rbac/scopes.js';
import { createApiToken } from '../hub/tokens.js';
import { getLogger } from '../util/log.js';
import { metrics } from '../metrics/index.js';
import { loadServices, serviceModel } from './models.js';
import { acceptsPagination, isDict, jsonBody, pagination, paginated, pyRepr, sendEmpty, sendJson } from './util.js';
import { escapePath } from '../rbac/entities.js';

const log = getLogger('JupyterHub', 'api');
const here = path.dirname(fileURLToPath(import.meta.url));
export const OPENAPI_FILE = path.resolve(here, '../../../src/api/openapi.yaml');

const SERVICE_MODEL_TYPES: Record<string, string> = {
  name: 'string', admin: 'boolean', url: 'string', oauth_client_allowed_scopes: 'list', api_token: 'string', info: 'dict', display: 'boolean',
  oauth_no_confirm: 'boolean', command: 'list', cwd: 'string', environment: 'dict', user: 'string', oauth_client_id: 'string', oauth_redirect_uri: 'string',
};

/** Reconcile the proxy with the hub: the hub route, then every module's routes. */
export async function reconcileProxy(hub: Hub): Promise<void> {
  const end = metrics.checkRoutesDuration.startTimer();
  try {
    await hub.addHubRoute();
    for (const r of hub.routeRestorers) await r();
  } finally {
    end();
  }
}

export function registerHubRoutes(app: FastifyInstance, hub: Hub, api: string): void {
  const rbac = hub.rbac;
  const db = () => hub.db.db;

  const root = async (_req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    if (!reply.hasHeader('Access-Control-Allow-Origin')) reply.header('Access-Control-Allow-Origin', '*');
    return sendJson(reply, 200, { version: hub.versionHeader });
  };
  app.get(api, root);
  app.get(`${api}/`, root);

  app.get(`${api}/info`, { preHandler: rbac.guard({ scopes: ['read:hub'] }) }, async (_req, reply) => {
    const cls = (kind: string, trait: string, dflt: string) => {
      const v = hub.config.get<unknown>('JupyterHub', trait);
      const name = typeof v === 'string' ? v : (v as { name?: string })?.name ?? dflt;
      return { class: name, version: hub.version ?? 'unknown' };
    };
    return sendJson(reply, 200, {
      version: hub.versionHeader,
      python: `Node.js ${process.version} (jhub ${hub.version})`,
      sys_executable: process.execPath,
      spawner: cls('spawner', 'spawner_class', 'LocalProcessSpawner'),
      authenticator: cls('authenticator', 'authenticator_class', 'PAMAuthenticator'),
    });
  });

  const health = async (_req: FastifyRequest, reply: import('fastify').FastifyReply) => reply.status(200).send('');
  for (const p of [`${hub.hubPrefix}health`, `${api}/health`]) {
    app.get(p, health);
  }

  // OpenAPI description of this API (kept true by test/api/openapi.test.ts).
  app.get(`${api}/openapi.yaml`, async (_req, reply) => reply.header('Content-Type', 'application/yaml').send(fs.readFileSync(OPENAPI_FILE, 'utf8')));
  app.get(`${api}/openapi.json`, async (_req, reply) => sendJson(reply, 200, YAML.parse(fs.readFileSync(OPENAPI_FILE, 'utf8'))));

  // ---- services
  const svcRes = (req: FastifyRequest): Resource => ({ service: (req.params as Record<string, string>).service });
  app.get(`${api}/services`, { preHandler: rbac.guard({ scopes: ['list:services'], postFilter: true }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const sub = auth.parsed.get('list:services');
    if (sub && sub !== ALL && !Object.keys(sub).every((k) => k === 'service')) throw new HttpError(403, 'Forbidden');
    const out: Record<string, unknown> = {};
    for (const s of await loadServices(hub)) {
      if (sub && sub !== ALL && !sub.service?.has(s.name)) continue;
      const m = serviceModel(auth, s);
      if (m) out[s.name] = m;
    }
    return sendJson(reply, 200, out);
  });
  app.get(`${api}/services/:service`, { preHandler: rbac.guard({ scopes: ['read:services', 'read:services:name', 'read:roles:services'], resource: svcRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const name = (req.params as Record<string, string>).service;
    const s = (await loadServices(hub)).find((x) => x.name === name);
    if (!s) throw new HttpError(404, `No such service: ${name}`);
    return sendJson(reply, 200, serviceModel(auth, s) ?? {});
  });
  app.post(`${api}/services/:service`, { preHandler: rbac.guard({ scopes: ['admin:services'], resource: svcRes }) }, async (req, reply) => {
    const auth = await rbac.identify(req);
    const name = (req.params as Record<string, string>).service;
    const data = jsonBody(req) ?? {};
    if (!isDict(data)) throw new HttpError(400, `Invalid JSON data: ${pyRepr(data)}`);
    for (const [k, v] of Object.entries(data)) {
      const t = SERVICE_MODEL_TYPES[k];
      if (!t) throw new HttpError(400, `Invalid JSON keys: ${pyRepr(data)}`);
      const ok = t === 'list' ? Array.isArray(v) : t === 'dict' ? isDict(v) : typeof v === t;
      if (!ok) throw new HttpError(400, `service.${k} must be ${t}, not: ${typeof v}`);
    }
    if (Array.isArray(data.command) && data.command.length) throw new HttpError(400, `Can not create managed service ${name} at runtime`);
    if (data.admin === true && !(await rbac.can(auth, 'admin:users'))) throw new HttpError(400, `Not assigning requested scopes to service ${name}: admin`);
    if (hub.services?.create) {
      await hub.services.create(name, data);
      rbac.invalidate();
      const m = (await loadServices(hub)).find((x) => x.name === name) ?? { name };
      return sendJson(reply, 201, serviceModel(auth, m) ?? {});
    }
    if (await db().selectFrom('services').select('id').where('name', '=', name).executeTakeFirst()) throw new HttpError(409, `Service ${name} already exists`);
    if (data.admin === true && !(await rbac.can(auth, 'admin:users'))) throw new HttpError(400, `Not assigning requested scopes to service ${name}: admin`);
    if (Array.isArray(data.oauth_client_allowed_scopes)) {
      const want = rbac.scopeSet.expand(data.oauth_client_allowed_scopes as string[], { kind: 'service', name });
      const missing = [...want].filter((s) => !auth.scopes.has(s) && !auth.parsed.has(s.split('!')[0]));
      if (missing.length) throw new HttpError(400, `Not assigning requested scopes ${missing.join(',')} not held by requester`);
    }
    const url = typeof data.url === 'string' && data.url ? data.url : null;
    const row = await db().insertInto('services').values({ name, admin: data.admin === true ? 1 : 0, url, oauth_client_id: null, state: '{}', from_config: 0 }).returningAll().executeTakeFirstOrThrow();
    if (typeof data.api_token === 'string') await createApiToken(db(), { serviceId: row.id, token: data.api_token, note: 'from config' });
    if (data.admin === true) {
      const admin = await rbac.roleByName('admin');
      if (admin) await db().insertInto('service_role_map').values({ service_id: row.id, role_id: admin.id }).execute();
    }
    if (url) await hub.proxy.addRoute(`${hub.baseUrl}services/${escapePath(name)}/`, url, { service: name }).catch((e) => log.error(`Failed to add route for service ${name}: ${e.message}`));
    rbac.invalidate();
    log.info(`Created service ${name}`);
    const s = (await loadServices(hub)).find((x) => x.name === name) ?? { name };
    return sendJson(reply, 201, serviceModel(auth, s) ?? {});
  });
  app.delete(`${api}/services/:service`, { preHandler: rbac.guard({ scopes: ['admin:services'], resource: svcRes }) }, async (req, reply) => {
    const name = (req.params as Record<string, string>).service;
    if (hub.services?.remove) {
      await hub.services.remove(name);
      rbac.invalidate();
      return sendEmpty(reply, 200);
    }
    const row = await db().selectFrom('services').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new HttpError(404, `No such service: ${name}`);
    if (row.from_config) throw new HttpError(405, `Service ${name} is not modifiable at runtime`);
    await db().deleteFrom('services').where('id', '=', row.id).execute();
    if (row.url) await hub.proxy.deleteRoute(`${hub.baseUrl}services/${escapePath(name)}/`).catch(() => {});
    rbac.invalidate();
    return sendEmpty(reply, 200);
  });

  // ---- proxy
  app.get(`${api}/proxy`, { preHandler: rbac.guard({ scopes: ['proxy'] }) }, async (req, reply) => {
    const { offset, limit } = pagination(hub, req);
    const end = metrics.proxyPollDuration.startTimer();
    const routes = await hub.proxy.getAllRoutes().finally(() => end());
    const keys = Object.keys(routes).sort();
    const items: Record<string, unknown> = {};
    for (const k of keys.slice(offset, offset + limit)) items[k] = routes[k];
    if (acceptsPagination(req)) return sendJson(reply, 200, paginated(req, items, offset, limit, keys.length));
    return sendJson(reply, 200, items);
  });
  app.post(`${api}/proxy`, { preHandler: rbac.guard({ scopes: ['proxy'] }) }, async (_req, reply) => {
    await reconcileProxy(hub);
    return sendEmpty(reply, 200);
  });
  app.patch(`${api}/proxy`, { preHandler: rbac.guard({ scopes: ['proxy'] }) }, async (req, reply) => {
    const data = jsonBody(req);
    if (!isDict(data)) throw new HttpError(400, 'Request body must be JSON dict');
    const opts = (hub.proxy as ConfigurableHTTPProxy).opts as { apiUrl?: string; authToken?: string } | undefined;
    if (opts) {
      if (typeof data.api_url === 'string') opts.apiUrl = data.api_url;
      if (typeof data.auth_token === 'string') opts.authToken = data.auth_token;
    }
    log.info(`Updated proxy at ${opts?.apiUrl ?? '?'}`);
    await reconcileProxy(hub);
    return sendEmpty(reply, 200);
  });

  // ---- shutdown
  app.post(`${api}/shutdown`, { preHandler: rbac.guard({ scopes: ['shutdown'] }) }, async (req, reply) => {
    const data = jsonBody(req);
    const opts: { servers?: boolean; proxy?: boolean } = {};
    if (data !== null && !isDict(data) && !(Array.isArray(data) && data.length === 0)) throw new HttpError(400, 'body must be a json dict');
    if (isDict(data)) {
      // JupyterHub checks proxy first; 1/0 pass as booleans there (Python's True == 1)
      for (const k of ['proxy', 'servers'] as const) {
        if (!(k in data)) continue;
        const v = data[k];
        if (v !== true && v !== false && v !== 1 && v !== 0) throw new HttpError(400, `${k} must be true or false, got ${pyRepr(v)}`);
        opts[k] = !!v;
      }
    }
    // for this shutdown only: overrides JupyterHub.cleanup_servers / cleanup_proxy
    hub.shutdownOptions = opts;
    log.info(`Shutdown requested through the API by ${(req as unknown as { identityName?: string }).identityName ?? '?'}${Object.keys(opts).length ? ` (${JSON.stringify(opts)})` : ''}`);
    reply.raw.once('finish', () => setTimeout(() => void hub.stop(), 10));
    return sendJson(reply, 202, { message: 'Shutting down Hub' });
  });

  // The legacy {hub}api/authorizations/* endpoints are served by the services module (src/services/legacy.ts).
}
