/**
 * The same end-to-end flow with the real configurable-http-proxy (node_modules/.bin) as the
 * hub's proxy: login, progress page, JupyterLab, a notebook printing 42; SIGKILLed hub
 * restarted with the route intact.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ROOT, startHub, type RunningHub } from '../helpers/hub.js';
import { labConfig, browserLogin, createSystemUser, ensureUsers, launchBrowser, removeSystemUser, routes, spawnAndRunNotebook, userPythonEnv, waitFor } from './helpers.js';

const CHP = path.join(ROOT, 'node_modules', '.bin', 'configurable-http-proxy');

describe('JupyterLab through jhub driving the real configurable-http-proxy', { timeout: 900000 }, () => {
  let hub: RunningHub;
  let browser: Browser;
  let user: string;
  let env: Record<string, string>;
  const cfg = () => labConfig({ ConfigurableHTTPProxy: { command: [CHP] } });

  before(async () => {
    env = await userPythonEnv();
    user = await createSystemUser();
    hub = await startHub({ env, config: cfg() });
    await ensureUsers(hub, [user]);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (hub) await hub.stop();
    if (user) await removeSystemUser(user);
  });

  test('login, progress page, JupyterLab, print(6*7) → 42', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await browserLogin(page, hub, user);
    await spawnAndRunNotebook(page, hub, user, '', 'chp');
    const rt = await routes(hub);
    assert.equal(rt[`/user/${user}`]?.user, user);
    await ctx.close();
  });

  test('hub SIGKILLed and restarted: the server and its route come back', async () => {
    await hub.stop('SIGKILL');
    hub = await startHub({ env, config: cfg(), dir: hub.dir, ports: hub.ports });
    await waitFor(async () => (await routes(hub))[`/user/${user}`], 'route restored');
    // Jupyter Server answers its API root without authentication.
    const r = await fetch(`${hub.url}/user/${user}/api`);
    assert.equal(r.status, 200);
    assert.ok('version' in ((await r.json()) as object));
  });
});
