/**
 * The hub's basic web surface: static files, the logo, the redirects at `/` and `{hub}`,
 * and the proxy's error target (`{hub}error/<code>`).
 */
import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import { STATIC_DIR, renderError, staticSearchPath } from './render.js';
import { cookieUser } from '../hub/identity.js';
import { getLogger } from '../util/log.js';

const log = getLogger('JupyterHub', 'web');

export const webModule: HubModule = {
  name: 'web',
  async routes(app, hub: Hub) {
    // {hub}static/: extra_static_paths first, then the built-in files. Like tornado:
    // `Cache-Control: no-cache` unless the URL carries `?v=<hash>` (static_url adds it).
    const staticPrefix = `${hub.hubPrefix}static/`;
    await app.register(fastifyStatic, {
      root: staticSearchPath(hub),
      prefix: staticPrefix,
      cacheControl: false,
    });
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.url.startsWith(staticPrefix) && reply.statusCode < 400) {
        const v = (req.query as Record<string, unknown> | undefined)?.v;
        reply.header('Cache-Control', v ? 'max-age=315360000, public' : 'no-cache');
        reply.header('X-Content-Type-Options', 'nosniff');
      }
      return payload;
    });
    app.get(`${hub.hubPrefix}logo`, async (_req, reply) => {
      const logo = hub.config.get<string>('JupyterHub', 'logo_file');
      const file = logo ? path.resolve(hub.cwd, logo) : path.join(STATIC_DIR, 'images', 'logo.svg');
      if (!fs.existsSync(file)) return reply.status(404).send();
      const ext = path.extname(file).toLowerCase();
      const type = { '.png': 'image/png', '.svg': 'image/svg+xml', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif' }[ext] ?? 'application/octet-stream';
      return reply.header('Content-Type', type).header('Cache-Control', 'max-age=3600').send(fs.createReadStream(file));
    });
    // The proxy sends users here when a route's target fails (--error-target).
    app.get(`${hub.hubPrefix}error/:code`, async (req, reply) => {
      const code = Number((req.params as { code: string }).code);
      const status = code >= 400 && code < 600 ? code : 500;
      const url = String((req.query as { url?: string }).url ?? '');
      const message = status === 503 || status === 502 ? `Your server at ${url || 'this address'} is not responding. It may have stopped or be starting up.` : '';
      return renderError(hub, req, reply, status, message, await cookieUser(hub, req));
    });
    app.post(`${hub.hubPrefix}security/csp-report`, async (req, reply) => {
      let report = typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? '');
      if (report.length > 2000) report = report.slice(0, 2000) + '…';
      log.warn(`Content security violation: ${report.replace(/[\r\n]+/g, ' ')}`);
      return reply.status(204).send();
    });
    if (hub.baseUrl !== '/') app.get(hub.baseUrl.slice(0, -1), async (_req, reply) => reply.redirect(hub.baseUrl));
    app.get(hub.baseUrl, async (_req, reply) => reply.redirect(hub.hubPrefix));
    app.get(hub.hubPrefix.slice(0, -1), async (_req, reply) => reply.redirect(hub.hubPrefix));
  },
};
