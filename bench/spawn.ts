/**
 * Spawn benchmark: jhub vs the real JupyterHub from .venv, side by side, both with
 * SimpleLocalProcessSpawner and the same stand-in server: bench/fixtures/standin.c (binds the
 * host/port of JUPYTERHUB_SERVICE_URL, answers 200 on any path), compiled once with `cc -O2`
 * into a cache directory; bench/fixtures/standin.py when no C compiler is found (or with
 * `--standin py`). Measures: one spawn (POST → 201, server ready and routed); N spawns at once
 * until all are ready; stopping all of them. During the N-spawn burst the hub's own
 * /hub/health (hub port, not through the proxy) is requested every 5 ms, one at a time: its
 * latency shows how long the hub's event loop is blocked.
 *
 * Proxies: by default each hub uses its own default (jhub: jhub-proxy; JupyterHub:
 * configurable-http-proxy from node_modules). `--proxy chp` runs both on
 * configurable-http-proxy, `--proxy jhub-proxy` both on jhub-proxy.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/spawn.js [--n 100] [--rounds 3]
 *     [--only jhub|jupyterhub] [--proxy default|chp|jhub-proxy] [--standin c|py]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
const PROXY = opt('proxy', 'default');
if (!['default', 'chp', 'jhub-proxy'].includes(PROXY)) throw new Error(`--proxy: default, chp or jhub-proxy, not ${PROXY}`);
const CHP = path.join(ROOT, 'node_modules', '.bin', 'configurable-http-proxy');
const JHUB_PROXY = path.join(ROOT, 'bin', 'jhub-proxy');
const PY = '/usr/bin/python3';

/** The stand-in command: the C one (compiled into a cache keyed by its source) unless unavailable. */
function standinCommand(): { cmd: string[]; note: string } {
  const pyCmd = [PY, '-I', '-S', path.join(ROOT, 'bench', 'fixtures', 'standin.py')];
  if (opt('standin', 'c') === 'py') return { cmd: pyCmd, note: 'python stand-in (--standin py)' };
  const src = path.join(ROOT, 'bench', 'fixtures', 'standin.c');
  const text = fs.readFileSync(src);
  const hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'jhub-bench-standin');
  const bin = path.join(dir, `standin-${hash}`);
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const tmp = `${bin}.${process.pid}`;
    const r = spawnSync('cc', ['-O2', '-o', tmp, src], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      const why = r.error ? String(r.error.message) : r.stderr.trim();
      return { cmd: pyCmd, note: `python stand-in: compiling standin.c failed (${why})` };
    }
    fs.renameSync(tmp, bin);
  }
  return { cmd: [bin], note: 'C stand-in' };
}
const STANDIN = standinCommand();
const CMD = STANDIN.cmd;

interface Target {
  name: string;
  /** Public URL (through the proxy). */
  url: string;
  /** The hub's own URL (its port, bypassing the proxy). */
  hubUrl: string;
  token: string;
  proxy: string;
  /** The hub's process id (for its CPU time). */
  pid: number;
  /** What the hub printed (if captured), for error reports. */
  output?: () => string;
  stop(): Promise<void>;
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

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

/** The proxy command for a hub whose own default is `dflt`. */
function proxyFor(dflt: 'jhub-proxy' | 'chp'): { name: string; command: string[] } {
  const which = PROXY === 'default' ? dflt : PROXY;
  return which === 'chp' ? { name: 'configurable-http-proxy', command: [CHP] } : { name: 'jhub-proxy', command: [JHUB_PROXY] };
}

async function startJhub(): Promise<Target> {
  const proxy = proxyFor('jhub-proxy');
  // Start-up is awaited below: at log level WARN the hub does not print its "now running" line.
  const hub = await startHub({
    wait: false,
    // e.g. BENCH_JHUB_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the hub.
    nodeArgs: process.env.BENCH_JHUB_NODE_ARGS?.split(/\s+/).filter(Boolean),
    config: {
      JupyterHub: { spawner_class: 'simple', concurrent_spawn_limit: 0, last_activity_interval: 3600, log_level: 'WARN' },
      Authenticator: { allow_all: true, admin_users: ['admin'] },
      Spawner: { cmd: CMD, poll_interval: 30 },
      SimpleLocalProcessSpawner: { home_dir_template: path.join(os.tmpdir(), 'jhub-bench-home', '{username}') },
      // jhub's default command 'jhub-proxy' is this checkout's bin/jhub-proxy.
      ...(proxy.name === 'jhub-proxy' ? {} : { ConfigurableHTTPProxy: { command: proxy.command } }),
    },
  });
  const t: Target = { name: 'jhub', url: hub.url, hubUrl: hub.hubUrl, token: hub.adminToken, proxy: proxy.name, pid: hub.pid, output: hub.output, stop: async () => void (await hub.stop()) };
  await waitReady(t).catch((e) => {
    void hub.cleanup();
    throw new Error(`${(e as Error).message}:\n${hub.output()}`);
  });
  return t;
}

async function startJupyterHub(): Promise<Target> {
  const proxy = proxyFor('chp');
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
c.Spawner.poll_interval = 30
c.SimpleLocalProcessSpawner.home_dir_template = ${JSON.stringify(path.join(os.tmpdir(), 'jupyterhub-bench-home', '{username}'))}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${apiPort}'
c.ConfigurableHTTPProxy.command = ${JSON.stringify(proxy.command)}
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
    hubUrl: `http://127.0.0.1:${hubPort}`,
    token,
    proxy: proxy.name,
    pid: proc.pid!,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
  await waitReady(t);
  return t;
}

/**
 * Requests the hub's /hub/health on its own port, one at a time, 5 ms apart, until stopped:
 * the latencies show how long the hub could not answer (event loop busy).
 */
function probeHealth(t: Target): { stop(): Promise<number[]> } {
  const lat: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${t.hubUrl}/hub/health`, { signal: AbortSignal.timeout(30000) });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${t.name}: /hub/health answered ${r.status}`);
      } catch (e) {
        running = false;
        throw e;
      }
      lat.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return lat;
    },
  };
}

interface Result {
  one: number[];
  many: number[];
  stopAll: number[];
  /** Per round: /hub/health latencies during the N-spawn burst. */
  health: number[][];
  /** Per round: CPU time of the hub process during the N-spawn burst. */
  hubCpu: number[];
}

async function bench(t: Target): Promise<Result> {
  const res: Result = { one: [], many: [], stopAll: [], health: [], hubCpu: [] };
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
    // Warm the health probe's connection, then N at once, until every POST has answered 201 (started and routed).
    await fetch(`${t.hubUrl}/hub/health`).then((x) => x.arrayBuffer());
    const health = probeHealth(t);
    const cpu0 = cpuMs(t.pid);
    t0 = performance.now();
    const all = await Promise.all(names.map((n) => api(t, 'POST', `/users/${n}/server`)));
    const bad = all.filter((x) => x.status !== 201 && x.status !== 202);
    if (bad.length) {
      await health.stop().catch(() => {});
      throw new Error(`${t.name}: ${bad.length} spawns failed: ${bad[0].status} ${bad[0].text}`);
    }
    if (all.some((x) => x.status === 202)) {
      // Still pending after slow_spawn_timeout: wait until every server is ready.
      for (;;) {
        const u = await api(t, 'GET', '/users?state=ready');
        if ((JSON.parse(u.text) as unknown[]).length >= N) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    res.many.push(performance.now() - t0);
    res.hubCpu.push(cpuMs(t.pid) - cpu0);
    res.health.push(await health.stop());
    const probes = await Promise.all(names.map((n) => fetch(`${t.url}/user/${n}/x`).then((x) => x.status)));
    const unreachable = probes.filter((s) => s !== 200).length;
    if (unreachable) throw new Error(`${t.name}: ${unreachable} servers not reachable through the proxy`);
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
const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
/** Health-probe summary of one round: p50 / p99 / max. */
const hsum = (h: number[]) => ({ p50: pct(h, 50), p99: pct(h, 99), max: Math.max(...h), n: h.length });

async function main(): Promise<void> {
  console.log(`spawn benchmark: ${N} servers at once, ${ROUNDS} rounds, ${os.cpus().length} CPUs, ${STANDIN.note}: ${CMD.join(' ')}`);
  const results: Record<string, Result> = {};
  const proxies: Record<string, string> = {};
  for (const [name, start] of [['jhub', startJhub], ['JupyterHub', startJupyterHub]] as const) {
    if (ONLY && !name.toLowerCase().startsWith(ONLY.toLowerCase())) continue;
    const t = await start();
    proxies[name] = t.proxy;
    try {
      results[name] = await bench(t);
    } catch (e) {
      const out = t.output?.() ?? '';
      if (out) console.error(`last output of ${name}:\n${out.split('\n').filter((l) => !/\] (\S*info\S*):| (200|201|204) (GET|POST|DELETE) /.test(l)).slice(-40).join('\n')}`);
      throw e;
    } finally {
      await t.stop();
    }
    const r = results[name];
    const hs = r.health.map(hsum).map((h) => `p50 ${fmt(h.p50)} p99 ${fmt(h.p99)} max ${fmt(h.max)} (${h.n})`);
    console.log(`${name} (proxy ${t.proxy}): one ${r.one.map(fmt).join(', ')}; ${N} at once ${r.many.map(fmt).join(', ')} (hub CPU ${r.hubCpu.map(fmt).join(', ')}); stop all ${r.stopAll.map(fmt).join(', ')}`);
    console.log(`${name} /hub/health during the burst: ${hs.join('; ')}`);
  }
  const j = results.jhub;
  const p = results.JupyterHub;
  const col = (name: string) => (proxies[name] ? `${name} (${proxies[name]})` : name);
  console.log(`\n| measure (median of ${ROUNDS}) | ${col('jhub')} | ${col('JupyterHub')} | JupyterHub / jhub |`);
  console.log('| --- | --- | --- | --- |');
  const rows: [string, (r: Result) => number][] = [
    ['one spawn (POST → 201)', (r) => median(r.one)],
    [`${N} spawns at once, all ready`, (r) => median(r.many)],
    [`hub process CPU time during the ${N} spawns`, (r) => median(r.hubCpu)],
    [`stop ${N}`, (r) => median(r.stopAll)],
    [`/hub/health p50 during the burst`, (r) => median(r.health.map((h) => hsum(h).p50))],
    [`/hub/health p99 during the burst`, (r) => median(r.health.map((h) => hsum(h).p99))],
    [`/hub/health max during the burst`, (r) => median(r.health.map((h) => hsum(h).max))],
  ];
  for (const [label, f] of rows) {
    const a = j ? f(j) : NaN;
    const b = p ? f(p) : NaN;
    console.log(`| ${label} | ${j ? fmt(a) : '-'} | ${p ? fmt(b) : '-'} | ${j && p ? (b / a).toFixed(1) + '×' : '-'} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
