/**
 * A Flask whoami service using the unchanged `jupyterhub.services.auth.HubOAuth`, as a
 * hub-managed service (`command`) and as an external one (`url` + `api_token`, started by
 * the test), with logins in real Chromium.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { freePort, type RunningHub } from '../helpers/hub.js';
import { spawnProc, type Proc } from '../helpers/proc.js';
import { PYTHON, WHOAMI_FLASK, bodyText, confirmIfAsked, ensureUsers, launchBrowser, login, shot, userToken, startServicesHub } from './util.js';

describe('Flask whoami with HubOAuth (managed and external)', () => {
  let hub: RunningHub;
  let browser: Browser;
  let ext: Proc;
  const extToken = 'ext-service-token-' + Math.random().toString(36).slice(2);

  before(async () => {
    const [managedPort, extPort, hubPort] = [await freePort(), await freePort(), await freePort()];
    // the external service, started by the operator (here: the test) with the variables it needs
    ext = spawnProc(PYTHON, [WHOAMI_FLASK], {
      env: {
        ...process.env,
        JUPYTERHUB_API_TOKEN: extToken,
        JUPYTERHUB_API_URL: `http://127.0.0.1:${hubPort}/hub/api`,
        JUPYTERHUB_CLIENT_ID: 'service-ext',
        JUPYTERHUB_SERVICE_NAME: 'ext',
        JUPYTERHUB_SERVICE_PREFIX: '/services/ext/',
        JUPYTERHUB_OAUTH_CALLBACK_URL: '/services/ext/oauth_callback',
        JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${extPort}`,
      },
    });
    await ext.waitForLine(/Running on/, 30000);
    const pub = await freePort();
    hub = await startServicesHub({
      ports: { public: pub, api: await freePort(), hub: hubPort },
      config: {
        JupyterHub: {
          redirect_to_server: false,
          services: [
            {
              name: 'whoami',
              url: `http://127.0.0.1:${managedPort}`,
              command: [PYTHON, WHOAMI_FLASK],
              environment: { WHOAMI_ALLOWED_USERS: 'alice' },
              info: { description: 'who am I' },
            },
            { name: 'ext', url: `http://127.0.0.1:${extPort}`, api_token: extToken, oauth_no_confirm: true, display: false },
          ],
          load_roles: [{ name: 'service-users', scopes: ['access:services!service=whoami', 'access:services!service=ext'], users: ['alice', 'bob'] }],
        },
      },
    });
    await ensureUsers(hub, ['alice', 'bob', 'carol']);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
    await ext?.stop();
  });

  it('logs the config token and starts the managed service with its output in the hub log', async () => {
    assert.match(hub.output(), /Adding API token for service: ext/);
    assert.match(hub.output(), /\[service whoami\] .*Running on/);
    assert.doesNotMatch(hub.output(), new RegExp(extToken));
  });

  it('lists both services in the API with the fields of the Service model', async () => {
    const r = await hub.apiFetch('/services');
    assert.equal(r.status, 200);
    const all = (await r.json()) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(all).sort(), ['ext', 'whoami']);
    const w = all.whoami;
    assert.equal(w.kind, 'service');
    assert.equal(w.prefix, '/services/whoami/');
    assert.deepEqual(w.command, [PYTHON, WHOAMI_FLASK]);
    assert.ok(typeof w.pid === 'number' && w.pid > 0, `pid ${w.pid}`);
    assert.deepEqual(w.info, { description: 'who am I' });
    assert.equal(w.display, true);
    assert.equal(all.ext.pid, 0);
    assert.deepEqual(all.ext.command, []);
    assert.equal(all.ext.display, false);
  });

  it('routes /services/<name>/ in the proxy with data {service: name}', async () => {
    const r = await hub.apiFetch('/proxy');
    const routes = (await r.json()) as Record<string, { target: string; data: Record<string, unknown> }>;
    assert.equal(routes['/services/whoami/']?.data.service, 'whoami');
    assert.equal(routes['/services/ext/']?.data.service, 'ext');
  });

  it('sends an anonymous browser to the hub login page', async () => {
    const page = await browser.newPage();
    await page.goto(`${hub.url}/services/whoami/`);
    await page.waitForURL((u) => u.pathname === '/hub/login');
    await shot(page, 'flask-anonymous-login');
    assert.match(decodeURIComponent(page.url()), /next=\/hub\/api\/oauth2\/authorize\?client_id=service-whoami/);
    await page.close();
  });

  it('shows a logged-in user their own model (managed service, after the confirmation page)', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, hub, 'alice');
    await page.goto(`${hub.url}/services/whoami/`);
    await confirmIfAsked(page, 'flask-managed-confirm');
    await page.waitForURL((u) => u.pathname === '/services/whoami/');
    const model = JSON.parse(await bodyText(page));
    await shot(page, 'flask-managed-alice');
    assert.equal(model.name, 'alice');
    assert.equal(model.kind, 'user');
    assert.ok(model.scopes.includes('access:services!service=whoami'), JSON.stringify(model.scopes));
    // the external service skips the confirmation page (oauth_no_confirm)
    await page.goto(`${hub.url}/services/ext/`);
    await page.waitForURL((u) => u.pathname === '/services/ext/');
    const m2 = JSON.parse(await bodyText(page));
    await shot(page, 'flask-external-alice');
    assert.equal(m2.name, 'alice');
    await ctx.close();
  });

  it('refuses a user the service does not allow (403 from the service)', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, hub, 'bob');
    const final = page.waitForResponse((r) => new URL(r.url()).pathname === '/services/whoami/' && r.status() !== 302);
    await page.goto(`${hub.url}/services/whoami/`);
    await confirmIfAsked(page);
    const resp = await final;
    await shot(page, 'flask-managed-bob-403');
    assert.equal(resp.status(), 403);
    assert.match(await bodyText(page), /user bob is not allowed/);
    await ctx.close();
  });

  it('refuses a user without access:services at the hub (403 on authorize)', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, hub, 'carol');
    const resp = await page.goto(`${hub.url}/services/ext/`);
    await shot(page, 'flask-external-carol-403');
    assert.equal(resp?.status(), 403);
    assert.match(new URL(page.url()).pathname, /\/hub\/api\/oauth2\/authorize$/);
    await ctx.close();
  });

  it('accepts hub tokens in the Authorization header (HubAuth token path)', async () => {
    const alice = await userToken(hub, 'alice');
    const carol = await userToken(hub, 'carol');
    for (const svc of ['whoami', 'ext']) {
      const r = await fetch(`${hub.url}/services/${svc}/`, { headers: { Authorization: `token ${alice}` } });
      assert.equal(r.status, 200, svc);
      assert.equal(((await r.json()) as { name: string }).name, 'alice');
      const c = await fetch(`${hub.url}/services/${svc}/`, { headers: { Authorization: `token ${carol}` } });
      assert.equal(c.status, 403, `${svc}: carol lacks access:services`);
      const bad = await fetch(`${hub.url}/services/${svc}/`, { headers: { Authorization: 'token not-a-real-token-at-all' } });
      assert.equal(bad.status, 403);
    }
  });

  it("lets the service's own token identify the service", async () => {
    const r = await fetch(`${hub.api}/user`, { headers: { Authorization: `token ${extToken}` } });
    assert.equal(r.status, 200);
    const m = (await r.json()) as { kind: string; name: string };
    assert.equal(m.kind, 'service');
    assert.equal(m.name, 'ext');
  });
});
