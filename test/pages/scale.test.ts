/**
 * 10 000 users (created with one batch API call) in the admin panel: the page fetches one
 * page of users at a time, search and paging go through the API, and the number of API
 * calls and rows fetched stays bounded (no wall-clock assertions).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page, Request } from 'playwright-core';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { launch, login, newPage, shot } from './browser.js';

const N = 10000;
const name = (i: number) => `user-${String(i).padStart(5, '0')}`;

describe('admin panel with 10k users', () => {
  let hub: RunningHub;
  let browser: Browser;
  let page: Page;
  const usersCalls: { url: URL; req: Request }[] = [];
  let rowsFetched = 0;

  before(async () => {
    hub = await startHub();
    const r = await hub.apiFetch('/users', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ usernames: Array.from({ length: N }, (_, i) => name(i)) }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    assert.equal(((await r.json()) as unknown[]).length, N);
    browser = await launch();
    page = (await newPage(browser)).page;
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.pathname === '/hub/api/users') usersCalls.push({ url, req });
    });
    page.on('response', async (resp) => {
      const url = new URL(resp.url());
      if (url.pathname !== '/hub/api/users' || resp.status() !== 200) return;
      const body = await resp.json().catch(() => null);
      rowsFetched += Array.isArray(body) ? body.length : (body?.items?.length ?? 0);
    });
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  const rowNames = () => page.locator('#users-body tr[data-user-row]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.userRow!));

  test('first page: 50 rows, total from the pagination envelope', async () => {
    await login(page, hub, 'admin', '/hub/admin');
    assert.equal(new URL(page.url()).pathname, '/hub/admin');
    await page.locator('#admin-app[data-ready=true]').waitFor();
    const names = await rowNames();
    assert.equal(names.length, 50);
    assert.equal(names[0], 'admin');
    assert.match(await page.locator('#users-page-info').innerText(), new RegExp(`1–50 of ${N + 1} users`));
    assert.ok(usersCalls.length >= 1 && usersCalls.length <= 2, `${usersCalls.length} calls`);
    for (const c of usersCalls) {
      assert.equal(c.url.searchParams.get('limit'), '50');
      assert.match(c.req.headers()['accept'] ?? '', /application\/jupyterhub-pagination\+json/);
    }
    assert.ok(rowsFetched <= 100, `fetched ${rowsFetched} rows`);
    await shot(page, 'scale-first-page');
  });

  test('paging forward and to a bigger page size', async () => {
    const before = usersCalls.length;
    await page.getByRole('button', { name: 'Next' }).first().click();
    await page.locator('#users-page-info', { hasText: `51–100 of ${N + 1}` }).waitFor();
    assert.deepEqual((await rowNames()).slice(0, 2), [name(49), name(50)]);
    await page.getByLabel('Per page').selectOption('200');
    await page.locator('#users-page-info', { hasText: `1–200 of ${N + 1}` }).waitFor();
    assert.equal((await rowNames()).length, 200);
    await page.getByLabel('Per page').selectOption('50');
    await page.locator('#users-page-info', { hasText: `1–50 of ${N + 1}` }).waitFor();
    // one call per action (next page, 200 per page, back to 50)
    assert.equal(usersCalls.length - before, 3);
  });

  test('search finds one user among 10k through name_filter', async () => {
    const before = usersCalls.length;
    const fetchedBefore = rowsFetched;
    await page.getByLabel('Search users').fill('user-09999');
    await page.locator('#users-page-info', { hasText: '1–1 of 1 users' }).waitFor();
    assert.deepEqual(await rowNames(), ['user-09999']);
    const made = usersCalls.slice(before);
    assert.ok(made.length >= 1 && made.length <= 3, `${made.length} calls`);
    assert.equal(made.at(-1)!.url.searchParams.get('name_filter'), 'user-09999');
    assert.ok(rowsFetched - fetchedBefore <= 3 * 50, `fetched ${rowsFetched - fetchedBefore} rows`);
    // a broader search is paged too
    await page.getByLabel('Search users').fill('user-09');
    await page.locator('#users-page-info', { hasText: '1–50 of 1000 users' }).waitFor();
    assert.equal((await rowNames()).length, 50);
  });

  test('sorting 10k users by name descending is done by the API', async () => {
    await page.getByLabel('Search users').fill('');
    await page.getByLabel('Search users').press('Enter');
    await page.locator('#users-page-info', { hasText: `of ${N + 1} users` }).waitFor();
    await page.getByLabel('Sort by').selectOption('-name');
    await page.waitForFunction(() => document.querySelector('#users-body tr[data-user-row]')?.getAttribute('data-user-row') === 'user-09999');
    const names = await rowNames();
    assert.equal(names.length, 50);
    assert.equal(names[1], 'user-09998');
    assert.equal(usersCalls.at(-1)!.url.searchParams.get('sort'), '-name');
  });

  test('in total, only pages were fetched', async () => {
    assert.ok(usersCalls.length <= 15, `${usersCalls.length} calls`);
    assert.ok(rowsFetched <= 1000, `fetched ${rowsFetched} rows`);
  });
});
