/**
 * The admin panel driven in a real browser, as a person would: log in, add users, search,
 * sort, edit, start/stop/access servers (named too), bulk actions, groups, XSS attempts,
 * keyboard use, phone width, and finally shutting the hub down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { launch, login, newPage, overflowsHorizontally, shot, xssFired, XSS_NAME, type Watched } from './browser.js';

const XSS_GROUP = '<svg onload=window.__xss=2>';

describe('admin panel', () => {
  let hub: RunningHub;
  let browser: Browser;
  let w: Watched;
  let page: Page;
  const row = (name: string) => page.locator(`#users-body tr[data-user-row="${name.replace(/"/g, '\\"')}"]`);
  const apiUser = async (name: string) => (await (await hub.apiFetch(`/users/${encodeURIComponent(name)}`)).json()) as Record<string, any>;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-pages-admin-'));
    hub = await startHub({
      dir,
      config: {
        JupyterHub: { allow_named_servers: true, spawner_class: 'simple' },
        SimpleLocalProcessSpawner: { home_dir_template: dir },
        Spawner: { start_timeout: 60, http_timeout: 60, args: ['--allow-root'] },
      },
    });
    browser = await launch();
    w = await newPage(browser);
    page = w.page;
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  test('logged-out visitors are sent to the login page with next', async () => {
    const r = await fetch(`${hub.url}/hub/admin`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/hub/login?next=%2Fhub%2Fadmin');
  });

  test('a user without admin-ui gets 403', async () => {
    const u = await newPage(browser);
    await login(u.page, hub, 'plain');
    const resp = await u.page.goto(`${hub.url}/hub/admin`);
    assert.equal(resp!.status(), 403);
    assert.match(await u.page.locator('main').innerText(), /403/);
    assert.equal(await u.page.locator('nav a[href="/hub/admin"]').count(), 0);
    await shot(u.page, 'admin-403');
    await u.context.close();
  });

  test('admin logs in and sees the panel with a strict CSP', async () => {
    await login(page, hub, 'admin');
    const resp = await page.goto(`${hub.url}/hub/admin`);
    assert.equal(resp!.status(), 200);
    const csp = resp!.headers()['content-security-policy'];
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
    await page.locator('#admin-app[data-ready=true]').waitFor();
    await row('admin').waitFor();
    assert.equal(await page.locator('nav a[href="/hub/admin"]').count(), 1);
  });

  test('add several users at once, one an admin-checkbox batch, with an XSS name', async () => {
    await page.getByRole('button', { name: 'Add users' }).click();
    const dialog = page.locator('#add-users-dialog');
    await dialog.waitFor();
    await page.getByLabel('User names, one per line').fill(`alice\nbob\n${XSS_NAME}\n\ncarol`);
    await dialog.getByRole('button', { name: 'Add users' }).click();
    await row('carol').waitFor();
    await row(XSS_NAME).waitFor();
    assert.equal(await row(XSS_NAME).locator('.name').innerText(), XSS_NAME);
    assert.equal(await xssFired(page), false);
    // second batch: admins
    await page.getByRole('button', { name: 'Add users' }).click();
    await page.getByLabel('User names, one per line').fill('dora\nemil');
    await page.getByLabel('Make these users admins').check();
    await dialog.getByRole('button', { name: 'Add users' }).click();
    await row('emil').waitFor();
    assert.equal((await apiUser('dora')).admin, true);
    assert.equal((await apiUser('alice')).admin, false);
    assert.match(await row('emil').innerText(), /admin/);
    await shot(page, 'admin-users');
  });

  test('search is done by the API (name_filter)', async () => {
    const calls: string[] = [];
    const onReq = (r: { url(): string }) => {
      if (r.url().includes('/hub/api/users?')) calls.push(r.url());
    };
    page.on('request', onReq);
    await page.getByLabel('Search users').fill('ali');
    await page.waitForFunction(() => document.querySelectorAll('#users-body tr[data-user-row]').length === 1);
    assert.equal(await row('alice').count(), 1);
    assert.ok(calls.some((u) => new URL(u).searchParams.get('name_filter') === 'ali'), calls.join('\n'));
    assert.match(page.url(), /q=ali/);
    await page.getByLabel('Search users').fill('');
    await page.getByLabel('Search users').press('Enter');
    await row('carol').waitFor();
    page.off('request', onReq);
  });

  test('sorting by name through the column header and the select', async () => {
    await page.getByRole('button', { name: 'User', exact: true }).click();
    await page.waitForFunction(() => document.querySelector('th[data-sort-key=name]')?.getAttribute('aria-sort') === 'ascending');
    let names = await page.locator('#users-body tr[data-user-row]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.userRow!));
    assert.deepEqual(names, [...names].sort());
    await page.getByRole('button', { name: 'User', exact: true }).click();
    await page.waitForFunction(() => document.querySelector('th[data-sort-key=name]')?.getAttribute('aria-sort') === 'descending');
    names = await page.locator('#users-body tr[data-user-row]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.userRow!));
    assert.deepEqual(names, [...names].sort().reverse());
    await page.getByLabel('Sort by').selectOption('id');
    await page.waitForFunction(() => document.querySelector('th[data-sort-key=name]')?.getAttribute('aria-sort') === 'none');
  });

  test('toggle admin and rename through the edit dialog', async () => {
    await row('bob').getByRole('button', { name: 'Edit user' }).click();
    await page.getByLabel('Admin', { exact: true }).check();
    await page.locator('#edit-user-dialog').getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction(() => /admin/.test(document.querySelector('#users-body tr[data-user-row="bob"]')?.textContent ?? ''));
    assert.equal((await apiUser('bob')).admin, true);
    await row('bob').getByRole('button', { name: 'Edit user' }).click();
    await page.getByLabel('Admin', { exact: true }).uncheck();
    await page.getByLabel('User name', { exact: true }).fill('bobby');
    await page.locator('#edit-user-dialog').getByRole('button', { name: 'Save' }).click();
    await row('bobby').waitFor();
    assert.equal((await apiUser('bobby')).admin, false);
  });

  test('start, inspect, access and stop a server', async () => {
    await row('alice').getByRole('button', { name: 'Start server' }).click();
    await row('alice').locator('.server-status', { hasText: 'Running' }).waitFor({ timeout: 90000 });
    const access = row('alice').getByRole('link', { name: 'Access server' });
    assert.equal(await access.getAttribute('href'), '/user/alice/');
    await row('alice').getByRole('button', { name: 'Details' }).click();
    const details = page.locator('tr[data-details-for="alice"]');
    await details.waitFor();
    const text = await details.innerText();
    assert.match(text, /Last activity/);
    assert.match(text, /Spawner state/); // admin holds admin:server_state
    assert.match(text, /"pid"/);
    await shot(page, 'admin-server-details');
    await row('alice').getByRole('button', { name: 'Stop server' }).click();
    await row('alice').locator('.server-status', { hasText: 'Stopped' }).waitFor({ timeout: 60000 });
    const m = await apiUser('alice');
    assert.equal(m.server, null);
  });

  test('start and delete a named server from the details', async () => {
    const details = page.locator('tr[data-details-for="alice"]');
    await details.getByLabel('New named server for alice').fill('gpu');
    await details.getByRole('button', { name: 'Start named server' }).click();
    const card = details.locator('section[data-server="gpu"]');
    await card.locator('.server-status', { hasText: 'Running' }).waitFor({ timeout: 90000 });
    assert.equal(await card.getByRole('link', { name: 'Access gpu' }).getAttribute('href'), '/user/alice/gpu/');
    await card.getByRole('button', { name: 'Stop gpu' }).click();
    await card.locator('.server-status', { hasText: 'Stopped' }).waitFor({ timeout: 60000 });
    await card.getByRole('button', { name: 'Delete gpu' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete server' }).click();
    await card.waitFor({ state: 'detached' });
    const m = await (await hub.apiFetch('/users/alice?include_stopped_servers=1')).json();
    assert.equal(Object.keys(m.servers ?? {}).includes('gpu'), false);
    await row('alice').getByRole('button', { name: 'Hide details' }).click();
  });

  test('bulk start and stop of selected users', async () => {
    await page.getByLabel('Select alice').check();
    await page.getByLabel('Select carol').check();
    assert.match(await page.locator('#selection-count').innerText(), /2 selected/);
    await page.getByRole('button', { name: 'Start selected' }).click();
    await row('alice').locator('.server-status', { hasText: 'Running' }).waitFor({ timeout: 90000 });
    await row('carol').locator('.server-status', { hasText: 'Running' }).waitFor({ timeout: 90000 });
    await page.getByLabel('Select alice').check();
    await page.getByLabel('Select carol').check();
    await page.getByRole('button', { name: 'Stop selected' }).click();
    await row('alice').locator('.server-status', { hasText: 'Stopped' }).waitFor({ timeout: 60000 });
    await row('carol').locator('.server-status', { hasText: 'Stopped' }).waitFor({ timeout: 60000 });
  });

  test('delete a user after confirming', async () => {
    await row('emil').getByRole('button', { name: 'Edit user' }).click();
    await page.locator('#edit-user-dialog').getByRole('button', { name: 'Delete user' }).click();
    // cancelling keeps the user
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await hub.apiFetch('/users/emil')).status, 200);
    await row('emil').getByRole('button', { name: 'Edit user' }).click();
    await page.locator('#edit-user-dialog').getByRole('button', { name: 'Delete user' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete user' }).click();
    await row('emil').waitFor({ state: 'detached' });
    assert.equal((await hub.apiFetch('/users/emil')).status, 404);
  });

  test('groups: create, members, properties, delete (XSS group name inert)', async () => {
    await page.getByRole('tab', { name: 'Groups' }).click();
    await page.getByLabel('New group name').fill(XSS_GROUP);
    await page.getByRole('button', { name: 'Create group' }).click();
    const editor = page.locator('#group-editor');
    await editor.waitFor();
    assert.equal(await page.locator('#group-editor-title').innerText(), `Group ${XSS_GROUP}`);
    await page.getByLabel('Add users (comma or space separated)').fill('alice, carol');
    await editor.getByRole('button', { name: 'Add to group' }).click();
    await page.getByRole('button', { name: `Remove carol from ${XSS_GROUP}` }).waitFor();
    await page.getByLabel('Properties (JSON object)').fill('{"resources": {"mem": "2G"}}');
    await editor.getByRole('button', { name: 'Save properties' }).click();
    await page.locator('#admin-status', { hasText: 'Saved properties' }).waitFor();
    let g = await (await hub.apiFetch(`/groups/${encodeURIComponent(XSS_GROUP)}`)).json();
    assert.deepEqual(g.properties, { resources: { mem: '2G' } });
    assert.deepEqual([...g.users].sort(), ['alice', 'carol']);
    // invalid JSON is refused in the page, not sent
    await page.getByLabel('Properties (JSON object)').fill('[1, 2');
    await editor.getByRole('button', { name: 'Save properties' }).click();
    await page.locator('#admin-error', { hasText: 'Invalid properties' }).waitFor();
    await page.getByRole('button', { name: `Remove carol from ${XSS_GROUP}` }).click();
    await page.getByRole('button', { name: `Remove carol from ${XSS_GROUP}` }).waitFor({ state: 'detached' });
    g = await (await hub.apiFetch(`/groups/${encodeURIComponent(XSS_GROUP)}`)).json();
    assert.deepEqual(g.users, ['alice']);
    await shot(page, 'admin-groups');
    await editor.getByRole('button', { name: 'Delete group' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete group' }).click();
    await editor.waitFor({ state: 'hidden' });
    assert.equal((await hub.apiFetch(`/groups/${encodeURIComponent(XSS_GROUP)}`)).status, 404);
    assert.equal(await xssFired(page), false);
  });

  test('keyboard: tabs with arrow keys, dialogs with Escape, search by typing', async () => {
    await page.getByRole('tab', { name: 'Groups' }).focus();
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getByRole('tab', { name: 'Users' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-users');
    await page.locator('#users-panel').waitFor();
    // Tab from the tab list reaches the search box
    await page.getByLabel('Search users').focus();
    await page.keyboard.type('car');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#users-body tr[data-user-row]').length === 1);
    await page.getByLabel('Search users').fill('');
    await page.keyboard.press('Enter');
    await row('alice').waitFor();
    // open the add-users dialog with the keyboard and close it with Escape
    await page.getByRole('button', { name: 'Add users' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#add-users-dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'add-users-names');
    await page.keyboard.press('Escape');
    await page.locator('#add-users-dialog[open]').waitFor({ state: 'detached' });
    // every control has an accessible name
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('#admin-app input, #admin-app select, #admin-app textarea')]
        .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && (el as HTMLInputElement).type !== 'hidden')
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unnamed, []);
  });

  test('readable at phone width (375 px)', async () => {
    const p = await newPage(browser, { width: 375, height: 800 });
    await login(p.page, hub, 'admin');
    await p.page.goto(`${hub.url}/hub/admin`);
    await p.page.locator('#admin-app[data-ready=true]').waitFor();
    assert.equal(await overflowsHorizontally(p.page), false);
    await shot(p.page, 'admin-phone');
    await p.context.close();
  });

  test('no CSP violations, page errors or dialogs so far', async () => {
    assert.deepEqual(w.cspViolations, []);
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.dialogs, []);
    assert.equal(await xssFired(page), false);
    assert.doesNotMatch(hub.output(), /Content security violation/);
  });

  test('shut the hub down from the panel', async () => {
    await page.getByRole('button', { name: 'Shut down hub' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Shut down' }).click();
    await page.locator('#admin-status', { hasText: 'shutting down' }).waitFor();
    const code = await new Promise<number | null>((r) => (hub.proc.exitCode !== null ? r(hub.proc.exitCode) : hub.proc.once('exit', (c) => r(c))));
    assert.equal(code, 0);
  });
});
