/**
 * The Node service library (src/services/hubauth.ts): the whoami example behind the hub
 * (node:http and Fastify flavours) with browser OAuth and token auth, and the
 * Express-style middleware on a plain node:http server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { freePort, type RunningHub } from '../helpers/hub.js';
import { HubAuth, HubOAuth, checkScopes, type HubUser } from '../../src/services/hubauth.js';
import { WHOAMI_NODE, bodyText, confirmIfAsked, ensureUsers, launchBrowser, login, shot, userToken, startServicesHub } from './util.js';

describe('Node HubAuth/HubOAuth library', () => {
  let hub: RunningHub;
  let browser: Browser;
  const callerToken = 'node-lib-caller-' + 'f'.repeat(20);

  before(async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    hub = await startServicesHub({
      config: {
        JupyterHub: {
          redirect_to_server: false,
          services: [
            { name: 'whoami-node', url: `http://127.0.0.1:${p1}`, command: [process.execPath, WHOAMI_NODE], environment: { WHOAMI_ALLOWED_USERS: 'alice' } },
            { name: 'whoami-fastify', url: `http://127.0.0.1:${p2}`, command: [process.execPath, WHOAMI_NODE], environment: { WHOAMI_FRAMEWORK: 'fastify' }, oauth_no_confirm: true },
            { name: 'caller', api_token: callerToken },
          ],
          load_roles: [{ name: 'node-services', scopes: ['access:services!service=whoami-node', 'access:services!service=whoami-fastify'], users: ['alice', 'bob'] }],
        },
      },
    });
    await ensureUsers(hub, ['alice', 'bob', 'carol']);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it('logs a browser in through the hub (node:http flavour) and refuses users outside hubUsers', async () => {
    const anon = await browser.newPage();
    await anon.goto(`${hub.url}/services/whoami-node/`);
    await anon.waitForURL((u) => u.pathname === '/hub/login');
    await anon.close();

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, hub, 'alice');
    await page.goto(`${hub.url}/services/whoami-node/some/page?x=1`);
    await confirmIfAsked(page, 'node-confirm');
    await page.waitForURL((u) => u.pathname === '/services/whoami-node/some/page');
    const model = JSON.parse(await bodyText(page)) as HubUser;
    await shot(page, 'node-whoami-alice');
    assert.equal(model.name, 'alice');
    const cookies = await ctx.cookies();
    const c = cookies.find((x) => x.name === 'service-whoami-node');
    assert.ok(c, 'login cookie named after the client id');
    assert.equal(c.path, '/services/whoami-node/');
    assert.equal(c.httpOnly, true);
    assert.ok(!cookies.some((x) => x.name.startsWith('service-whoami-node-oauth-state')), 'state cookie cleared');
    await ctx.close();

    const ctx2 = await browser.newContext();
    const bobPage = await ctx2.newPage();
    await login(bobPage, hub, 'bob');
    const final = bobPage.waitForResponse((r) => new URL(r.url()).pathname === '/services/whoami-node/' && r.status() !== 302);
    await bobPage.goto(`${hub.url}/services/whoami-node/`);
    await confirmIfAsked(bobPage);
    assert.equal((await final).status(), 403);
    await shot(bobPage, 'node-whoami-bob-403');
    assert.match(await bodyText(bobPage), /user bob is not allowed/);
    await ctx2.close();
  });

  it('works as a Fastify plugin (oauth_no_confirm: straight through)', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, hub, 'bob');
    await page.goto(`${hub.url}/services/whoami-fastify/`);
    await page.waitForURL((u) => u.pathname === '/services/whoami-fastify/');
    const model = JSON.parse(await bodyText(page)) as HubUser;
    await shot(page, 'node-fastify-bob');
    assert.equal(model.name, 'bob');
    await ctx.close();
  });

  it('accepts hub tokens and checks access scopes', async () => {
    const alice = await userToken(hub, 'alice');
    const carol = await userToken(hub, 'carol');
    for (const svc of ['whoami-node', 'whoami-fastify']) {
      const r = await fetch(`${hub.url}/services/${svc}/`, { headers: { Authorization: `bearer ${alice}` } });
      assert.equal(r.status, 200, svc);
      assert.equal(((await r.json()) as HubUser).name, 'alice');
      const c = await fetch(`${hub.url}/services/${svc}/`, { headers: { Authorization: `token ${carol}` } });
      assert.equal(c.status, 403, `${svc}: carol has no access:services`);
      const bad = await fetch(`${hub.url}/services/${svc}/`, { method: 'POST', headers: { Authorization: 'token nope-nope-nope-nope' }, redirect: 'manual' });
      assert.equal(bad.status, 403);
    }
  });

  it('Express-style middleware on node:http (token auth, hubGroups)', async () => {
    const auth = new HubAuth({ apiToken: callerToken, apiUrl: hub.api, baseUrl: '/', accessScopes: [], hubUsers: ['bob'], env: {} });
    const mw = auth.express();
    const server = http.createServer((req: IncomingMessage & { hubUser?: HubUser }, res: ServerResponse) => {
      mw(req, res, (err?: unknown) => {
        if (err) {
          res.statusCode = 500;
          res.end(String(err));
          return;
        }
        res.end(JSON.stringify({ via: 'next', user: req.hubUser?.name }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const bob = await userToken(hub, 'bob');
      const alice = await userToken(hub, 'alice');
      const r = await fetch(base, { headers: { Authorization: `token ${bob}` } });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { via: 'next', user: 'bob' });
      // cached: answered without asking the hub again (the same model object)
      assert.equal((await fetch(base, { headers: { Authorization: `token ${bob}` } })).status, 200);
      assert.equal((await fetch(base, { headers: { Authorization: `token ${alice}` } })).status, 403, 'not in hubUsers');
      assert.equal((await fetch(base)).status, 403, 'HubAuth has no login redirect');
    } finally {
      server.close();
    }
  });

  it('HubOAuth reads the service environment', () => {
    const a = new HubOAuth({
      env: {
        JUPYTERHUB_API_TOKEN: 't0ken',
        JUPYTERHUB_API_URL: 'http://10.0.0.1:8081/jh/hub/api',
        JUPYTERHUB_BASE_URL: '/jh/',
        JUPYTERHUB_SERVICE_PREFIX: '/jh/services/x/',
        JUPYTERHUB_CLIENT_ID: 'service-x',
        JUPYTERHUB_OAUTH_CALLBACK_URL: '/jh/services/x/oauth_callback',
        JUPYTERHUB_OAUTH_ACCESS_SCOPES: '["access:services", "access:services!service=x"]',
        JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED: '1',
      },
    });
    assert.equal(a.hubPrefix, '/jh/hub/');
    assert.equal(a.authorizeUrl, '/jh/hub/api/oauth2/authorize');
    assert.equal(a.tokenUrl, 'http://10.0.0.1:8081/jh/hub/api/oauth2/token');
    assert.equal(a.cookieName, '__Host-service-x');
    assert.equal(a.cookiePath, '/');
    assert.equal(a.loginUrl, '/jh/hub/api/oauth2/authorize?client_id=service-x&redirect_uri=%2Fjh%2Fservices%2Fx%2Foauth_callback&response_type=code');
    assert.deepEqual(a.accessScopes, ['access:services', 'access:services!service=x']);
    assert.deepEqual(new HubAuth({ env: { JUPYTERHUB_SERVICE_NAME: 'y' } }).accessScopes, ['access:services!service=y']);
    assert.throws(() => new HubOAuth({ env: { JUPYTERHUB_API_TOKEN: 'x' } }), /client id cannot be empty/);
    assert.deepEqual(checkScopes(['access:services!service=x'], ['access:services']), ['access:services!service=x']);
    assert.deepEqual(checkScopes(['access:services'], ['access:services!service=x']), []);
    assert.deepEqual(checkScopes(['access:servers!server=a/'], ['access:servers!user=a']), ['access:servers!server=a/']);
  });
});
