// Benchmark: direct vs configurable-http-proxy 5.3.0 vs jhub-proxy, alternating rounds.
//
//   node dist/bench/proxy.js [--rounds 3] [--duration 5] [--routes 10000]
//        [--parties direct,chp,jhub[,tcp][,slow]] [--tests rps1,rps50,lat,ws] [--api 0]
//        [--node-flags "--max-semi-space-size=1"]
//
// Parties: direct (no proxy), chp (configurable-http-proxy 5.3.0), jhub (jhub-proxy),
// tcp (a bare TCP forwarder in node: the ceiling for any node proxy on this machine),
// slow (jhub-proxy with the raw-socket fast path disabled, JHUB_PROXY_FAST=0),
// noflags (jhub-proxy started as `node bin/jhub-proxy`, i.e. without its shebang's node flags).
// jhub is started as the executable bin/jhub-proxy (its shebang's node flags apply), or with
// `node <--node-flags> bin/jhub-proxy` when --node-flags is given.
//
// Every party is its own process: the backend (HTTP 1 KiB + websocket echo), each proxy,
// and the load generator (this same file with --role load|lat|ws|api).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(SELF, '../../..');
const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const median = (xs: number[]) => pct(xs, 50);

// ------------------------------------------------------------------ roles (child processes)

async function roleBackend(): Promise<void> {
  const { WebSocketServer } = await import('ws');
  const body = Buffer.alloc(1024, 120);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n');
  });
}

async function roleLoad(): Promise<void> {
  const autocannon = (await import('autocannon')).default;
  const r = await autocannon({
    url: arg('url', ''),
    connections: Number(arg('connections', '1')),
    duration: Number(arg('duration', '5')),
  });
  process.stdout.write(
    JSON.stringify({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx }) + '\n',
  );
}

/** sequential keep-alive GETs with µs timing (autocannon's latency is whole ms) */
async function roleLat(): Promise<void> {
  const url = new URL(arg('url', ''));
  const n = Number(arg('n', '5000'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      http
        .get({ hostname: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1000));
        })
        .on('error', reject);
    });
  for (let i = 0; i < 500; i++) await once();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await once());
  agent.destroy();
  process.stdout.write(JSON.stringify({ p50us: pct(xs, 50), p99us: pct(xs, 99) }) + '\n');
}

async function roleWs(): Promise<void> {
  const { WebSocket } = await import('ws');
  const url = arg('url', '');
  const clients = Number(arg('clients', '10'));
  const inflight = Number(arg('inflight', '10'));
  const duration = Number(arg('duration', '5')) * 1000;
  const msg = Buffer.alloc(128, 97);
  let count = 0;
  let running = true;
  const socks = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  for (const ws of socks) {
    ws.on('message', () => {
      count++;
      if (running) ws.send(msg);
    });
    for (let i = 0; i < inflight; i++) ws.send(msg);
  }
  await sleep(500);
  const c0 = count;
  const t0 = Date.now();
  await sleep(duration);
  const c1 = count;
  const t1 = Date.now();
  running = false;
  for (const ws of socks) ws.terminate();
  process.stdout.write(JSON.stringify({ mps: ((c1 - c0) * 1000) / (t1 - t0) }) + '\n');
}

/** bare TCP forwarder (no HTTP parsing at all): an upper bound for a node proxy */
async function roleTcp(): Promise<void> {
  const target = Number(arg('target-port', '0'));
  const server = net.createServer({ noDelay: true }, (c) => {
    const u = net.connect({ host: '127.0.0.1', port: target, noDelay: true });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n');
  });
}

async function roleApi(): Promise<void> {
  const api = arg('api', '');
  const token = arg('token', '');
  const n = Number(arg('routes', '10000'));
  const target = arg('target', '');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const u = new URL(api);
  const call = (method: string, p: string, body?: string) =>
    new Promise<{ status: number; size: number }>((resolve, reject) => {
      const req = http.request(
        { hostname: u.hostname, port: u.port, method, path: p, agent, headers: { Authorization: `token ${token}` } },
        (res) => {
          let size = 0;
          res.on('data', (c: Buffer) => (size += c.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, size }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < n) {
        const i = next++;
        const r = await call(
          'POST',
          `/api/routes/user/user${i}`,
          JSON.stringify({ target, user: `user${i}`, server_name: '', jupyterhub: true }),
        );
        if (r.status !== 201) throw new Error(`POST ${r.status}`);
      }
    }),
  );
  const addSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const lat: number[] = [];
  let size = 0;
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    const r = await call('GET', '/api/routes');
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    size = r.size;
  }
  agent.destroy();
  process.stdout.write(JSON.stringify({ addsPerSec: n / addSec, getP50ms: pct(lat, 50), getMaxMs: Math.max(...lat), size }) + '\n');
}

// ------------------------------------------------------------------ orchestration

interface Child {
  proc: ChildProcess;
  out: string;
}
const children: Child[] = [];

function start(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const c: Child = { proc, out: '' };
  proc.stdout?.on('data', (d: Buffer) => (c.out += d));
  proc.stderr?.on('data', (d: Buffer) => (c.out += d));
  children.push(c);
  return c;
}

async function runRole(role: string, extra: string[]): Promise<Record<string, number>> {
  const c = start(process.execPath, [SELF, '--role', role, ...extra]);
  const code = await new Promise<number | null>((r) => c.proc.once('exit', r));
  const line = c.out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${role} failed (${code}): ${c.out}`);
  return JSON.parse(line) as Record<string, number>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((r) => {
      http
        .get(url, { agent: false, headers: { Authorization: 'token bench' } }, (res) => {
          res.resume();
          r(true);
        })
        .on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`not ready: ${url}`);
}

interface ProxyProc {
  name: string;
  child: Child;
  port: number;
  apiPort: number;
}

async function startProxyProc(name: string, bin: string, target: string, nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ProxyProc> {
  const port = await freePort();
  const apiPort = await freePort();
  const argv = ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--default-target', target, '--log-level', 'error'];
  const child = start(
    nodeFlags.length ? process.execPath : bin,
    nodeFlags.length ? [...nodeFlags, bin, ...argv] : argv,
    { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'bench', ...env },
  );
  await waitHttp(`http://127.0.0.1:${apiPort}/api/routes`);
  await waitHttp(`http://127.0.0.1:${port}/_chp_healthz`);
  return { name, child, port, apiPort };
}

function rssMB(pid: number, field = 'VmRSS'): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(s);
  return m ? Number(m[1]) / 1024 : NaN;
}

async function stopProc(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.pid === undefined) return;
  const done = new Promise((r) => c.proc.once('exit', r));
  process.kill(c.proc.pid, 'SIGTERM');
  const t = setTimeout(() => c.proc.pid && process.kill(c.proc.pid, 'SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

async function orchestrate(): Promise<void> {
  const rounds = Number(arg('rounds', '3'));
  const duration = arg('duration', '5');
  const nroutes = arg('routes', '10000');
  const be = start(process.execPath, [SELF, '--role', 'backend']);
  for (let i = 0; i < 200 && !be.out.includes('\n'); i++) await sleep(25);
  const bport = (JSON.parse(be.out.split('\n')[0]) as { port: number }).port;
  const target = `http://127.0.0.1:${bport}`;
  const want = new Set(arg('parties', 'direct,chp,jhub').split(','));
  const tests = new Set(arg('tests', 'rps1,rps50,lat,ws').split(','));
  const nodeFlags = arg('node-flags', '').split(' ').filter(Boolean);
  const jbin = path.join(ROOT, 'bin/jhub-proxy');
  const parties: Array<{ name: string; port: number }> = [];
  const procs: ProxyProc[] = [];
  if (want.has('direct')) parties.push({ name: 'direct', port: bport });
  if (want.has('tcp')) {
    const tcp = start(process.execPath, [SELF, '--role', 'tcp', '--target-port', String(bport)]);
    for (let i = 0; i < 200 && !tcp.out.includes('\n'); i++) await sleep(25);
    parties.push({ name: 'bare TCP fwd', port: (JSON.parse(tcp.out.split('\n')[0]) as { port: number }).port });
  }
  let chp: ProxyProc | undefined;
  let jp: ProxyProc | undefined;
  if (want.has('chp')) {
    chp = await startProxyProc('CHP 5.3.0', path.join(ROOT, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'), target);
    procs.push(chp);
    parties.push(chp);
  }
  if (want.has('jhub')) {
    jp = await startProxyProc('jhub-proxy', jbin, target, nodeFlags);
    procs.push(jp);
    parties.push(jp);
  }
  if (want.has('noflags')) {
    const np = await startProxyProc('jhub-proxy (no node flags)', jbin, target, ['--no-warnings']);
    procs.push(np);
    parties.push(np);
  }
  if (want.has('slow')) {
    const sp = await startProxyProc('jhub-proxy (node:http path)', jbin, target, nodeFlags, { JHUB_PROXY_FAST: '0' });
    procs.push(sp);
    parties.push(sp);
  }
  type Row = { rps1: number[]; p50_1: number[]; p99_1: number[]; rps50: number[]; p50_50: number[]; p99_50: number[]; latp50: number[]; latp99: number[]; ws: number[] };
  const res = new Map<string, Row>(parties.map((p) => [p.name, { rps1: [], p50_1: [], p99_1: [], rps50: [], p50_50: [], p99_50: [], latp50: [], latp99: [], ws: [] }]));
  for (let r = 0; r < rounds; r++) {
    const order = parties.map((_, i) => parties[(i + r) % parties.length]);
    for (const p of order) {
      const row = res.get(p.name)!;
      const url = `http://127.0.0.1:${p.port}/bench`;
      process.stderr.write(`round ${r + 1}/${rounds}: ${p.name}\n`);
      if (tests.has('rps1')) {
        const a1 = await runRole('load', ['--url', url, '--connections', '1', '--duration', duration]);
        row.rps1.push(a1.rps);
        row.p50_1.push(a1.p50);
        row.p99_1.push(a1.p99);
      }
      if (tests.has('rps50')) {
        const a50 = await runRole('load', ['--url', url, '--connections', '50', '--duration', duration]);
        row.rps50.push(a50.rps);
        row.p50_50.push(a50.p50);
        row.p99_50.push(a50.p99);
      }
      if (tests.has('lat')) {
        const l = await runRole('lat', ['--url', url, '--n', '5000']);
        row.latp50.push(l.p50us);
        row.latp99.push(l.p99us);
      }
      if (tests.has('ws')) {
        const w = await runRole('ws', ['--url', `ws://127.0.0.1:${p.port}/ws`, '--duration', duration]);
        row.ws.push(w.mps);
      }
    }
  }
  const api = new Map<string, Record<string, number>>();
  for (const p of arg('api', '1') === '0' ? [] : procs) {
    process.stderr.write(`API: ${p.name}\n`);
    const a = await runRole('api', ['--api', `http://127.0.0.1:${p.apiPort}`, '--token', 'bench', '--routes', nroutes, '--target', target]);
    a.rss = rssMB(p.child.proc.pid as number);
    a.anon = rssMB(p.child.proc.pid as number, 'RssAnon');
    api.set(p.name, a);
  }
  for (const p of procs) await stopProc(p.child);
  for (const c of children) if (c !== be && c.proc.exitCode === null) c.proc.kill('SIGTERM');
  await stopProc(be);

  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const direct = res.get('direct') ?? res.values().next().value!;
  console.log(`\nHTTP GET 1 KiB, ${rounds} alternating rounds x ${duration}s, medians (autocannon; latency loop = 5000 sequential keep-alive GETs)`);
  console.log('| | req/s c=1 | p50/p99 ms c=1 | req/s c=50 | p50/p99 ms c=50 | loop p50/p99 µs | added p50 µs | ws msg/s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const p of parties) {
    const row = res.get(p.name)!;
    console.log(
      `| ${p.name} | ${f(median(row.rps1))} | ${f(median(row.p50_1), 2)}/${f(median(row.p99_1), 2)} | ${f(median(row.rps50))} | ${f(median(row.p50_50), 2)}/${f(median(row.p99_50), 2)} | ${f(median(row.latp50))}/${f(median(row.latp99))} | ${p.name === 'direct' ? '-' : f(median(row.latp50) - median(direct.latp50))} | ${f(median(row.ws))} |`,
    );
  }
  if (chp && jp) {
    const c = res.get(chp.name)!;
    const j = res.get(jp.name)!;
    console.log('\nRatios (jhub-proxy vs CHP / vs direct):');
    console.log(`  req/s c=1:  ${(median(j.rps1) / median(c.rps1)).toFixed(2)}x CHP, ${(median(j.rps1) / median(direct.rps1)).toFixed(2)}x direct`);
    console.log(`  req/s c=50: ${(median(j.rps50) / median(c.rps50)).toFixed(2)}x CHP, ${(median(j.rps50) / median(direct.rps50)).toFixed(2)}x direct`);
    console.log(`  ws msg/s:   ${(median(j.ws) / median(c.ws)).toFixed(2)}x CHP, ${(median(j.ws) / median(direct.ws)).toFixed(2)}x direct`);
  }
  console.log(`\nRoute API (${nroutes} routes, 10 concurrent POSTs; GET /api/routes x20 at ${nroutes} routes):`);
  console.log('| | route adds/s | GET all p50 ms | GET all max ms | body KiB | RSS MB | of which anon MB |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, a] of api) {
    console.log(`| ${name} | ${f(a.addsPerSec)} | ${f(a.getP50ms, 1)} | ${f(a.getMaxMs, 1)} | ${f(a.size / 1024)} | ${f(a.rss, 1)} | ${f(a.anon, 1)} |`);
  }
  const ja = jp && api.get(jp.name);
  const ca = chp && api.get(chp.name);
  if (ja && ca) console.log(`  adds/s ${(ja.addsPerSec / ca.addsPerSec).toFixed(2)}x CHP; GET all ${(ca.getP50ms / ja.getP50ms).toFixed(2)}x faster; RSS ${(ja.rss / ca.rss).toFixed(2)}x CHP`);
}

const role = arg('role', '');
const roles: Record<string, () => Promise<void>> = { backend: roleBackend, load: roleLoad, lat: roleLat, ws: roleWs, api: roleApi, tcp: roleTcp };
const main = roles[role] ?? orchestrate;
main().catch(async (e) => {
  console.error(e);
  for (const c of children) c.proc.kill('SIGKILL');
  process.exit(1);
});
process.on('SIGINT', () => {
  for (const c of children) c.proc.kill('SIGKILL');
  process.exit(130);
});
