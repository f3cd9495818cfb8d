/**
 * Spawn benchmark: jhub vs the real JupyterHub from .venv, side by side, both with
 * SimpleLocalProcessSpawner, the same stand-in server (bench/fixtures/standin.py: binds the
 * port of JUPYTERHUB_SERVICE_URL, answers 200) and the same proxy (configurable-http-proxy
 * from node_modules). Measures: one spawn (POST → 201, server ready and routed); N spawns at
 * once until all are ready; stopping all of them.
 *
 *   npm run build && node dist/bench/spawn.js [--n 100] [--rounds 3] [--only jhub|jupyterhub]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHub, freePort, ROOT, VENV_BIN } from '../test/helpers/hub.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : d;
};
const N = Number(opt('n', '100'));
const ROUNDS = Number(opt('rounds', '3'));
const ONLY = opt('only', '');
const STANDIN = path.join(ROOT, 'bench', 'fixtures', 'standin.py');
const CHP = path.join(ROOT, 'node_modules', '.bin', 'configurable-http-proxy');
const PY = '/usr/bin/python3';
const CMD = [PY, '-I', '-S', STANDIN];

interface Target {
  name: string;
  url: string;
  token: string;
  stop(): Promise<void>;
}

async function api(t: Target, method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${t.url}/hub/api${p}`, {
    method,
    headers: { Authorization: `token ${t.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, text: await r.text() };
}

async function waitReady(t: Target, deadlineMs = 120000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const r = await fetch(`${t.url}/hub/api/`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${t.name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startJhub(): Promise<Target> {
  const hub = await startHub({
    config: {
      JupyterHub: { spawner_class: 'simple', concurrent_spawn_limit: 0, last_activity_interval: 3600 },
      Authenticator: { allow_all: true, admin_users: ['admin'] },
      Spawner: { cmd: CMD, poll_interval: 30 },
      SimpleLocalProcessSpawner: { home_dir_template: path.join(os.tmpdir(), 'jhub-bench-home', '{username}') },
      ConfigurableHTTPProxy: { command: [CHP] },
    },
  });
  return { name: 'jhub', url: hub.url, token: hub.adminToken, stop: async () => void (await hub.stop()) };
}

async function startJupyterHub(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jupyterhub-bench-'));
  const [pub, apiPort, hubPort] = [await freePort(), await freePort(), await freePort()];
  const token = crypto.randomBytes(16).toString('hex');
  fs.writeFileSync(
    path.join(dir, 'jupyterhub_config.py'),
    `c = get_config()  # noqa
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = ${pub}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = ${hubPort}
c.JupyterHub.authenticator_class = 'dummy'
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {'admin'}
c.JupyterHub.api_tokens = {${JSON.stringify(token)}: 'admin'}
c.JupyterHub.spawner_class = 'simple'
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.last_activity_interval = 3600
c.Spawner.cmd = ${JSON.stringify(CMD)}
c.SimpleLocalProcessSpawner.home_dir_template = ${JSON.stringify(path.join(os.tmpdir(), 'jupyterhub-bench-home', '{username}'))}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${apiPort}'
c.ConfigurableHTTPProxy.command = [${JSON.stringify(CHP)}]
c.JupyterHub.db_url = 'sqlite:///${path.join(dir, 'jupyterhub.sqlite')}'
c.JupyterHub.cookie_secret_file = ${JSON.stringify(path.join(dir, 'cookie_secret'))}
c.JupyterHub.log_level = 'WARN'
`,
  );
  const proc: ChildProcess = spawn(path.join(VENV_BIN, 'jupyterhub'), ['-f', path.join(dir, 'jupyterhub_config.py')], {
    cwd: dir,
    env: { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}`, CONFIGPROXY_AUTH_TOKEN: crypto.randomBytes(16).toString('hex') },
    stdio: ['ignore', 'ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore'],
  });
  const t: Target = {
    name: 'JupyterHub',
    url: `http://127.0.0.1:${pub}`,
    token,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
  await waitReady(t);
  return t;
}

interface Result {
  one: number[];
  many: number[];
  stopAll: number[];
}

async function bench(t: Target): Promise<Result> {
  const res: Result = { one: [], many: [], stopAll: [] };
  const names = Array.from({ length: N }, (_, i) => `u${i}`);
  const r = await api(t, 'POST', '/users', { usernames: ['single', ...names] });
  if (r.status !== 201) throw new Error(`${t.name}: creating users: ${r.status} ${r.text}`);
  for (let round = 0; round < ROUNDS; round++) {
    // One spawn.
    let t0 = performance.now();
    const one = await api(t, 'POST', '/users/single/server');
    if (one.status !== 201) throw new Error(`${t.name}: one spawn: ${one.status} ${one.text}`);
    res.one.push(performance.now() - t0);
    const probe = await fetch(`${t.url}/user/single/x`);
    if (probe.status !== 200) throw new Error(`${t.name}: server not reachable through the proxy: ${probe.status}`);
    await api(t, 'DELETE', '/users/single/server');
    // N at once, until every POST has answered 201 (started and routed).
    t0 = performance.now();
    const all = await Promise.all(names.map((n) => api(t, 'POST', `/users/${n}/server`)));
    const bad = all.filter((x) => x.status !== 201 && x.status !== 202);
    if (bad.length) throw new Error(`${t.name}: ${bad.length} spawns failed: ${bad[0].status} ${bad[0].text}`);
    if (all.some((x) => x.status === 202)) {
      // Still pending after slow_spawn_timeout: wait until every server is ready.
      for (;;) {
        const u = await api(t, 'GET', '/users?state=ready');
        if ((JSON.parse(u.text) as unknown[]).length >= N) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    res.many.push(performance.now() - t0);
    const probes = await Promise.all(names.slice(0, 5).map((n) => fetch(`${t.url}/user/${n}/x`).then((x) => x.status)));
    if (probes.some((s) => s !== 200)) throw new Error(`${t.name}: servers not reachable: ${probes}`);
    // Stop all.
    t0 = performance.now();
    const stops = await Promise.all(names.map((n) => api(t, 'DELETE', `/users/${n}/server`)));
    const notDone = stops.filter((x) => x.status !== 204);
    if (notDone.length) {
      // 202: still stopping; wait until no server is left.
      for (;;) {
        const u = await api(t, 'GET', '/users?state=active');
        if (JSON.parse(u.text).length === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    res.stopAll.push(performance.now() - t0);
  }
  return res;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function main(): Promise<void> {
  console.log(`spawn benchmark: ${N} servers at once, ${ROUNDS} rounds, ${os.cpus().length} CPUs, stand-in ${CMD.join(' ')}, proxy: configurable-http-proxy`);
  const results: Record<string, Result> = {};
  for (const [name, start] of [['jhub', startJhub], ['JupyterHub', startJupyterHub]] as const) {
    if (ONLY && !name.toLowerCase().startsWith(ONLY.toLowerCase())) continue;
    const t = await start();
    try {
      results[name] = await bench(t);
    } finally {
      await t.stop();
    }
    console.log(`${name}: one ${results[name].one.map(fmt).join(', ')}; ${N} at once ${results[name].many.map(fmt).join(', ')}; stop all ${results[name].stopAll.map(fmt).join(', ')}`);
  }
  const j = results.jhub;
  const p = results.JupyterHub;
  console.log('\n| measure (median) | jhub | JupyterHub | JupyterHub / jhub |');
  console.log('| --- | --- | --- | --- |');
  for (const [label, k] of [['one spawn (POST → 201)', 'one'], [`${N} spawns at once, all ready`, 'many'], [`stop ${N}`, 'stopAll']] as const) {
    const a = j ? median(j[k]) : NaN;
    const b = p ? median(p[k]) : NaN;
    console.log(`| ${label} | ${j ? fmt(a) : '-'} | ${p ? fmt(b) : '-'} | ${j && p ? (b / a).toFixed(1) + '×' : '-'} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
