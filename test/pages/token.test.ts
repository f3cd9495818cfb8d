/**
 * The token page in a real browser: request tokens with note, expiry and scopes, see them
 * listed with OAuth-authorized applications, revoke both; XSS in notes stays inert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { hashToken } from '../../src/util/crypto.js';
import { launch, login, newPage, overflowsHorizontally, shot, xssFired, type Watched } from './browser.js';

const XSS_NOTE = '<img src=x onerror=window.__xss=3>';

describe('token page', () => {
  let hub: RunningHub;
  let browser: Browser;
  let w: Watched;
  let page: Page;
  let created = '';

  before(async () => {
    hub = await startHub();
    assert.equal((await hub.apiFetch('/users/alice', { method: 'POST' })).status, 201);
    browser = await launch();
    w = await newPage(browser);
    page = w.page;
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  test('logged-out visitors are sent to login', async () => {
    const r = await fetch(`${hub.url}/hub/token`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/hub/login?next=%2Fhub%2Ftoken');
  });

  test('request a token with note, expiry and scopes', async () => {
    await login(page, hub, 'alice', '/hub/token');
    assert.equal(new URL(page.url()).pathname, '/hub/token');
    await page.locator('#token-app[data-ready=true]').waitFor();
    await page.getByLabel('Note').fill(XSS_NOTE);
    await page.getByLabel('Token expires in').selectOption({ label: '1 Day' });
    await page.getByLabel('Permissions').fill('read:users:name!user=alice, read:users:activity!user=alice');
    await page.getByRole('button', { name: 'Request new API token' }).click();
    await page.locator('#token-area:not([hidden])').waitFor();
    created = (await page.locator('#token-result').innerText()).trim();
    assert.match(created, /^\S{16,}$/);
    const me = await (await hub.apiFetch('/user', { token: created })).json();
    assert.equal(me.name, 'alice');
    assert.ok(me.scopes.includes('read:users:activity!user=alice'), JSON.stringify(me.scopes));
    assert.ok(!me.scopes.some((s: string) => s.startsWith('tokens')), JSON.stringify(me.scopes));
    const row = page.locator('#api-tokens tr', { hasText: XSS_NOTE });
    await row.waitFor();
    assert.match(await row.innerText(), /read:users:activity!user=alice/);
    const { api_tokens } = await (await hub.apiFetch('/users/alice/tokens')).json();
    const t = api_tokens.find((x: { note: string }) => x.note === XSS_NOTE);
    const hours = (Date.parse(t.expires_at) - Date.now()) / 3600e3;
    assert.ok(hours > 23 && hours <= 24, String(hours));
    assert.equal(await xssFired(page), false);
    await shot(page, 'token-created');
  });

  test('a scope alice does not hold is refused with a readable error', async () => {
    await page.getByLabel('Permissions').fill('admin:users');
    await page.getByRole('button', { name: 'Request new API token' }).click();
    await page.locator('#token-error:not([hidden])').waitFor();
    assert.match(await page.locator('#token-error').innerText(), /400/);
    await page.getByLabel('Permissions').fill('');
  });

  test('OAuth-issued tokens are listed as authorized applications and can be revoked', async () => {
    const db = new Database(path.join(hub.dir, 'jupyterhub.sqlite'));
    try {
      const now = new Date().toISOString();
      db.prepare(
        `insert into oauth_clients (identifier, description, secret, redirect_uri, allowed_scopes, user_id, spawner_id, service_id, created) values (?, ?, ?, ?, ?, null, null, null, ?)`,
      ).run('service-demo', 'JupyterHub service <b>demo</b>', hashToken('s3cret-secret-value'), '/services/demo/oauth_callback', '[]', now);
      const alice = db.prepare('select id from users where name = ?').get('alice') as { id: number };
      for (const tok of ['oauth-token-one-000000000000001', 'oauth-token-two-000000000000002'])
        db.prepare(
          `insert into api_tokens (hashed, prefix, user_id, service_id, oauth_client_id, session_id, created, expires_at, last_activity, note, scopes) values (?, ?, ?, null, 'service-demo', null, ?, null, null, '', ?)`,
        ).run(hashToken(tok), tok.slice(0, 4), alice.id, now, JSON.stringify(['read:users:name!user=alice']));
    } finally {
      db.close();
    }
    await page.reload();
    await page.locator('#token-app[data-ready=true]').waitFor();
    const app = page.locator('#oauth-clients tr', { hasText: 'JupyterHub service <b>demo</b>' });
    await app.waitFor();
    assert.match(await app.innerText(), /2 tokens/);
    await app.getByRole('button', { name: /Revoke/ }).click();
    await app.waitFor({ state: 'detached' });
    const { api_tokens } = await (await hub.apiFetch('/users/alice/tokens')).json();
    assert.equal(api_tokens.filter((t: { oauth_client: string }) => t.oauth_client !== 'JupyterHub').length, 0);
  });

  test('revoke an API token', async () => {
    const row = page.locator('#api-tokens tr', { hasText: XSS_NOTE });
    await row.getByRole('button', { name: /Revoke/ }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await hub.apiFetch('/user', { token: created })).status, 403);
  });

  test('keyboard only: request a token', async () => {
    await page.getByLabel('Note').focus();
    await page.keyboard.type('from the keyboard');
    await page.keyboard.press('Tab'); // expiry select
    await page.keyboard.press('Tab'); // permissions
    await page.keyboard.press('Tab'); // submit
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Request new API token');
    await page.keyboard.press('Enter');
    await page.locator('#api-tokens tr', { hasText: 'from the keyboard' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'copy-token');
  });

  test('phone width and a clean console', async () => {
    const p = await newPage(browser, { width: 375, height: 800 });
    await login(p.page, hub, 'alice', '/hub/token');
    await p.page.locator('#token-app[data-ready=true]').waitFor();
    assert.equal(await overflowsHorizontally(p.page), false);
    await shot(p.page, 'token-phone');
    await p.context.close();
    assert.deepEqual(w.cspViolations, []);
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.dialogs, []);
  });
});
