/**
 * POST /hub/api/shutdown (rest-api.md §8.18) on a real hub with a running user server (the
 * stand-in single-user server under SimpleLocalProcessSpawner) and a hub-started proxy:
 * `servers` / `proxy` override cleanup_servers / cleanup_proxy for that shutdown; a bad body
 * is refused with 400 and shuts nothing down.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, type RunningHub } from '../helpers/hub.js';
import { apiHub, call, responseSchema, validate } from './util.js';

const STANDIN = path.join(ROOT, 'bench', 'fixtures', 'standin.py');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // a zombie (exited, not reaped yet) counts as gone
    return !/^\d+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function exited(hub: RunningHub, ms = 30000): Promise<number | null> {
  await waitFor(() => hub.proc.exitCode !== null || hub.proc.signalCode !== null, 'the hub to exit', ms);
  return hub.proc.exitCode;
}

/** A hub whose user `sam` has a running server; returns the server's and the proxy's pids. */
async function hubWithServer(jupyterhub: Record<string, unknown>): Promise<{ hub: RunningHub; serverPid: number; proxyPid: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-test-shutdown-'));
  const hub = await apiHub({
    dir,
    config: {
      JupyterHub: { spawner_class: 'simple', ...jupyterhub },
      Spawner: { cmd: ['python3', '-I', '-S', STANDIN], start_timeout: 60, http_timeout: 60 },
      SimpleLocalProcessSpawner: { home_dir_template: path.join(dir, 'home', '{username}') },
    },
  });
  hubs.push(hub);
  assert.equal((await call(hub, '/users/sam', { method: 'POST', json: {} })).status, 201);
  const start = await call(hub, '/users/sam/server', { method: 'POST', json: {} });
  assert.ok([201, 202].includes(start.status), start.text);
  let serverPid = 0;
  await waitFor(async () => {
    const u = await call(hub, '/users/sam');
    const s = u.body?.servers?.[''];
    if (s?.ready) serverPid = Number(s.state?.pid ?? 0);
    return !!s?.ready;
  }, "sam's server to be ready");
  assert.ok(serverPid > 0 && alive(serverPid), 'server process running');
  // the server answers through the proxy
  const r = await fetch(`${hub.url}/user/sam/`, { redirect: 'manual' });
  assert.notEqual(r.status, 503);
  const proxyPid = Number(fs.readFileSync(path.join(hub.dir, 'jupyterhub-proxy.pid'), 'utf8'));
  assert.ok(proxyPid > 0 && alive(proxyPid), 'proxy running');
  return { hub, serverPid, proxyPid };
}

const hubs: RunningHub[] = [];
const leftovers: number[] = [];
after(async () => {
  for (const h of hubs) await h.cleanup();
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGTERM');
});

describe('POST /shutdown', () => {
  test('a bad body is refused with 400 and nothing is shut down', async () => {
    const { hub, serverPid, proxyPid } = await hubWithServer({});
    leftovers.push(serverPid); // the hub is killed at the end: its server would stay
    const cases: [unknown, string][] = [
      [{ proxy: 'yes' }, "proxy must be true or false, got 'yes'"],
      [{ servers: 2 }, 'servers must be true or false, got 2'],
      [{ servers: null }, 'servers must be true or false, got None'],
      // proxy is checked first, as in JupyterHub
      [{ servers: 'no', proxy: [] }, 'proxy must be true or false, got []'],
      [[1], 'body must be a json dict'],
    ];
    for (const [json, message] of cases) {
      const r = await call(hub, '/shutdown', { method: 'POST', json });
      assert.equal(r.status, 400, JSON.stringify(json));
      assert.deepEqual(r.body, { status: 400, message });
    }
    // without the shutdown scope: 403
    const u = await call(hub, '/users/sam/tokens', { method: 'POST', json: {} });
    assert.equal((await call(hub, '/shutdown', { method: 'POST', json: {}, token: u.body.token })).status, 403);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hub.proc.exitCode, null, 'hub still running');
    assert.equal((await fetch(`${hub.url}/hub/api/`)).status, 200);
    assert.ok(alive(serverPid) && alive(proxyPid));
    assert.equal((await call(hub, '/users/sam')).body.servers[''].ready, true);
  });

  test('servers=true, proxy=false (config says the opposite): the server is stopped, the proxy is left running', async () => {
    const { hub, serverPid, proxyPid } = await hubWithServer({ cleanup_servers: false, cleanup_proxy: true });
    leftovers.push(proxyPid);
    const r = await call(hub, '/shutdown', { method: 'POST', json: { servers: true, proxy: false } });
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, { message: 'Shutting down Hub' });
    assert.deepEqual(validate(r.body, responseSchema('/shutdown', 'post', 202)), []);
    assert.equal(await exited(hub), 0);
    assert.ok(!alive(serverPid), 'server stopped');
    assert.ok(alive(proxyPid), 'proxy left running');
    // the proxy still answers (no hub behind it any more)
    const res = await fetch(`${hub.url}/hub/api/`).catch(() => null);
    assert.ok(res, 'proxy answers');
    assert.match(hub.output(), /Leaving proxy running/);
    process.kill(proxyPid, 'SIGTERM');
    await waitFor(() => !alive(proxyPid), 'the proxy to stop');
  });

  test('servers=false, proxy=true (config says the opposite): the server is left running, the proxy is stopped', async () => {
    const { hub, serverPid, proxyPid } = await hubWithServer({ cleanup_servers: true, cleanup_proxy: false });
    leftovers.push(serverPid);
    const r = await call(hub, '/shutdown', { method: 'POST', json: { proxy: true, servers: false } });
    assert.equal(r.status, 202);
    assert.equal(await exited(hub), 0);
    await waitFor(() => !alive(proxyPid), 'the proxy to stop');
    assert.ok(alive(serverPid), 'server left running');
    assert.match(hub.output(), /Leaving single-user servers running/);
    process.kill(serverPid, 'SIGTERM');
    await waitFor(() => !alive(serverPid), 'the server to stop');
  });

  test('no body: the configuration decides (defaults: stop servers and proxy)', async () => {
    const { hub, serverPid, proxyPid } = await hubWithServer({});
    const r = await hub.apiFetch('/shutdown', { method: 'POST' });
    assert.equal(r.status, 202);
    assert.deepEqual(await r.json(), { message: 'Shutting down Hub' });
    assert.equal(await exited(hub), 0);
    await waitFor(() => !alive(serverPid) && !alive(proxyPid), 'server and proxy to stop');
  });
});
