/**
 * REST API benchmark: jhub vs the real JupyterHub (from .venv), same workload in one run.
 *   node dist/bench/api.js [--users 10000] [--big 100000] [--duration 5]
 * Both hubs use the dummy authenticator, an api token, SQLite in a temp dir, and a CHP-compatible
 * proxy (jhub: bin/jhub-proxy; JupyterHub: node_modules/.bin/configurable-http-proxy).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { ROOT, JHUB_BIN, VENV_BIN, freePort } from '../test/helpers/hub.js';
import { shebangNodeFlags } from '../src/util/shebang.js';

const argv = process.argv.slice(2);
const opt = (k: string, d: number) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const N = opt('users', 10000);
const BIG = opt('big', 100000);
const DURATION = opt('duration', 5);
const only = argv.includes('--jhub-only') ? ['jhub'] : ['jhub', 'jupyterhub'];

interface Hub {
  kind: string;
  dir: string;
  url: string;
  token: string;
  proc: ChildProcess;
  db: string;
  start(): Promise<number>;
  stop(): Promise<void>;
}

async function waitUp(url: string, proc: ChildProcess, out: () => string): Promise<void> {
  const deadline = Date.now() + 300000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${out().slice(-3000)}`);
    try {
      const r = await fetch(url + '/hub/api/', { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('did not start: ' + out().slice(-3000));
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function makeHub(kind: 'jhub' | 'jupyterhub'): Promise<Hub> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${kind}-`));
  const [pub, api, hubPort] = [await freePort(), await freePort(), await freePort()];
  const token = crypto.randomBytes(16).toString('hex');
  const db = path.join(dir, 'hub.sqlite');
  let cmd: string[];
  if (kind === 'jhub') {
    const cfg = {
      JupyterHub: { ip: '127.0.0.1', port: pub, hub_ip: '127.0.0.1', hub_port: hubPort, authenticator_class: 'dummy', api_tokens: { [token]: 'admin' }, db_url: `sqlite:///${db}`, cookie_secret_file: path.join(dir, 'secret'), log_level: 'WARN' },
      ConfigurableHTTPProxy: { api_url: `http://127.0.0.1:${api}`, command: ['jhub-proxy'], pid_file: path.join(dir, 'proxy.pid') },
      Authenticator: { admin_users: ['admin'] },
    };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    cmd = [process.execPath, ...shebangNodeFlags(JHUB_BIN), JHUB_BIN, '-f', path.join(dir, 'config.json')];
  } else {
    fs.writeFileSync(
      path.join(dir, 'jupyterhub_config.py'),
      [
        `c.JupyterHub.ip = '127.0.0.1'`, `c.JupyterHub.port = ${pub}`, `c.JupyterHub.hub_ip = '127.0.0.1'`, `c.JupyterHub.hub_port = ${hubPort}`,
        `c.JupyterHub.authenticator_class = 'dummy'`, `c.JupyterHub.api_tokens = {${JSON.stringify(token)}: 'admin'}`, `c.Authenticator.admin_users = {'admin'}`,
        `c.JupyterHub.db_url = 'sqlite:///${db}'`, `c.JupyterHub.cookie_secret_file = '${path.join(dir, 'secret')}'`, `c.JupyterHub.log_level = 'WARN'`,
        `c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${api}'`, `c.ConfigurableHTTPProxy.command = ['${path.join(ROOT, 'node_modules/.bin/configurable-http-proxy')}']`,
        `c.ConfigurableHTTPProxy.pid_file = '${path.join(dir, 'proxy.pid')}'`,
      ].join('\n'),
    );
    cmd = [path.join(VENV_BIN, 'jupyterhub'), '-f', path.join(dir, 'jupyterhub_config.py')];
  }
  const env = { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}`, CONFIGPROXY_AUTH_TOKEN: token };
  const h: Hub = {
    kind,
    dir,
    url: `http://127.0.0.1:${pub}`,
    token,
    db,
    proc: null as unknown as ChildProcess,
    async start() {
      const t0 = performance.now();
      let out = '';
      this.proc = spawn(cmd[0], cmd.slice(1), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.proc.stdout!.on('data', (d) => (out = (out + d).slice(-20000)));
      this.proc.stderr!.on('data', (d) => (out = (out + d).slice(-20000)));
      await waitUp(this.url, this.proc, () => out);
      return (performance.now() - t0) / 1000;
    },
    async stop() {
      if (this.proc.exitCode !== null) return;
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 20000);
      await done;
      clearTimeout(t);
    },
  };
  return h;
}

function rssMB(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
}

async function req(h: Hub, p: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `token ${h.token}`);
  return fetch(h.url + '/hub/api' + p, { ...init, headers });
}

/** Add users directly to the database (for the start-up test with many users). */
function addUsersDirect(h: Hub, from: number, to: number): void {
  const db = new Database(h.db);
  const role = db.prepare("select id from roles where name = 'user'").get() as { id: number };
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  const tx = db.transaction(() => {
    if (h.kind === 'jhub') {
      const ins = db.prepare('insert into users (name, admin, created, cookie_id) values (?, 0, ?, ?)');
      const map = db.prepare('insert into user_role_map (user_id, role_id) values (?, ?)');
      for (let i = from; i < to; i++) map.run(ins.run(`big${i}`, new Date().toISOString(), crypto.randomBytes(16).toString('hex')).lastInsertRowid, role.id);
    } else {
      const ins = db.prepare('insert into users (name, admin, created, cookie_id) values (?, 0, ?, ?)');
      const map = db.prepare('insert into user_role_map (user_id, role_id, managed_by_auth) values (?, ?, 0)');
      for (let i = from; i < to; i++) map.run(ins.run(`big${i}`, now, crypto.randomBytes(16).toString('hex')).lastInsertRowid, role.id);
    }
  });
  tx();
  db.close();
}

async function run(kind: 'jhub' | 'jupyterhub') {
  const h = await makeHub(kind);
  const r: Record<string, number> = {};
  try {
    r.startEmpty = await h.start();
    const names = Array.from({ length: N }, (_, i) => `user${i}`);
    let t0 = performance.now();
    const c = await req(h, '/users', { method: 'POST', body: JSON.stringify({ usernames: names }), headers: { 'Content-Type': 'application/json' } });
    r.batch = (performance.now() - t0) / 1000;
    if (c.status !== 201) throw new Error(`${kind} batch create: ${c.status} ${(await c.text()).slice(0, 300)}`);
    await c.arrayBuffer();
    const ac = await (autocannon as unknown as (o: Record<string, unknown>) => Promise<{ requests: { average: number }; non2xx: number; errors: number }>)({ url: `${h.url}/hub/api/users/user${Math.floor(N / 2)}`, connections: 10, duration: DURATION, headers: { Authorization: `token ${h.token}` } });
    r.getUserRps = ac.requests.average;
    r.getUserNon2xx = ac.non2xx + ac.errors;
    t0 = performance.now();
    let url: string | null = '/users?limit=200';
    let count = 0;
    while (url) {
      const pr = await req(h, url.replace(/^https?:\/\/[^/]+\/hub\/api/, ''), { headers: { Accept: 'application/jupyterhub-pagination+json' } });
      const body = (await pr.json()) as { items: unknown[]; _pagination: { next: { url: string } | null } };
      count += body.items.length;
      url = body._pagination.next?.url ?? null;
    }
    r.listAll = (performance.now() - t0) / 1000;
    r.listed = count;
    r.rss = rssMB(h.proc.pid!);
    // and once the hub has been idle for a while (jhub collects garbage when idle)
    await new Promise((res) => setTimeout(res, 6000));
    r.rssSettled = rssMB(h.proc.pid!);
    await h.stop();
    r.start10k = await h.start();
    r.rssIdle10k = rssMB(h.proc.pid!);
    await h.stop();
    try {
      addUsersDirect(h, 0, BIG - N);
      r.start100k = await h.start();
      r.rss100k = rssMB(h.proc.pid!);
      await h.stop();
    } catch (e) {
      process.stderr.write(`${kind}: start-up with ${BIG} users failed: ${(e as Error).message.slice(0, 500)}\n`);
      r.start100k = NaN;
      r.rss100k = NaN;
    }
  } finally {
    await h.stop().catch(() => {});
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
  return r;
}

const results: Record<string, Record<string, number>> = {};
for (const k of only) {
  process.stderr.write(`running ${k}...\n`);
  results[k] = await run(k as 'jhub' | 'jupyterhub');
  process.stderr.write(JSON.stringify(results[k]) + '\n');
}
const j = results.jhub;
const p = results.jupyterhub;
const rows: [string, string, (x: Record<string, number>) => number, 'lower' | 'higher', string][] = [
  ['POST /users batch of ' + N, 's', (x) => x.batch, 'lower', '≤ 2 s'],
  [`GET /users/:name (10 conns, ${DURATION}s)`, 'req/s', (x) => x.getUserRps, 'higher', '≥ 20× JupyterHub'],
  [`GET /users paginated over ${N + 1} (limit 200)`, 's', (x) => x.listAll, 'lower', ''],
  ['start-up, empty DB (to first API 200)', 's', (x) => x.startEmpty, 'lower', ''],
  [`start-up with ${N} users`, 's', (x) => x.start10k, 'lower', '≤ 0.3 s'],
  [`start-up with ${BIG} users`, 's', (x) => x.start100k, 'lower', ''],
  [`hub RSS right after workload (${N} users)`, 'MB', (x) => x.rss, 'lower', ''],
  [`hub RSS 6 s after workload (${N} users)`, 'MB', (x) => x.rssSettled, 'lower', '≤ 80 MB'],
  [`hub RSS idle after restart (${N} users)`, 'MB', (x) => x.rssIdle10k, 'lower', ''],
  [`hub RSS idle (${BIG} users)`, 'MB', (x) => x.rss100k, 'lower', ''],
];
console.log(`| metric | jhub | JupyterHub ${p ? '' : '(not run)'} | ratio | target |`);
console.log('| --- | --- | --- | --- | --- |');
for (const [name, unit, f, better, target] of rows) {
  const a = f(j);
  const b = p ? f(p) : NaN;
  const ratio = p ? (better === 'higher' ? a / b : b / a) : NaN;
  console.log(`| ${name} | ${a.toFixed(unit === 'req/s' ? 0 : 3)} ${unit} | ${p ? b.toFixed(unit === 'req/s' ? 0 : 3) + ' ' + unit : '-'} | ${p ? ratio.toFixed(1) + '× better' : '-'} | ${target} |`);
}
console.log(`(errors/non-2xx during GET /users/:name: jhub ${j.getUserNon2xx}${p ? `, JupyterHub ${p.getUserNon2xx}` : ''}; listed: jhub ${j.listed}${p ? `, JupyterHub ${p.listed}` : ''})`);
