/**
 * Helpers for the spawn tests: real system users, a Python that those users can run,
 * real Chromium, and waiting for conditions (no timed assertions: generous deadlines only
 * turn a hang into a failure message).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, VENV_BIN, type RunningHub } from '../helpers/hub.js';

const pexec = promisify(execFile);

export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'spawn');
export const STANDIN = path.join(ROOT, 'bench', 'fixtures', 'standin.py');
export const FIXTURES = path.join(ROOT, 'test', 'spawn', 'fixtures');

export async function run(cmd: string, args: string[]): Promise<string> {
  const r = await pexec(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
  return r.stdout;
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 1000);
  }
}

/**
 * An environment (PATH, LD_LIBRARY_PATH) under which an unprivileged system user can run
 * the project's `.venv` (jupyterhub-singleuser, JupyterLab, ipykernel). When `.venv`'s
 * interpreter lives somewhere other users cannot read (pyenv under /root, mode 700), a copy
 * of the interpreter's standard library is made once under /opt/jhub-test-python with a
 * venv at /opt/jhub-test-venv that uses `.venv`'s site-packages, share/jupyter and
 * etc/jupyter: the same jupyterhub-singleuser and JupyterLab code, runnable by test users.
 */
export async function userPythonEnv(): Promise<Record<string, string>> {
  const python = path.join(VENV_BIN, 'python');
  const ok = await pexec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', `cd / && '${python}' -c 'import jupyterhub, ipykernel'`]).then(
    () => true,
    () => false,
  );
  if (ok) return { PATH: `${VENV_BIN}:${process.env.PATH}` };
  const real = fs.realpathSync(python);
  const prefix = path.dirname(path.dirname(real)); // .../versions/3.11.7
  const ver = path.basename(real).replace(/^python/, ''); // 3.11
  const major = /^\d+\.\d+/.exec(ver)?.[0] ?? '3.11';
  const pyCopy = '/opt/jhub-test-python';
  const venv = '/opt/jhub-test-venv';
  const libPath = path.join(pyCopy, 'lib');
  const sitePkgs = path.join(ROOT, '.venv', 'lib', `python${major}`, 'site-packages');
  if (!fs.existsSync(path.join(venv, 'bin', 'jupyterhub-singleuser'))) {
    fs.rmSync(pyCopy, { recursive: true, force: true });
    fs.rmSync(venv, { recursive: true, force: true });
    fs.mkdirSync(pyCopy, { recursive: true });
    await run('sh', ['-c', `tar -C '${prefix}' -cf - --exclude='./lib/python${major}/site-packages' --exclude='./lib/python${major}/test' . | tar -C '${pyCopy}' -xf -`]);
    await run('chmod', ['-R', 'a+rX', pyCopy]);
    await pexec(path.join(pyCopy, 'bin', `python${major}`), ['-m', 'venv', '--without-pip', venv], { env: { ...process.env, LD_LIBRARY_PATH: libPath } });
    fs.writeFileSync(path.join(venv, 'lib', `python${major}`, 'site-packages', 'jhub_test_dotvenv.pth'), sitePkgs + '\n');
    for (const d of ['share', 'etc']) {
      fs.rmSync(path.join(venv, d), { recursive: true, force: true });
      fs.symlinkSync(path.join(ROOT, '.venv', d), path.join(venv, d));
    }
    for (const [name, mod] of [['jupyterhub-singleuser', 'jupyterhub.singleuser'], ['jupyter-lab', 'jupyterlab.labapp'], ['jupyter-server', 'jupyter_server.serverapp']]) {
      const f = path.join(venv, 'bin', name);
      fs.writeFileSync(f, `#!${venv}/bin/python\nimport sys\nfrom ${mod} import main\nsys.exit(main())\n`);
      fs.chmodSync(f, 0o755);
    }
    await run('chmod', ['-R', 'a+rX', venv]);
  }
  return { PATH: `${venv}/bin:${process.env.PATH}`, LD_LIBRARY_PATH: libPath };
}

/** Create a real system user (with home). */
export async function createSystemUser(prefix = 'jhs_'): Promise<string> {
  const name = prefix + crypto.randomBytes(3).toString('hex');
  await run('useradd', ['-m', '-s', '/bin/bash', name]);
  return name;
}

/** Remove a test user: its processes (by pid), then the account and home. */
export async function removeSystemUser(name: string): Promise<void> {
  const pids = await run('pgrep', ['-u', name]).catch(() => '');
  for (const p of pids.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await run('userdel', ['-r', name]).catch(() => run('userdel', ['-f', '-r', name]).catch(() => ''));
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => {});
}

/** Log in through {hub}login (dummy authenticator). Ends wherever the hub redirects. */
export async function browserLogin(page: Page, hub: RunningHub, name: string, next?: string): Promise<void> {
  await page.goto(`${hub.url}/hub/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.locator('#username_input').fill(name);
  const pw = page.locator('input[name=password]');
  if (await pw.count()) await pw.fill('any-password');
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/hub/login'), { timeout: 30000 }), page.locator('#login_submit').click()]);
}

/** JSON of an API call (admin token unless given). */
export async function api<T = unknown>(hub: RunningHub, p: string, init: RequestInit & { token?: string | null } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const r = await hub.apiFetch(p, { ...init, headers });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: r.status, body: body as T, headers: r.headers };
}

/** All events of a progress stream (it ends after the final event). */
export async function progressEvents(hub: RunningHub, user: string, server = ''): Promise<Record<string, unknown>[]> {
  const r = await hub.apiFetch(`/users/${user}/${server ? `servers/${server}` : 'server'}/progress`);
  if (r.status !== 200) throw new Error(`progress: ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)));
}

export async function routes(hub: RunningHub): Promise<Record<string, Record<string, unknown>>> {
  // The proxy may be restarting (hub restart): retry connection errors for a while.
  const r = await waitFor(() => fetch(`http://127.0.0.1:${hub.ports.api}/api/routes`, { headers: { Authorization: `token ${hub.proxyToken}` } }).catch(() => null), 'the proxy API', 30000);
  return (await r.json()) as Record<string, Record<string, unknown>>;
}
async function _unusedRoutes(hub: RunningHub): Promise<Record<string, Record<string, unknown>>> {
  const r = await fetch(`http://127.0.0.1:${hub.ports.api}/api/routes`, { headers: { Authorization: `token ${hub.proxyToken}` } });
  return (await r.json()) as Record<string, Record<string, unknown>>;
}

export async function ensureUsers(hub: RunningHub, names: string[]): Promise<void> {
  const r = await api(hub, '/users', { method: 'POST', body: JSON.stringify({ usernames: names }) });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating users: ${r.status} ${JSON.stringify(r.body)}`);
}

/**
 * In the browser: open {hub}spawn[/user/server], see the progress page, land in JupyterLab,
 * create a notebook, run print(6*7) and see 42.
 */
export async function spawnAndRunNotebook(page: Page, hub: RunningHub, user: string, server: string, shotPrefix: string): Promise<void> {
  const prefix = `/user/${user}/${server ? server + '/' : ''}`;
  await page.goto(`${hub.url}/hub/spawn/${user}${server ? '/' + server : ''}`);
  // The spawn handler waits ~1 s, then shows the progress page (unless already done).
  if (/spawn-pending/.test(page.url())) {
    await page.locator('#progress-bar').waitFor();
    await shot(page, `${shotPrefix}-progress`);
  }
  await page.waitForURL((u) => u.pathname.startsWith(prefix + 'lab'), { timeout: 180000 });
  // Another server of the same user may have saved a workspace (open notebook, no launcher).
  await page.goto(`${hub.url}${prefix}lab?reset`);
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().waitFor({ timeout: 120000 });
  await shot(page, `${shotPrefix}-lab`);
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
  const panel = page.locator('.jp-NotebookPanel').last();
  await panel.waitFor({ timeout: 60000 });
  // As a person would: wait until the status bar says the kernel is idle, type, then run.
  await page.locator('.jp-StatusBar-Widget', { hasText: 'Idle' }).first().waitFor({ timeout: 120000 });
  const editor = panel.locator('.jp-Cell .cm-content').first();
  await editor.click();
  await page.keyboard.type('print(6*7)');
  // Let the editor settle (auto-closing brackets, completer) before Shift+Enter.
  await page.waitForTimeout(500);
  await page.keyboard.press('Shift+Enter');
  try {
    await panel.locator('.jp-OutputArea-output', { hasText: '42' }).first().waitFor({ timeout: 120000 });
  } catch (e) {
    await shot(page, `${shotPrefix}-notebook-failed`);
    throw e;
  }
  await shot(page, `${shotPrefix}-notebook-42`);
}

/** Hub configuration for JupyterLab tests (LocalProcessSpawner, default_url /lab). */
export function labConfig(extra: Record<string, Record<string, unknown>> = {}): Record<string, Record<string, unknown>> {
  return {
    JupyterHub: { allow_named_servers: true, ...(extra.JupyterHub ?? {}) },
    Authenticator: { allow_all: true, admin_users: ['admin'] },
    Spawner: { default_url: '/lab', start_timeout: 120, http_timeout: 120, ...(extra.Spawner ?? {}) },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => !['JupyterHub', 'Spawner'].includes(k))),
  };
}
