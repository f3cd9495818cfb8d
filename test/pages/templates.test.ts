/**
 * Template customisation as JupyterHub operators do it: a directory in
 * JupyterHub.template_paths that replaces login.html entirely and extends the built-in
 * page.html (`{% extends "templates/page.html" %}`) to change blocks; template_vars and
 * per-page announcements; logo_file; extra_static_paths; error pages; CSP; escaping of `next`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { launch, newPage, overflowsHorizontally, shot, xssFired, type Watched } from './browser.js';

const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="28"><rect width="120" height="28" fill="#0a7"/><text x="6" y="19" fill="#fff">Example</text></svg>';

describe('custom templates', () => {
  let hub: RunningHub;
  let browser: Browser;
  let w: Watched;
  let page: Page;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-pages-tpl-'));
    const tpl = path.join(dir, 'templates');
    const stat = path.join(dir, 'static');
    fs.mkdirSync(tpl);
    fs.mkdirSync(path.join(stat, 'css'), { recursive: true });
    // Extends the built-in page and changes some blocks; an inline script without the
    // nonce is blocked by the CSP, one with the page's nonce runs.
    fs.writeFileSync(
      path.join(tpl, 'page.html'),
      `{% extends "templates/page.html" %}
{% block stylesheet %}{{ super() }}<link rel="stylesheet" href="{{ static_url('css/custom.css') }}">{% endblock %}
{% block nav_bar_left_items %}{{ super() }}<li><a id="custom-help" href="https://example.org/help">Help</a></li>{% endblock %}
{% block footer %}<footer id="custom-footer">Run by {{ site_name }}</footer>
<script>window.__inline = 1;</script>
<script nonce="{{ csp_nonce }}">window.__nonced = 1;</script>{% endblock %}`,
    );
    // Replaces the login page entirely (still a page.html child, so it gets the footer).
    fs.writeFileSync(
      path.join(tpl, 'login.html'),
      `{% extends "page.html" %}
{% block main %}
<h1 id="custom-login-title">Welcome to {{ site_name }}</h1>
<form method="post" action="{{ login_url }}?next={{ next | urlencode }}" data-next="{{ next }}">
  {{ xsrf_form_html() }}
  <label for="u">Username</label><input id="u" name="username" autocomplete="username">
  <label for="p">Password</label><input id="p" name="password" type="password">
  <button type="submit">Log in</button>
</form>
{% endblock %}`,
    );
    fs.writeFileSync(path.join(stat, 'css', 'custom.css'), '#custom-footer { color: rgb(1, 2, 3); }');
    fs.writeFileSync(path.join(dir, 'logo.svg'), LOGO);
    hub = await startHub({
      dir,
      config: {
        JupyterHub: {
          template_paths: [tpl],
          extra_static_paths: [stat],
          logo_file: path.join(dir, 'logo.svg'),
          template_vars: { site_name: 'Example Hub', announcement: 'Maintenance <b>tonight</b>', announcement_login: 'Login notice' },
        },
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

  test('the login page is replaced, the base page extended, per-page announcement shown', async () => {
    const resp = await page.goto(`${hub.url}/hub/login`);
    assert.equal(resp!.status(), 200);
    assert.equal(await page.locator('#custom-login-title').innerText(), 'Welcome to Example Hub');
    assert.equal(await page.locator('#custom-footer').innerText(), 'Run by Example Hub');
    assert.match(await page.locator('.announcement').first().innerText(), /Login notice/);
    assert.doesNotMatch(await page.locator('body').innerText(), /Maintenance/);
    // custom stylesheet from extra_static_paths applied
    assert.equal(await page.locator('#custom-footer').evaluate((e) => getComputedStyle(e).color), 'rgb(1, 2, 3)');
    // CSP: the inline script without nonce was blocked, the nonced one ran
    assert.equal(await page.evaluate(() => (window as unknown as { __inline?: number }).__inline), undefined);
    assert.equal(await page.evaluate(() => (window as unknown as { __nonced?: number }).__nonced), 1);
    assert.match(resp!.headers()['content-security-policy'], /script-src 'self' 'nonce-/);
    await shot(page, 'custom-login');
  });

  test('the custom logo is served at {hub}logo and shown', async () => {
    const r = await fetch(`${hub.url}/hub/logo`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/svg+xml');
    assert.equal(await r.text(), LOGO);
    const width = await page.locator('#jupyterhub-logo img').evaluate((img) => (img as HTMLImageElement).naturalWidth);
    assert.equal(width, 120);
  });

  test('static files: no-cache without ?v=, long cache with it; extra paths first', async () => {
    let r = await fetch(`${hub.url}/hub/static/css/custom.css`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    const href = await page.locator('link[href*="custom.css"]').getAttribute('href');
    assert.match(href!, /\?v=[0-9a-f]+$/);
    r = await fetch(`${hub.url}${href}`);
    assert.match(r.headers.get('cache-control')!, /max-age=\d{6,}/);
    r = await fetch(`${hub.url}/hub/static/css/style.css`);
    assert.equal(r.status, 200);
    r = await fetch(`${hub.url}/hub/static/../../etc/passwd`);
    assert.notEqual(r.status, 200);
  });

  test('`next` is escaped in attributes and scripts never run from it', async () => {
    const payloads = ['"><img src=x onerror=window.__xss=1>', "' onmouseover='window.__xss=1", 'javascript:window.__xss=1'];
    for (const p of payloads) {
      await page.goto(`${hub.url}/hub/login?next=${encodeURIComponent(p)}`);
      assert.equal(await page.locator('form[data-next]').getAttribute('data-next'), p);
      assert.equal(await page.locator('img[src=x]').count(), 0);
      await page.locator('form button').hover();
      assert.equal(await xssFired(page), false);
    }
  });

  test('logging in through the custom form; extended nav and the generic announcement after login', async () => {
    await page.goto(`${hub.url}/hub/login?next=${encodeURIComponent('/hub/token')}`);
    await page.getByLabel('Username').fill('carmen');
    await page.getByLabel('Password').fill('x');
    await Promise.all([page.waitForURL(/\/hub\/token$/), page.getByRole('button', { name: 'Log in' }).click()]);
    assert.equal(await page.locator('#custom-help').count(), 1);
    assert.equal(await page.locator('.nav-links a[href="/hub/home"]').count(), 1, 'the built-in nav items are kept with super()');
    assert.equal(await page.locator('.announcement b').innerText(), 'tonight');
    assert.equal(await page.locator('#custom-footer').count(), 1);
    await page.locator('#token-app[data-ready=true]').waitFor();
    await shot(page, 'custom-token');
  });

  test('error pages: 404 and the proxy error target keep the custom blocks', async () => {
    let resp = await page.goto(`${hub.url}/hub/no-such-page`);
    assert.equal(resp!.status(), 404);
    assert.match(await page.locator('main').innerText(), /404/);
    assert.equal(await page.locator('#custom-footer').count(), 1);
    assert.equal(await page.locator('.username').innerText(), 'carmen');
    await shot(page, 'error-404');
    resp = await page.goto(`${hub.url}/hub/error/503?url=${encodeURIComponent('/user/carmen/<script>window.__xss=1</script>')}`);
    assert.equal(resp!.status(), 503);
    assert.match(await page.locator('main').innerText(), /not responding/);
    resp = await page.goto(`${hub.url}/hub/error/500`);
    assert.equal(resp!.status(), 500);
    assert.match(await page.locator('main').innerText(), /500/);
    await shot(page, 'error-500');
    assert.equal(await xssFired(page), false);
  });

  test('phone width', async () => {
    const p = await newPage(browser, { width: 375, height: 700 });
    await p.page.goto(`${hub.url}/hub/login`);
    assert.equal(await overflowsHorizontally(p.page), false);
    await shot(p.page, 'custom-login-phone');
    await p.context.close();
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.dialogs, []);
  });
});
