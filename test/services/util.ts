/**
 * Helpers for the services tests: real Chromium, login through the hub's form, user tokens
 * through the REST API, polling with a deadline.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, VENV_BIN, startHub, type RunningHub, type StartHubOptions } from '../helpers/hub.js';

export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'services');
export const PYTHON = path.join(VENV_BIN, 'python');
export const FIXTURES = path.join(ROOT, 'test', 'services', 'fixtures');
export const WHOAMI_FLASK = path.join(FIXTURES, 'whoami_flask.py');
export const WHOAMI_NODE = path.join(ROOT, 'examples', 'whoami-node', 'whoami.mjs');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Log in through {hub}login (dummy authenticator: any password). */
export async function login(page: Page, hub: RunningHub, name: string): Promise<void> {
  await page.goto(`${hub.url}/hub/login?next=${encodeURIComponent('/hub/home')}`);
  await page.locator('input[name=username]').fill(name);
  const pw = page.locator('input[name=password]');
  if (await pw.count()) await pw.fill('any-password');
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/hub/login')), page.locator('form').first().evaluate((f) => (f as HTMLFormElement).requestSubmit())]);
}

/** Text of the page body (JSON services answer with a <pre> in Chromium). */
export async function bodyText(page: Page): Promise<string> {
  return (await page.locator('body').innerText()).trim();
}

/** Make sure users exist (admin API). */
export async function ensureUsers(hub: RunningHub, names: string[]): Promise<void> {
  const r = await hub.apiFetch('/users', { method: 'POST', body: JSON.stringify({ usernames: names }), headers: { 'Content-Type': 'application/json' } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating users: ${r.status} ${await r.text()}`);
}

/** A new API token of a user, through the admin's token. */
export async function userToken(hub: RunningHub, name: string, scopes?: string[]): Promise<string> {
  const r = await hub.apiFetch(`/users/${encodeURIComponent(name)}/tokens`, {
    method: 'POST',
    body: JSON.stringify({ note: 'services test', ...(scopes ? { scopes } : {}) }),
    headers: { 'Content-Type': 'application/json' },
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`token for ${name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

/** Poll fn until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait for a process started with startHub(wait: false) to exit; returns its exit code. */
export async function exitCode(hub: RunningHub, timeoutMs = 60000): Promise<number | null> {
  const proc = hub.proc;
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`hub did not exit within ${timeoutMs} ms:\n${hub.output()}`)), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** On the hub's OAuth confirmation page, submit it (screenshot first when named). */
export async function confirmIfAsked(page: Page, screenshot?: string): Promise<void> {
  await page.waitForLoadState();
  if (!new URL(page.url()).pathname.endsWith('/oauth2/authorize')) return;
  if (screenshot) await shot(page, screenshot);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/oauth2/authorize')), page.locator('form [type=submit], form button').first().click()]);
}

/** startHub, then wait until the hub has started its services ("JupyterHub is now running"). */
export async function startServicesHub(o: StartHubOptions): Promise<RunningHub> {
  const hub = await startHub(o);
  try {
    await hub.waitForOutput(/JupyterHub is now running/, 60000);
  } catch (e) {
    await hub.stop();
    throw e;
  }
  return hub;
}
