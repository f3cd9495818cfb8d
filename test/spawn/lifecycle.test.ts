/**
 * Spawn life cycle through the REST API with small real servers (test/spawn/fixtures/envserver.py,
 * run as real system users by LocalProcessSpawner): the environment servers get, progress
 * events, named servers, failures (crash, missing command, never answering) ending as clear
 * messages with no stale route, crash detection by polling, and a hub killed with SIGKILL
 * that finds its servers and routes again after a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { api, createSystemUser, ensureUsers, FIXTURES, launchBrowser, progressEvents, removeSystemUser, routes, shot, waitFor, browserLogin } from './helpers.js';

const ENVSERVER = ['/usr/bin/python3', '-I', path.join(FIXTURES, 'envserver.py')];

function config(): Record<string, Record<string, unknown>> {
  return {
    JupyterHub: { allow_named_servers: true, named_server_limit_per_user: 2 },
    Authenticator: { allow_all: true, admin_users: ['admin'] },
    Spawner: {
      cmd: ENVSERVER,
      http_timeout: 4,
      poll_interval: 1,
      default_url: '/tree/{username}',
      notebook_dir: '~/notebooks/{username}',
      mem_limit: '1G',
      cpu_limit: 2,
      // JSON-configurable per-spawn behaviour: user_options {"cmd": [...], "environment": {...}}.
      apply_user_options: { cmd: 'cmd', environment: 'environment' },
    },
  };
}

describe('spawn life cycle (real users, small servers)', { timeout: 600000 }, () => {
  let hub: RunningHub;
  let u1: string;
  let u2: string;

  before(async () => {
    u1 = await createSystemUser();
    u2 = await createSystemUser();
    hub = await startHub({ config: config() });
    await ensureUsers(hub, [u1, u2]);
  });
  after(async () => {
    if (hub) await hub.stop();
    if (process.env.JHUB_TEST_VERBOSE && hub) console.log(hub.output());
    for (const u of [u1, u2]) if (u) await removeSystemUser(u);
  });

  test('start: 201, route with user data, environment of singleuser-and-services §3', async () => {
    const r = await hub.apiFetch(`/users/${u1}/server`, { method: 'POST' });
    assert.equal(r.status, 201, await r.text());
    const rt = await routes(hub);
    assert.equal(rt[`/user/${u1}`].user, u1);
    assert.equal(rt[`/user/${u1}`].server_name, '');
    const env = (await (await fetch(`${hub.url}/user/${u1}/env`)).json()) as Record<string, string | number>;
    assert.equal(env.JUPYTERHUB_USER, u1);
    assert.equal(env.JUPYTERHUB_SERVER_NAME, '');
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, `/user/${u1}/`);
    assert.match(String(env.JUPYTERHUB_SERVICE_URL), new RegExp(`^http://127\\.0\\.0\\.1:\\d+/user/${u1}/$`));
    assert.equal(env.JUPYTERHUB_CLIENT_ID, `jupyterhub-user-${u1}`);
    assert.equal(env.JUPYTERHUB_API_URL, `${hub.hubUrl}/hub/api`);
    assert.equal(env.JUPYTERHUB_ACTIVITY_URL, `${hub.hubUrl}/hub/api/users/${u1}/activity`);
    assert.equal(env.JUPYTERHUB_BASE_URL, '/');
    assert.equal(env.JUPYTERHUB_HOST, '');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, `/user/${u1}/oauth_callback`);
    assert.equal(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES, `["access:servers!server=${u1}/", "access:servers!user=${u1}"]`);
    assert.equal(env.JUPYTERHUB_OAUTH_SCOPES, env.JUPYTERHUB_OAUTH_ACCESS_SCOPES);
    assert.equal(env.JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, '[]');
    assert.equal(env.JUPYTERHUB_DEFAULT_URL, `/tree/${u1}`);
    assert.equal(env.JUPYTERHUB_ROOT_DIR, `~/notebooks/${u1}`, '~ is not expanded by the hub');
    assert.equal(env.MEM_LIMIT, String(1024 ** 3));
    assert.equal(env.CPU_LIMIT, '2.0');
    assert.equal(env.JPY_API_TOKEN, env.JUPYTERHUB_API_TOKEN);
    assert.equal(env.USER, u1);
    assert.equal(env.HOME, `/home/${u1}`);
    assert.equal(env._cwd, `/home/${u1}`);
    assert.notEqual(env._uid, 0);
    assert.equal(env.CONFIGPROXY_AUTH_TOKEN, undefined);
    // The server token works against the hub and is the OAuth client secret.
    const me = await api<{ name: string; scopes: string[] }>(hub, '/user', { token: String(env.JUPYTERHUB_API_TOKEN) });
    assert.equal(me.status, 200);
    assert.equal(me.body.name, u1);
    assert.ok(me.body.scopes.includes(`access:servers!server=${u1}/`), JSON.stringify(me.body.scopes));
    assert.ok(me.body.scopes.includes(`users:activity!user=${u1}`), JSON.stringify(me.body.scopes));
    // Token endpoint: wrong secret → 401 invalid_client; unknown code → 400 invalid_grant.
    const bad = await fetch(`${hub.hubUrl}/hub/api/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: `jupyterhub-user-${u1}`, client_secret: 'nope', grant_type: 'authorization_code', code: 'x' }) });
    assert.equal(bad.status, 401);
    assert.deepEqual(await bad.json(), { error: 'invalid_client' });
    const bad2 = await fetch(`${hub.hubUrl}/hub/api/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: `jupyterhub-user-${u1}`, client_secret: String(env.JUPYTERHUB_API_TOKEN), grant_type: 'authorization_code', code: 'no-such-code' }) });
    assert.equal(bad2.status, 400);
    assert.deepEqual(await bad2.json(), { error: 'invalid_grant' });
    // Progress of a ready server: only the final event.
    const ev = await progressEvents(hub, u1);
    assert.deepEqual(ev, [{ progress: 100, ready: true, message: `Server ready at /user/${u1}/`, html_message: `Server ready at <a href="/user/${u1}/">/user/${u1}/</a>`, url: `/user/${u1}/` }]);
    // Already running → 400.
    const again = await api<{ message: string }>(hub, `/users/${u1}/server`, { method: 'POST' });
    assert.equal(again.status, 400);
    assert.equal(again.body.message, `${u1} is already running`);
  });

  test('named servers: route, limit', async () => {
    for (const n of ['a', 'b']) assert.equal((await hub.apiFetch(`/users/${u1}/servers/${n}`, { method: 'POST' })).status, 201);
    const env = (await (await fetch(`${hub.url}/user/${u1}/a/env`)).json()) as Record<string, string>;
    assert.equal(env.JUPYTERHUB_SERVER_NAME, 'a');
    assert.equal(env.JUPYTERHUB_CLIENT_ID, `jupyterhub-user-${u1}-a`);
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, `/user/${u1}/a/`);
    const third = await api<{ message: string }>(hub, `/users/${u1}/servers/c`, { method: 'POST' });
    assert.equal(third.status, 400);
    assert.match(third.body.message, /already has the maximum of 2 named servers/);
    for (const n of ['a', 'b']) {
      const r = await hub.apiFetch(`/users/${u1}/servers/${n}`, { method: 'DELETE', body: JSON.stringify({ remove: true }), headers: { 'content-type': 'application/json' } });
      assert.ok([202, 204].includes(r.status));
    }
    await waitFor(async () => !(await routes(hub))[`/user/${u1}/a`], 'named route removal');
  });

  test('a server that crashes at start: clear message in API and progress, no route', async () => {
    const r = await api<{ message: string }>(hub, `/users/${u2}/server`, { method: 'POST', body: JSON.stringify({ environment: { STANDIN_MODE: 'crash' } }) });
    assert.equal(r.status, 500, JSON.stringify(r.body));
    const ev = await progressEvents(hub, u2);
    assert.deepEqual(ev[0], { progress: 0, message: 'Server requested' });
    const last = ev[ev.length - 1];
    assert.equal(last.failed, true);
    assert.match(String(last.message), /^Spawn failed: Spawner failed to start \[status=3\]/);
    assert.equal((await routes(hub))[`/user/${u2}`], undefined);
    const m = await api<{ servers: Record<string, unknown> }>(hub, `/users/${u2}`);
    assert.deepEqual(m.body.servers, {});
  });

  test('a command that does not exist', async () => {
    const r = await api<{ message: string }>(hub, `/users/${u2}/server`, { method: 'POST', body: JSON.stringify({ cmd: ['no-such-command-jhub'] }) });
    assert.equal(r.status, 500);
    const ev = await progressEvents(hub, u2);
    assert.match(String(ev[ev.length - 1].message), /Spawn failed: .*no-such-command-jhub/);
    assert.equal((await routes(hub))[`/user/${u2}`], undefined);
  });

  test('a server that never answers (http_timeout): failure on the progress page in the browser', async () => {
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      await browserLogin(page, hub, u2);
      // Start it through the API (options), then watch the progress page.
      const p = api<{ message: string }>(hub, `/users/${u2}/server`, { method: 'POST', body: JSON.stringify({ environment: { STANDIN_MODE: 'silent' } }) });
      await waitFor(async () => (await api<{ servers: Record<string, { pending: string }> }>(hub, `/users/${u2}`)).body.servers['']?.pending === 'spawn', 'pending spawn');
      await page.goto(`${hub.url}/hub/spawn-pending/${u2}`);
      await page.locator('#spawn-failed').waitFor({ state: 'visible', timeout: 60000 });
      const text = await page.locator('#spawn-failed').textContent();
      assert.match(String(text), /didn't respond in 4 seconds/);
      await shot(page, 'failed-http-timeout');
      const r = await p;
      assert.equal(r.status, 500);
      assert.equal((await routes(hub))[`/user/${u2}`], undefined);
      // Reloading the page shows the failure too (not_running with the message).
      await page.goto(`${hub.url}/hub/spawn-pending/${u2}`);
      assert.match(String(await page.locator('#failed-message').textContent()), /didn't respond/);
      // And /user/<name>/ → spawn-pending (last spawn failed).
      await page.goto(`${hub.url}/user/${u2}/tree`);
      assert.match(page.url(), /\/hub\/spawn-pending\//);
      await shot(page, 'failed-reload');
    } finally {
      await browser.close();
    }
  });

  test('a server that dies later is noticed by polling: route removed, state cleared', async () => {
    assert.equal((await hub.apiFetch(`/users/${u2}/server`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 201);
    const m = await api<{ servers: Record<string, { state: { pid: number } }> }>(hub, `/users/${u2}`);
    const pid = m.body.servers[''].state.pid;
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await routes(hub))[`/user/${u2}`], 'route removal after crash');
    await waitFor(async () => Object.keys((await api<{ servers: object }>(hub, `/users/${u2}`)).body.servers).length === 0, 'server marked stopped');
    // Visiting it now: the not-running page (424).
    const r = await fetch(`${hub.url}/hub/user/${u2}/tree`, { headers: { Authorization: `token ${hub.adminToken}` }, redirect: 'manual' });
    assert.equal(r.status, 424);
  });

  test('hub killed with SIGKILL: after a restart the servers and routes are still there', async () => {
    const before = await api<{ servers: Record<string, { state: { pid: number }; url: string }> }>(hub, `/users/${u1}`);
    assert.equal(before.status, 200);
    const pid = before.body.servers[''].state.pid;
    await hub.stop('SIGKILL');
    const dir = hub.dir;
    const ports = hub.ports;
    // Same directory, same ports, same configuration (same admin token is not needed: new one).
    hub = await startHub({ dir, ports, config: config() });
    await waitFor(async () => (await routes(hub))[`/user/${u1}`], 'route restored');
    const after = await api<{ servers: Record<string, { state: { pid: number }; ready: boolean }> }>(hub, `/users/${u1}`);
    assert.equal(after.body.servers[''].ready, true);
    assert.equal(after.body.servers[''].state.pid, pid);
    const env = (await (await fetch(`${hub.url}/user/${u1}/env`)).json()) as Record<string, string>;
    assert.equal(env.JUPYTERHUB_USER, u1);
    // And it can still be stopped.
    const r = await hub.apiFetch(`/users/${u1}/server`, { method: 'DELETE' });
    assert.ok([202, 204].includes(r.status));
    await waitFor(async () => !(await routes(hub))[`/user/${u1}`], 'route removal');
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'server process exit');
  });
});
