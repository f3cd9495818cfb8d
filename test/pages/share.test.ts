/**
 * Accepting a share code in a real browser (rbac.md §10, rest-api.md §8.17): the code's
 * server and permissions are shown, the accept button posts with XSRF, the share is
 * granted and the browser goes to the shared server; owners cannot accept their own code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { launch, login, newPage, shot, xssFired } from './browser.js';

describe('accept-share', () => {
  let hub: RunningHub;
  let browser: Browser;
  let code = '';

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-pages-share-'));
    hub = await startHub({ dir, config: { JupyterHub: { spawner_class: 'simple' }, SimpleLocalProcessSpawner: { home_dir_template: dir }, Spawner: { start_timeout: 60, http_timeout: 60, args: ['--allow-root'] } } });
    for (const u of ['alice', 'bob']) assert.equal((await hub.apiFetch(`/users/${u}`, { method: 'POST' })).status, 201);
    const start = await hub.apiFetch('/users/alice/server', { method: 'POST' });
    assert.ok([201, 202].includes(start.status), await start.text());
    for (;;) {
      const m = await (await hub.apiFetch('/users/alice')).json();
      if (m.server) break;
      if (!m.pending) throw new Error(`alice's server did not start: ${JSON.stringify(m)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const r = await hub.apiFetch('/share-codes/alice/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 200, await r.clone().text());
    const body = await r.json();
    code = body.code;
    assert.equal(body.accept_url, `/hub/accept-share?code=${code}`);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  test('the owner cannot accept their own code', async () => {
    const w = await newPage(browser);
    await login(w.page, hub, 'alice');
    const resp = await w.page.goto(`${hub.url}/hub/accept-share?code=${code}`);
    assert.equal(resp!.status(), 403);
    await w.context.close();
  });

  test('an unknown code is a 404 page', async () => {
    const w = await newPage(browser);
    await login(w.page, hub, 'bob');
    const resp = await w.page.goto(`${hub.url}/hub/accept-share?code=nope-nope-nope`);
    assert.equal(resp!.status(), 404);
    await w.context.close();
  });

  test('a POST without the XSRF token is refused', async () => {
    const r = await fetch(`${hub.url}/hub/accept-share`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `code=${code}`, redirect: 'manual' });
    assert.equal(r.status, 403);
  });

  test('bob logs in from the link, sees the invitation and accepts it', async () => {
    const w = await newPage(browser);
    const p = w.page;
    const evilNext = '"><img src=x onerror=window.__xss=1>';
    await p.goto(`${hub.url}/hub/accept-share?code=${code}&next=${encodeURIComponent(evilNext)}`);
    assert.match(new URL(p.url()).pathname, /\/hub\/login$/);
    await login(p, hub, 'bob', `/hub/accept-share?code=${code}`);
    assert.equal(new URL(p.url()).pathname, '/hub/accept-share');
    const text = await p.locator('main').innerText();
    assert.match(text, /alice's server/);
    assert.match(text, /\/user\/alice\//);
    assert.match(text, /Applies to server alice\//);
    await shot(p, 'accept-share');
    // the unsafe next of the first visit never made it into the page
    await p.goto(`${hub.url}/hub/accept-share?code=${code}&next=${encodeURIComponent(evilNext)}`);
    assert.equal(await p.locator('img[src=x]').count(), 0);
    assert.equal(await p.locator('input[name=next]').count(), 0);
    assert.equal(await xssFired(p), false);
    const before = await (await hub.apiFetch('/users/bob/shared')).json();
    assert.equal(before.items.length, 0);
    const nav = p.waitForURL((u) => u.pathname.startsWith('/user/alice/') || u.pathname === '/hub/api/oauth2/authorize', { waitUntil: 'commit' });
    await p.getByRole('button', { name: 'Accept invitation' }).click();
    await nav;
    if (new URL(p.url()).pathname === '/hub/api/oauth2/authorize') {
      // alice's server asks the hub who bob is: JupyterHub confirms access to someone else's server
      await shot(p, 'accept-share-oauth-confirm');
      await Promise.all([p.waitForURL((u) => u.pathname.startsWith('/user/alice/'), { waitUntil: 'commit' }), p.getByRole('button', { name: 'Authorize' }).click()]);
    }
    // bob is now using alice's server (not the hub's 403/404 page)
    await p.waitForURL((u) => u.pathname.startsWith('/user/alice/') && !u.pathname.includes('oauth_callback'), { waitUntil: 'commit' });
    const after = await (await hub.apiFetch('/users/bob/shared')).json();
    assert.equal(after.items.length, 1);
    assert.equal(after.items[0].server.user.name, 'alice');
    assert.deepEqual(after.items[0].scopes, ['access:servers!server=alice/']);
    const codes = await (await hub.apiFetch('/share-codes/alice/')).json();
    assert.equal(codes.items[0].exchange_count, 1);
    assert.deepEqual(w.cspViolations, []);
    assert.deepEqual(w.dialogs, []);
    await w.context.close();
  });
});
