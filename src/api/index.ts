/**
 * The REST API module: every endpoint of rest-api.md under `{hub}api`, with CORS headers,
 * `OPTIONS` → 200, 405 for unsupported methods on known paths, and JSON errors.
 */
import type { HubModule } from '../hub/modules.js';
import { registerUserRoutes } from './users.js';
import { registerGroupRoutes } from './groups.js';
import { registerHubRoutes } from './hub.js';
import { registerShareRoutes } from './shares.js';
import { HttpError } from '../hub/app.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const apiModule: HubModule = {
  name: 'api',
  async routes(app, hub) {
    const api = `${hub.hubPrefix}api`;
    // Every API response carries the CORS header of JupyterHub (also on errors and 404s).
    hub.server.server.on('request', (req, res) => {
      if (req.url && (req.url === api || req.url.startsWith(api + '/') || req.url.startsWith(api + '?'))) {
        res.setHeader('Access-Control-Allow-Headers', 'accept, content-type, authorization');
        res.setHeader('Content-Security-Policy', `frame-ancestors 'none'; report-uri ${hub.hubPrefix}security/csp-report; default-src 'none'`);
      }
    });
    const seen = new Map<string, Set<string>>();
    app.addHook('onRoute', (r) => {
      if (!r.url.startsWith(api)) return;
      const set = seen.get(r.url) ?? new Set<string>();
      for (const m of [r.method].flat()) set.add(String(m).toUpperCase());
      seen.set(r.url, set);
    });
    registerHubRoutes(app, hub, api);
    registerUserRoutes(app, hub, api);
    registerGroupRoutes(app, hub, api);
    registerShareRoutes(app, hub, api);
    const notAllowed = async () => {
      throw new HttpError(405, 'Method Not Allowed');
    };
    for (const [url, methods] of [...seen]) {
      const missing = METHODS.filter((m) => !methods.has(m));
      if (missing.length) app.route({ method: [...missing], url, handler: notAllowed });
    }
    app.options(api, async (_req, reply) => reply.status(200).send(''));
    app.options(`${api}/*`, async (_req, reply) => reply.status(200).send(''));
  },
};
