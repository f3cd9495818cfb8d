// Benchmark: direct vs configurable-http-proxy 5.3.0 vs jhub-proxy, alternating rounds.
//
//   node dist/bench/proxy.js [--rounds 3] [--duration 5] [--routes 10000]
//        [--parties direct,chp,jhub[,tcp][,slow][,noflags][,alt]] [--tests rps1,rps50,lat,ws[,wsk]]
//        [--ws-pin 1] [--ws-size 128 --ws-clients 10 --ws-inflight 10] [--api 0]
//        [--node-flags "--max-semi-space-size=1"] [--alt-flags "..."]
//
// Tests: rps1/rps50 (autocannon, 1/50 connections), lat (sequential GETs, µs timing),
// ws (websocket echo: 128 B messages, 10 connections x 10 in flight), wsk (4 KiB messages,
// 50 connections x 2 in flight: closer to Jupyter kernel traffic). Proxy CPU per request/message
// is read from /proc. --ws-pin 1 repeats each ws test with the load generator and the backend
// pinned to CPU 0 and the proxy to CPU 1 (the endpoints then get the same CPU with or without a
// proxy; unpinned, on a 2-core machine, any proxy takes CPU from the two endpoints).
//
// Parties: direct (no proxy), chp (configurable-http-proxy 5.3.0), jhub (jhub-proxy),
// tcp (a bare TCP forwarder in node: the ceiling for any node proxy on this machine),
// slow (jhub-proxy with the raw-socket fast path disabled, JHUB_PROXY_FAST=0),
// noflags (jhub-proxy started as `node bin/jhub-proxy`, i.e. without its shebang's node flags),
// alt (jhub-proxy started as `node <--alt-flags> bin/jhub-proxy`, to compare node flags).
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
    JSON.stringify({ rps: r.requests.average, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx }) + '\n',
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
  const msg = Buffer.alloc(Number(arg('size', '128')), 97);
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
  const u0 = process.cpuUsage();
  process.stdout.write('measuring\n');
  await sleep(duration);
  const c1 = count;
  const t1 = Date.now();
  const u1 = process.cpuUsage(u0);
  running = false;
  for (const ws of socks) ws.terminate();
  process.stdout.write(JSON.stringify({ mps: ((c1 - c0) * 1000) / (t1 - t0), msgs: c1 - c0, cpuMs: (u1.user + u1.system) / 1000, ms: t1 - t0 }) + '\n');
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

async function runRole(role: string, extra: string[], onLine?: (line: string) => void, prefix: string[] = []): Promise<Record<string, number>> {
  const argv = [process.execPath, SELF, '--role', role, ...extra];
  const c = prefix.length ? start(prefix[0], [...prefix.slice(1), ...argv]) : start(argv[0], argv.slice(1));
  if (onLine) {
    let seen = 0;
    c.proc.stdout?.on('data', () => {
      const lines = c.out.split('\n');
      for (; seen < lines.length - 1; seen++) onLine(lines[seen]);
    });
  }
  const code = await new Promise<number | null>((r) => c.proc.once('exit', r));
  const line = c.out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${role} failed (${code}): ${c.out}`);
  return JSON.parse(line) as Record<string, number>;
}

/** CPU time (user + system) of a process so far, in ms (from /proc; clock ticks of 10 ms) */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** set the CPU affinity of all threads of a process (taskset) */
async function pin(pid: number | undefined, cpus: string): Promise<void> {
  if (pid === undefined) return;
  await new Promise<void>((resolve, reject) => {
    spawn('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
      .once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`taskset ${cpus} ${pid}: ${code}`))))
      .once('error', reject);
  });
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
  const parties: Array<{ name: string; port: number; pid?: number }> = [];
  const procs: ProxyProc[] = [];
  if (want.has('direct')) parties.push({ name: 'direct', port: bport });
  if (want.has('tcp')) {
    const tcp = start(process.execPath, [SELF, '--role', 'tcp', '--target-port', String(bport)]);
    for (let i = 0; i < 200 && !tcp.out.includes('\n'); i++) await sleep(25);
    parties.push({ name: 'bare TCP fwd', port: (JSON.parse(tcp.out.split('\n')[0]) as { port: number }).port, pid: tcp.proc.pid });
  }
  const addProxy = (p: ProxyProc) => {
    procs.push(p);
    parties.push({ name: p.name, port: p.port, pid: p.child.proc.pid });
    return p;
  };
  let chp: ProxyProc | undefined;
  let jp: ProxyProc | undefined;
  if (want.has('chp')) chp = addProxy(await startProxyProc('CHP 5.3.0', path.join(ROOT, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'), target));
  if (want.has('jhub')) jp = addProxy(await startProxyProc('jhub-proxy', jbin, target, nodeFlags));
  if (want.has('noflags')) addProxy(await startProxyProc('jhub-proxy (no node flags)', jbin, target, ['--no-warnings']));
  const altFlags = arg('alt-flags', '').split(' ').filter(Boolean);
  if (want.has('alt')) addProxy(await startProxyProc(`jhub-proxy (${altFlags.join(' ')})`, jbin, target, altFlags));
  if (want.has('slow')) addProxy(await startProxyProc('jhub-proxy (node:http path)', jbin, target, nodeFlags, { JHUB_PROXY_FAST: '0' }));

  // websocket workloads: "ws" is the original one (128 B messages, 10 connections x 10 in flight);
  // "wsk" is kernel-message sized (4 KiB, 50 connections x 2 in flight). With --ws-pin 1 each ws
  // test also runs pinned: load generator + backend on CPU 0, the proxy alone on CPU 1, so that
  // the endpoints get the same CPU with and without a proxy.
  const wsKinds: Record<string, string[]> = {
    ws: ['--size', arg('ws-size', '128'), '--clients', arg('ws-clients', '10'), '--inflight', arg('ws-inflight', '10')],
    wsk: ['--size', '4096', '--clients', '50', '--inflight', '2'],
  };
  const wsPin = arg('ws-pin', '0') === '1';
  const ncpu = (await import('node:os')).availableParallelism();
  const allCpus = `0-${ncpu - 1}`;
  const res = new Map<string, Map<string, number[]>>(parties.map((p) => [p.name, new Map()]));
  const put = (name: string, key: string, v: number) => {
    const m = res.get(name)!;
    if (!m.has(key)) m.set(key, []);
    m.get(key)!.push(v);
  };
  const runWs = async (p: { name: string; port: number; pid?: number }, kind: string, pinned: boolean) => {
    const key = pinned ? `${kind}pin` : kind;
    let p0 = 0;
    let b0 = 0;
    if (pinned) {
      await pin(be.proc.pid, '0');
      await pin(p.pid, ncpu > 1 ? '1' : '0');
    }
    try {
      const w = await runRole(
        'ws',
        ['--url', `ws://127.0.0.1:${p.port}/ws`, '--duration', duration, ...wsKinds[kind]],
        (line) => {
          if (line === 'measuring') {
            p0 = cpuMs(p.pid);
            b0 = cpuMs(be.proc.pid);
          }
        },
        pinned ? ['taskset', '-c', '0'] : [],
      );
      const p1 = cpuMs(p.pid);
      const b1 = cpuMs(be.proc.pid);
      put(p.name, key, w.mps);
      // CPU per message (µs): proxy, load generator, backend (over the measured window)
      if (p.pid !== undefined) put(p.name, `${key}_cpu`, ((p1 - p0) * 1000) / w.msgs);
      put(p.name, `${key}_loadcpu`, (w.cpuMs * 1000) / w.msgs);
      put(p.name, `${key}_becpu`, ((b1 - b0) * 1000) / w.msgs);
      put(p.name, `${key}_util`, (w.cpuMs + (b1 - b0) + (p1 - p0)) / w.ms);
    } finally {
      if (pinned) {
        await pin(be.proc.pid, allCpus);
        await pin(p.pid, allCpus);
      }
    }
  };
  for (let r = 0; r < rounds; r++) {
    const order = parties.map((_, i) => parties[(i + r) % parties.length]);
    for (const p of order) {
      const url = `http://127.0.0.1:${p.port}/bench`;
      process.stderr.write(`round ${r + 1}/${rounds}: ${p.name}\n`);
      if (tests.has('rps1')) {
        const a1 = await runRole('load', ['--url', url, '--connections', '1', '--duration', duration]);
        put(p.name, 'rps1', a1.rps);
        put(p.name, 'p50_1', a1.p50);
        put(p.name, 'p99_1', a1.p99);
      }
      if (tests.has('rps50')) {
        const c0 = cpuMs(p.pid);
        const a50 = await runRole('load', ['--url', url, '--connections', '50', '--duration', duration]);
        if (p.pid !== undefined) put(p.name, 'rps50_cpu', ((cpuMs(p.pid) - c0) * 1000) / a50.total);
        put(p.name, 'rps50', a50.rps);
        put(p.name, 'p50_50', a50.p50);
        put(p.name, 'p99_50', a50.p99);
      }
      if (tests.has('lat')) {
        const l = await runRole('lat', ['--url', url, '--n', '5000']);
        put(p.name, 'latp50', l.p50us);
        put(p.name, 'latp99', l.p99us);
      }
      for (const kind of Object.keys(wsKinds)) {
        if (!tests.has(kind)) continue;
        await runWs(p, kind, false);
        if (wsPin) await runWs(p, kind, true);
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
  const get = (name: string, key: string) => res.get(name)?.get(key) ?? [];
  const med = (name: string, key: string) => median(get(name, key));
  /** median and range of a series: "m (lo-hi)" */
  const mr = (name: string, key: string, d = 0) => {
    const xs = get(name, key);
    if (!xs.length) return '-';
    if (xs.length === 1) return f(xs[0], d);
    return `${f(median(xs), d)} (${f(Math.min(...xs), d)}-${f(Math.max(...xs), d)})`;
  };
  const direct = want.has('direct') ? 'direct' : parties[0].name;
  const cols = (title: string, keys: Array<[string, string, number?]>) => {
    const used = keys.filter(([k]) => parties.some((p) => get(p.name, k).length));
    if (!used.length) return;
    console.log(`\n${title}`);
    console.log(`| | ${used.map(([, h]) => h).join(' | ')} |`);
    console.log(`|---|${used.map(() => '---').join('|')}|`);
    for (const p of parties) console.log(`| ${p.name} | ${used.map(([k, , d]) => mr(p.name, k, d ?? 0)).join(' | ')} |`);
  };
  console.log(`\n${rounds} alternating rounds x ${duration}s; median (min-max) over the rounds`);
  cols('HTTP GET 1 KiB (autocannon; latency loop = 5000 sequential keep-alive GETs with µs timing):', [
    ['rps1', 'req/s c=1'],
    ['rps50', 'req/s c=50'],
    ['p99_50', 'p99 ms c=50'],
    ['rps50_cpu', 'proxy CPU µs/req c=50', 1],
    ['latp50', 'loop p50 µs'],
    ['latp99', 'loop p99 µs'],
  ]);
  if (tests.has('lat') && parties.length > 1) {
    console.log('added p50 µs (loop p50 - direct loop p50): ' + parties.filter((p) => p.name !== direct).map((p) => `${p.name} ${f(med(p.name, 'latp50') - med(direct, 'latp50'))}`).join(', '));
  }
  const wsTitle: Record<string, string> = {
    ws: `ws echo, ${wsKinds.ws[1]} B messages, ${wsKinds.ws[3]} connections x ${wsKinds.ws[5]} in flight`,
    wsk: 'ws echo, 4 KiB messages, 50 connections x 2 in flight',
  };
  for (const kind of Object.keys(wsKinds)) {
    for (const key of wsPin ? [kind, `${kind}pin`] : [kind]) {
      cols(`${wsTitle[kind]}${key.endsWith('pin') ? ', PINNED (load generator + backend on CPU 0, proxy on CPU 1)' : ', unpinned'}; CPU in µs per echoed message:`, [
        [key, 'msg/s'],
        [`${key}_cpu`, 'proxy CPU', 2],
        [`${key}_loadcpu`, 'load gen CPU', 2],
        [`${key}_becpu`, 'backend CPU', 2],
        [`${key}_util`, 'cores busy (all 3)', 2],
      ]);
    }
  }
  if (chp && jp) {
    const ratio = (key: string, other: string) => med(jp!.name, key) / med(other, key);
    console.log('\nRatios (jhub-proxy vs CHP / vs direct):');
    for (const [key, label] of [['rps1', 'req/s c=1'], ['rps50', 'req/s c=50'], ['ws', 'ws msg/s'], ['wspin', 'ws msg/s pinned'], ['wsk', 'ws 4 KiB msg/s'], ['wskpin', 'ws 4 KiB pinned']]) {
      if (!get(jp.name, key).length) continue;
      console.log(`  ${label.padEnd(16)} ${ratio(key, chp.name).toFixed(2)}x CHP, ${ratio(key, direct).toFixed(2)}x direct`);
    }
  }
  if (api.size) {
    console.log(`\nRoute API (${nroutes} routes, 10 concurrent POSTs; GET /api/routes x20 at ${nroutes} routes; RSS read right after, i.e. after all load tests):`);
    console.log('| | route adds/s | GET all p50 ms | GET all max ms | body KiB | RSS MB | of which anon MB |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, a] of api) {
      console.log(`| ${name} | ${f(a.addsPerSec)} | ${f(a.getP50ms, 1)} | ${f(a.getMaxMs, 1)} | ${f(a.size / 1024)} | ${f(a.rss, 1)} | ${f(a.anon, 1)} |`);
    }
    const ja = jp && api.get(jp.name);
    const ca = chp && api.get(chp.name);
    if (ja && ca) console.log(`  adds/s ${(ja.addsPerSec / ca.addsPerSec).toFixed(2)}x CHP; GET all ${(ca.getP50ms / ja.getP50ms).toFixed(2)}x faster; RSS ${(ja.rss / ca.rss).toFixed(2)}x CHP`);
  }
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
