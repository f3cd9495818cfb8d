#!/usr/bin/env node
/**
 * whoami service in Node, using jhub's HubOAuth (the Node equivalent of
 * jupyterhub.services.auth.HubOAuth). Run it as a hub-managed service:
 *
 *   c.JupyterHub.services = [{
 *       "name": "whoami-node",
 *       "url": "http://127.0.0.1:10102",
 *       "command": ["node", "/path/to/jhub/examples/whoami-node/whoami.mjs"],
 *   }]
 *   c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "access:services"]}]
 *
 * Browsers are logged in through the hub's OAuth; API clients send
 * `Authorization: token <hub token>`. Either way the answer is the hub's user model.
 *
 * Options (environment): WHOAMI_ALLOWED_USERS / WHOAMI_ALLOWED_GROUPS (comma-separated),
 * WHOAMI_FRAMEWORK=fastify to serve through Fastify with the hubAuthPlugin instead of node:http.
 */
import http from 'node:http';
import { HubOAuth, hubAuthPlugin } from '../../dist/src/services/hubauth.js';

const list = (v) => (v ? v.split(',').filter(Boolean) : undefined);
const auth = new HubOAuth({
  cacheMaxAge: 60,
  hubUsers: list(process.env.WHOAMI_ALLOWED_USERS),
  hubGroups: list(process.env.WHOAMI_ALLOWED_GROUPS),
});
const url = new URL(process.env.JUPYTERHUB_SERVICE_URL || 'http://127.0.0.1:10102');
const port = Number(url.port || 80);
const host = url.hostname;

function whoami(user) {
  return JSON.stringify(user, null, 1);
}

if (process.env.WHOAMI_FRAMEWORK === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  await app.register(hubAuthPlugin, { auth });
  app.get(`${auth.baseUrl}*`, async (req, reply) => reply.type('application/json').send(whoami(req.hubUser)));
  app.get(auth.baseUrl, async (req, reply) => reply.type('application/json').send(whoami(req.hubUser)));
  await app.listen({ host, port });
} else {
  const server = http.createServer(
    auth.nodeHandler((req, res, user) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(whoami(user));
    }),
  );
  server.listen(port, host);
}
console.log(`whoami-node (${process.env.WHOAMI_FRAMEWORK || 'node:http'}) listening on ${host}:${port}${auth.baseUrl}`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
