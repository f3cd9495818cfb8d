/**
 * End to end with the real jupyterhub-singleuser and JupyterLab, run as real system users
 * by LocalProcessSpawner, in real Chromium: log in through the form, progress page,
 * JupyterLab, a notebook printing 42; a named server; another user is refused (403); an
 * admin (access:servers) gets in after the confirmation page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { labConfig, api, browserLogin, createSystemUser, ensureUsers, launchBrowser, removeSystemUser, routes, shot, spawnAndRunNotebook, userPythonEnv } from './helpers.js';

describe('JupyterLab through jhub (LocalProcessSpawner, real users, Chromium)', { timeout: 900000 }, () => {
  let hub: RunningHub;
  let browser: Browser;
  let alice: string;
  let bob: string;

  before(async () => {
    const env = await userPythonEnv();
    alice = await createSystemUser();
    bob = await createSystemUser();
    hub = await startHub({ env, config: labConfig() });
    // Created through the API (default roles); login through the form follows.
    await ensureUsers(hub, [alice, bob]);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (hub) {
      await hub.stop();
      if (process.env.JHUB_TEST_VERBOSE) console.log(hub.output());
    }
    for (const u of [alice, bob]) if (u) await removeSystemUser(u);
  });

  test('a user logs in, waits on the progress page, lands in JupyterLab and runs print(6*7)', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await browserLogin(page, hub, alice);
    await spawnAndRunNotebook(page, hub, alice, '', 'alice-default');
    const r = await api<{ servers: Record<string, { ready: boolean; url: string }> }>(hub, `/users/${alice}`);
    assert.equal(r.body.servers[''].ready, true);
    const rt = await routes(hub);
    assert.deepEqual({ user: rt[`/user/${alice}`]?.user, server_name: rt[`/user/${alice}`]?.server_name }, { user: alice, server_name: '' });
    // The server's API token is listed with its note.
    const toks = await api<{ api_tokens: { note: string }[] }>(hub, `/users/${alice}/tokens`);
    assert.ok(toks.body.api_tokens.some((t) => t.note === `Server at /user/${alice}/`), JSON.stringify(toks.body));
    await ctx.close();
  });

  test('the same through a named server', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await browserLogin(page, hub, alice);
    await spawnAndRunNotebook(page, hub, alice, 'second', 'alice-named');
    const rt = await routes(hub);
    assert.equal(rt[`/user/${alice}/second`]?.server_name, 'second');
    // Home page lists it.
    await page.goto(`${hub.url}/hub/home`);
    await page.locator(`tr[data-server-name="second"]`).waitFor();
    await shot(page, 'alice-home');
    await ctx.close();
  });

  test("another user cannot open the first user's server (403)", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await browserLogin(page, hub, bob);
    const resp = await page.goto(`${hub.url}/user/${alice}/lab`);
    assert.equal(resp?.status(), 403);
    assert.match(page.url(), /\/hub\/api\/oauth2\/authorize/);
    await shot(page, 'bob-403');
    await ctx.close();
  });

  test('an admin (access:servers) can, after confirming', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await browserLogin(page, hub, 'admin');
    await page.goto(`${hub.url}/user/${alice}/lab`);
    if (/oauth2\/authorize/.test(page.url())) {
      await shot(page, 'admin-confirm');
      await page.locator('#authorize').click();
    }
    await page.waitForURL((u) => u.pathname.startsWith(`/user/${alice}/lab`), { timeout: 60000 });
    await page.locator('#jp-main-dock-panel').waitFor({ timeout: 120000 });
    await shot(page, 'admin-in-alice-lab');
    await ctx.close();
  });

  test('stopping removes the route and the server token', async () => {
    for (const s of ['', 'second']) {
      const r = await hub.apiFetch(`/users/${alice}/${s ? 'servers/' + s : 'server'}`, { method: 'DELETE' });
      assert.ok([202, 204].includes(r.status), String(r.status));
    }
    const { waitFor } = await import('./helpers.js');
    await waitFor(async () => {
      const r = await api<{ servers: Record<string, unknown> }>(hub, `/users/${alice}`);
      return Object.keys(r.body.servers).length === 0;
    }, 'servers to stop');
    const rt = await routes(hub);
    assert.equal(rt[`/user/${alice}`], undefined);
    assert.equal(rt[`/user/${alice}/second`], undefined);
    const toks = await api<{ api_tokens: { note: string }[] }>(hub, `/users/${alice}/tokens`);
    assert.ok(!toks.body.api_tokens.some((t) => t.note.startsWith('Server at ')), JSON.stringify(toks.body));
  });
});
