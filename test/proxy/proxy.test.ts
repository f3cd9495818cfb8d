// Black-box conformance suite, run against jhub-proxy AND the real configurable-http-proxy 5.3.0.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { freePort } from '../helpers/ports.js';
import { spawnProc, waitForHttp, sleep, type Proc } from '../helpers/proc.js';

const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../../..');
const TOKEN = 'secret-token-123';

interface Impl {
  name: string;
  bin: string;
  jhub: boolean;
}
const IMPLS: Impl[] = [
  { name: 'jhub-proxy', bin: path.join(ROOT, 'bin/jhub-proxy'), jhub: true },
  { name: 'configurable-http-proxy', bin: path.join(ROOT, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'), jhub: false },
];

// ---------------------------------------------------------------------------------------
// fixtures

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-proxy-test-'));
function makeCert(name: string, cn: string): { key: string; cert: string } {
  const key = path.join(TMP, `${name}.key`);
  const cert = path.join(TMP, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:localhost,IP:127.0.0.1`],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; ca?: string | Buffer; timeoutMs?: number } = {},
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method: o.method ?? 'GET', headers: o.headers, agent: false, ca: o.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs ?? 20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(o.body);
  });
}

interface Echo {
  url: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  backend: string;
}

/** HTTP backend: echoes the request as JSON; /hang never answers, /reset resets, /status/N. */
async function startBackend(name: string, tls?: { key: string; cert: string }) {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = req.url ?? '';
      if (u.includes('/hang')) return; // never answer
      if (u.includes('/reset')) {
        req.socket.resetAndDestroy();
        return;
      }
      const m = /\/status\/(\d+)/.exec(u);
      const status = m ? Number(m[1]) : 200;
      const e: Echo = { url: u, method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), backend: name };
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-backend': name };
      if (u.includes('/redirect')) headers.location = `http://${req.headers.host}/somewhere`;
      res.writeHead(status, headers);
      res.end(JSON.stringify(e));
    });
  };
  const server = tls
    ? https.createServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }, handler)
    : http.createServer(handler);
  const wss = new WebSocketServer({ server });
  const wsHeaders: http.IncomingHttpHeaders[] = [];
  wss.on('connection', (ws, req) => {
    wsHeaders.push(req.headers);
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${data.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    wsHeaders,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Error-target backend: records requests, answers `error page <path>` as text/x-error. */
async function startErrorBackend() {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/x-error', 'x-ignored': '1' });
    res.end(`error page ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Running {
  proc: Proc;
  port: number;
  apiPort: number;
  url: string;
  api: string;
  extra: Record<string, number>;
  api_(p: string, o?: Parameters<typeof request>[1]): Promise<Resp>;
  addRoute(p: string, data: Record<string, unknown>): Promise<void>;
  stop(): Promise<number | string>;
}

const procs = new Set<Proc>();

async function startProxy(
  impl: Impl,
  args: string[] = [],
  o: { env?: Record<string, string | undefined>; ssl?: { ca: string }; apiSsl?: { ca: string }; wait?: boolean; ports?: { port: number; apiPort: number } } = {},
): Promise<Running> {
  const port = o.ports?.port ?? (await freePort());
  let apiPort = o.ports?.apiPort ?? (await freePort());
  while (apiPort === port) apiPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN, FORCE_COLOR: '0', NO_COLOR: '1' };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const proc = spawnProc(impl.bin, ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), ...args], { env });
  procs.add(proc);
  const scheme = o.ssl ? 'https' : 'http';
  const apiScheme = o.apiSsl ? 'https' : 'http';
  const r: Running = {
    proc,
    port,
    apiPort,
    url: `${scheme}://127.0.0.1:${port}`,
    api: `${apiScheme}://127.0.0.1:${apiPort}/api/routes`,
    extra: {},
    api_: (p, ro = {}) =>
      request(`${apiScheme}://127.0.0.1:${apiPort}${p}`, {
        ...ro,
        ca: o.apiSsl?.ca,
        headers: { Authorization: `token ${TOKEN}`, ...(ro.headers ?? {}) },
      }),
    async addRoute(p, data) {
      const res = await r.api_(`/api/routes${p}`, { method: 'POST', body: JSON.stringify(data) });
      assert.equal(res.status, 201, `add route ${p}: ${res.status} ${res.body}`);
    },
    async stop() {
      const code = await proc.stop();
      procs.delete(proc);
      return code;
    },
  };
  if (o.wait !== false) {
    await waitForHttp(`${r.api}`, { proc, ca: o.apiSsl?.ca, headers: { Authorization: `token ${TOKEN}` } });
    await waitForHttp(`${r.url}/_chp_healthz`, { proc, ca: o.ssl?.ca });
  }
  return r;
}

function wsConnect(url: string, o: { ca?: string; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca: o.ca, headers: o.headers, handshakeTimeout: 15_000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`unexpected ${res.statusCode}`), { status: res.statusCode })));
  });
}

function wsRoundTrip(ws: WebSocket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.once('error', reject);
    ws.send(msg);
  });
}

function rawExchange(port: number, text: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.setTimeout(timeoutMs, () => s.destroy());
    s.write(text);
  });
}

async function routeActivity(r: Running, p: string): Promise<number> {
  const res = await r.api_(`/api/routes${p}`);
  assert.equal(res.status, 200);
  return Date.parse(JSON.parse(res.body).last_activity);
}

after(async () => {
  for (const p of procs) await p.stop();
  fs.rmSync(TMP, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------

for (const impl of IMPLS) {
  describe(`conformance: ${impl.name}`, { timeout: 300_000 }, () => {
    let be: Awaited<ReturnType<typeof startBackend>>;
    let be2: Awaited<ReturnType<typeof startBackend>>;
    let p: Running;

    before(async () => {
      be = await startBackend('one');
      be2 = await startBackend('two');
      p = await startProxy(impl, ['--default-target', be.url]);
    });
    after(async () => {
      await p?.stop();
      await be?.close();
      await be2?.close();
    });

    describe('REST API', () => {
      it('lists the default route, with last_activity', async () => {
        const res = await p.api_('/api/routes');
        assert.equal(res.status, 200);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        const routes = JSON.parse(res.body);
        assert.equal(routes['/'].target, be.url);
        assert.match(routes['/'].last_activity, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      });

      it('POST creates (201, empty), GET returns data verbatim, POST replaces, DELETE removes', async () => {
        const data = { target: be2.url, user: 'alice', server_name: '', jupyterhub: true };
        const add = await p.api_('/api/routes/user/alice', { method: 'POST', body: JSON.stringify(data) });
        assert.equal(add.status, 201);
        assert.equal(add.body, '');
        const one = await p.api_('/api/routes/user/alice');
        assert.equal(one.status, 200);
        assert.match(String(one.headers['content-type']), /^application\/json/);
        const got = JSON.parse(one.body);
        assert.deepEqual({ ...got, last_activity: undefined }, { ...data, last_activity: undefined });
        assert.deepEqual(Object.keys(got), ['target', 'user', 'server_name', 'jupyterhub', 'last_activity']);
        await p.addRoute('/user/alice', { target: be.url, v: 2 });
        const two = JSON.parse((await p.api_('/api/routes/user/alice')).body);
        assert.equal(two.target, be.url);
        assert.equal(two.v, 2);
        assert.equal(two.user, undefined);
        const del = await p.api_('/api/routes/user/alice', { method: 'DELETE' });
        assert.equal(del.status, 204);
        assert.equal(del.body, '');
        const gone = await p.api_('/api/routes/user/alice');
        assert.equal(gone.status, 404);
        assert.equal(gone.body, '');
        const del2 = await p.api_('/api/routes/user/alice', { method: 'DELETE' });
        assert.equal(del2.status, 404);
        assert.equal(del2.body, '');
      });

      it('normalises keys: trailing slash, percent-decoding', async () => {
        await p.addRoute('/user/a%40b/', { target: be.url });
        const all = JSON.parse((await p.api_('/api/routes')).body);
        assert.ok(all['/user/a@b'], JSON.stringify(all));
        assert.equal((await p.api_('/api/routes/user/a@b')).status, 200);
        assert.equal((await p.api_('/api/routes/user/a%40b/', { method: 'DELETE' })).status, 204);
      });

      it('rejects missing, wrong and Bearer tokens with 403 and an empty body', async () => {
        for (const h of [{}, { Authorization: 'token nope' }, { Authorization: `Bearer ${TOKEN}` }] as Array<Record<string, string>>) {
          const res = await request(p.api, { headers: h });
          assert.equal(res.status, 403);
          assert.equal(res.body, '');
        }
        const ok = await request(p.api, { headers: { Authorization: `token   ${TOKEN}` } });
        assert.equal(ok.status, 200);
        const post = await request(p.api + '/x', { method: 'POST', body: JSON.stringify({ target: be.url }) });
        assert.equal(post.status, 403);
      });

      it('400 for malformed JSON (checked before the token), 400 for a missing target', async () => {
        let expected = '';
        try {
          JSON.parse('{bad');
        } catch (e) {
          expected = 'Body not valid JSON: ' + String(e);
        }
        const bad = await request(p.api + '/x', { method: 'POST', body: '{bad' });
        assert.equal(bad.status, 400);
        assert.equal(bad.body, expected);
        for (const body of ['{}', '{"target": 5}', 'null', '[]', '"str"']) {
          const r = await p.api_('/api/routes/x', { method: 'POST', body });
          assert.equal(r.status, 400, body);
          assert.equal(r.body, "Must specify 'target' as string");
        }
        const empty = await p.api_('/api/routes/x', { method: 'POST' });
        assert.equal(empty.status, 400);
        assert.match(empty.body, /^Body not valid JSON: SyntaxError/);
      });

      it('405 for other methods, 404 outside /api/routes', async () => {
        const put = await p.api_('/api/routes/x', { method: 'PUT', body: '{}' });
        assert.equal(put.status, 405);
        assert.equal(put.body, 'Method not supported');
        for (const u of ['/api/', '/api', '/', '/api/routesx']) {
          const r = await p.api_(u);
          assert.equal(r.status, 404, u);
          assert.equal(r.body, 'Not Found');
        }
      });

      it('inactive_since / inactiveSince filter, 400 on a bad timestamp', async () => {
        await p.addRoute('/idle', { target: be.url });
        await p.addRoute('/busy', { target: be.url });
        await sleep(30);
        const mid = new Date().toISOString();
        await sleep(30);
        assert.equal((await request(`${p.url}/busy/x`)).status, 200);
        for (const q of ['inactive_since', 'inactiveSince']) {
          const r = await p.api_(`/api/routes?${q}=${encodeURIComponent(mid)}`);
          assert.equal(r.status, 200);
          const keys = Object.keys(JSON.parse(r.body));
          assert.ok(keys.includes('/idle'), keys.join());
          assert.ok(!keys.includes('/busy'), keys.join());
        }
        const bad = await p.api_('/api/routes?inactive_since=yesterday-ish');
        assert.equal(bad.status, 400);
        assert.equal(bad.body, "Invalid datestamp 'yesterday-ish' must be ISO8601.");
        await p.api_('/api/routes/idle', { method: 'DELETE' });
        await p.api_('/api/routes/busy', { method: 'DELETE' });
      });
    });

    describe('proxying', () => {
      it('health check', async () => {
        const r = await request(`${p.url}/_chp_healthz`);
        assert.equal(r.status, 200);
        assert.deepEqual(JSON.parse(r.body), { status: 'OK' });
        assert.match(String(r.headers['content-type']), /application\/json/);
      });

      it('longest whole-segment prefix wins; root matches the rest', async () => {
        await p.addRoute('/user/al', { target: be2.url });
        await p.addRoute('/user/alice/deep', { target: be2.url + '/deep-target' });
        const a = JSON.parse((await request(`${p.url}/user/alice/x?y=1`)).body) as Echo;
        assert.equal(a.backend, 'one');
        assert.equal(a.url, '/user/alice/x?y=1');
        const b = JSON.parse((await request(`${p.url}/user/al/x`)).body) as Echo;
        assert.equal(b.backend, 'two');
        const c = JSON.parse((await request(`${p.url}/user/alice/deep/er`)).body) as Echo;
        assert.equal(c.backend, 'two');
        assert.equal(c.url, '/deep-target/user/alice/deep/er');
        const d = JSON.parse((await request(`${p.url}/user/%61l/x`)).body) as Echo;
        assert.equal(d.backend, 'two', 'matching uses the decoded path');
        await p.api_('/api/routes/user/al', { method: 'DELETE' });
        await p.api_('/api/routes/user/alice/deep', { method: 'DELETE' });
      });

      it('404 without a matching route (default error page)', async () => {
        await p.api_('/api/routes/', { method: 'DELETE' });
        try {
          const r = await request(`${p.url}/nowhere`);
          assert.equal(r.status, 404);
          assert.match(String(r.headers['content-type']), /text\/html/);
          assert.match(r.body, /404/);
        } finally {
          await p.addRoute('/', { target: be.url });
        }
      });

      it('forwards method, body, query; adds X-Forwarded-*; keeps Host', async () => {
        const r = await request(`${p.url}/post/here?q=a%20b`, {
          method: 'POST',
          body: 'hello body',
          headers: { 'content-type': 'text/plain', 'x-forwarded-for': '10.0.0.1', Host: 'hub.example:8443' },
        });
        const e = JSON.parse(r.body) as Echo;
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-backend'], 'one');
        assert.equal(e.method, 'POST');
        assert.equal(e.body, 'hello body');
        assert.equal(e.url, '/post/here?q=a%20b');
        assert.equal(e.headers.host, 'hub.example:8443');
        assert.equal(e.headers['x-forwarded-for'], '10.0.0.1,127.0.0.1');
        assert.equal(e.headers['x-forwarded-port'], '8443');
        assert.equal(e.headers['x-forwarded-proto'], 'http');
        assert.equal(e.headers['x-forwarded-host'], 'hub.example:8443');
      });

      it('passes upstream status and headers through', async () => {
        const r = await request(`${p.url}/status/418`);
        assert.equal(r.status, 418);
        assert.equal(r.headers['x-backend'], 'one');
        const r2 = await request(`${p.url}/redirect/status/302`);
        assert.equal(r2.status, 302);
        assert.equal(r2.headers.location, `http://127.0.0.1:${p.port}/somewhere`);
      });

      it('prepends the target path', async () => {
        await p.addRoute('/pre', { target: `${be2.url}/base/` });
        const e = JSON.parse((await request(`${p.url}/pre/x?a=1`)).body) as Echo;
        assert.equal(e.url, '/base/pre/x?a=1');
        await p.api_('/api/routes/pre', { method: 'DELETE' });
      });

      it('last_activity: updated by successful requests only', async () => {
        await p.addRoute('/act', { target: be2.url });
        const t0 = await routeActivity(p, '/act');
        await sleep(20);
        assert.equal((await request(`${p.url}/act/status/404`)).status, 404);
        assert.equal(await routeActivity(p, '/act'), t0, '404 from upstream is not activity');
        assert.equal((await request(`${p.url}/act/ok`)).status, 200);
        const t1 = await routeActivity(p, '/act');
        assert.ok(t1 > t0, `${t1} > ${t0}`);
        await p.api_('/api/routes/act', { method: 'DELETE' });
      });

      it('503 when the target is down; 500 for an unusable target', async () => {
        const dead = await freePort();
        await p.addRoute('/dead', { target: `http://127.0.0.1:${dead}` });
        const r = await request(`${p.url}/dead/x`);
        assert.equal(r.status, 503);
        assert.match(r.body, /503/);
        await p.addRoute('/bad', { target: 'not a url' });
        assert.equal((await request(`${p.url}/bad/x`)).status, 500);
        await p.addRoute('/ftp', { target: 'ftp://127.0.0.1/' });
        assert.equal((await request(`${p.url}/ftp/x`)).status, 500);
        assert.equal((await request(`${p.url}/%E0%A4%A`)).status, 500, 'malformed percent-encoding');
        for (const x of ['dead', 'bad', 'ftp']) await p.api_(`/api/routes/${x}`, { method: 'DELETE' });
      });

      it('503 when the upstream resets the connection', async () => {
        const r = await request(`${p.url}/reset`);
        assert.equal(r.status, 503);
      });

      it('431 for huge request headers, and the proxy keeps working', async () => {
        const r = await request(`${p.url}/x`, { headers: { 'x-big': 'a'.repeat(40_000) } });
        assert.equal(r.status, 431);
        assert.equal((await request(`${p.url}/x`)).status, 200);
      });

      it('a slow client does not block others', async () => {
        const s = net.connect(p.port, '127.0.0.1');
        await new Promise<void>((r) => s.once('connect', () => r()));
        s.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
        const r = await request(`${p.url}/fast`);
        assert.equal(r.status, 200);
        s.destroy();
      });
    });

    describe('websockets', () => {
      it('echoes through the proxy with X-Forwarded headers, and ws traffic is activity', async () => {
        await p.addRoute('/ws', { target: be2.url });
        const t0 = await routeActivity(p, '/ws');
        const ws = await wsConnect(`ws://127.0.0.1:${p.port}/ws/sock`);
        await sleep(20);
        assert.equal(await wsRoundTrip(ws, 'hi'), 'echo:hi');
        assert.equal(await wsRoundTrip(ws, 'x'.repeat(100_000)), 'echo:' + 'x'.repeat(100_000));
        const h = be2.wsHeaders[be2.wsHeaders.length - 1];
        assert.equal(h['x-forwarded-proto'], 'ws');
        assert.equal(h['x-forwarded-for'], '127.0.0.1');
        assert.equal(h['x-forwarded-port'], String(p.port));
        const t1 = await routeActivity(p, '/ws');
        assert.ok(t1 > t0, `ws messages update last_activity (${t1} > ${t0})`);
        ws.close();
        await p.api_('/api/routes/ws', { method: 'DELETE' });
      });

      it('fails the handshake for a dead target', async () => {
        const dead = await freePort();
        await p.addRoute('/wsdead', { target: `http://127.0.0.1:${dead}` });
        const raw = await rawExchange(
          p.port,
          'GET /wsdead/x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        assert.match(raw, /^HTTP\/1\.1 503\r\nContent-Length: 0\r\n\r\n/);
        await p.api_('/api/routes/wsdead', { method: 'DELETE' });
      });
    });

    describe('flags', () => {
      it('--no-x-forward, --no-include-prefix, --no-prepend-path, --custom-header, --change-origin', async () => {
        const q = await startProxy(impl, ['--no-x-forward', '--no-include-prefix', '--no-prepend-path', '--custom-header', 'X-One: 1', '--custom-header', ' x-two : two words ', '--change-origin']);
        try {
          await q.addRoute('/user/bob', { target: `${be.url}/ignored` });
          const e = JSON.parse((await request(`${q.url}/user/bob/tree/x?y=2`)).body) as Echo;
          assert.equal(e.url, '/tree/x?y=2');
          assert.equal(e.headers['x-forwarded-for'], undefined);
          assert.equal(e.headers['x-forwarded-proto'], undefined);
          assert.equal(e.headers['x-one'], '1');
          assert.equal(e.headers['x-two'], 'two words');
          assert.equal(e.headers.host, `127.0.0.1:${be.port}`);
        } finally {
          await q.stop();
        }
      });

      it('--host-routing: host is the first segment and recorded in the data', async () => {
        const q = await startProxy(impl, ['--host-routing']);
        try {
          await q.addRoute('/alice.hub.example/user/alice', { target: be2.url });
          await q.addRoute('/', { target: be.url });
          const data = JSON.parse((await q.api_('/api/routes/alice.hub.example/user/alice')).body);
          assert.equal(data.host, 'alice.hub.example');
          const a = JSON.parse((await request(`${q.url}/user/alice/x`, { headers: { Host: 'alice.hub.example:9999' } })).body) as Echo;
          assert.equal(a.backend, 'two');
          assert.equal(a.url, '/user/alice/x');
          const b = JSON.parse((await request(`${q.url}/user/alice/x`, { headers: { Host: 'other.example' } })).body) as Echo;
          assert.equal(b.backend, 'one');
        } finally {
          await q.stop();
        }
      });

      it('--error-target: GET <target>/<code>?url=..., original status, content type copied', async () => {
        const eb = await startErrorBackend();
        const q = await startProxy(impl, ['--error-target', `${eb.url}/hub/error`]);
        try {
          const r = await request(`${q.url}/foo/bar?q=1`);
          assert.equal(r.status, 404);
          assert.equal(r.headers['content-type'], 'text/x-error');
          assert.equal(r.headers['x-ignored'], undefined);
          assert.equal(r.body, 'error page /hub/error/404?url=%2Ffoo%2Fbar%3Fq%3D1');
          const dead = await freePort();
          await q.addRoute('/dead', { target: `http://127.0.0.1:${dead}` });
          const r2 = await request(`${q.url}/dead`);
          assert.equal(r2.status, 503);
          assert.equal(r2.body, 'error page /hub/error/503?url=%2Fdead');
        } finally {
          await q.stop();
          await eb.close();
        }
      });

      it('--error-target that is down falls back to a plain status', async () => {
        const dead = await freePort();
        const q = await startProxy(impl, ['--error-target', `http://127.0.0.1:${dead}`]);
        try {
          const r = await request(`${q.url}/nothing`);
          assert.equal(r.status, 404);
          assert.equal(r.body, 'Not Found');
        } finally {
          await q.stop();
        }
      });

      it('--error-path: <code>.html, else error.html, else plain', async () => {
        const dir = fs.mkdtempSync(path.join(TMP, 'errors-'));
        fs.writeFileSync(path.join(dir, '404.html'), '<p>custom 404</p>');
        fs.writeFileSync(path.join(dir, 'error.html'), '<p>custom error</p>');
        const q = await startProxy(impl, ['--error-path', dir]);
        try {
          const r = await request(`${q.url}/nothing`);
          assert.equal(r.status, 404);
          assert.equal(r.headers['content-type'], 'text/html');
          assert.equal(r.body, '<p>custom 404</p>');
          const dead = await freePort();
          await q.addRoute('/dead', { target: `http://127.0.0.1:${dead}` });
          const r2 = await request(`${q.url}/dead`);
          assert.equal(r2.status, 503);
          assert.equal(r2.body, '<p>custom error</p>');
          fs.rmSync(path.join(dir, 'error.html'));
          const r3 = await request(`${q.url}/dead`);
          assert.equal(r3.status, 503);
          assert.equal(r3.body, 'Service Unavailable');
        } finally {
          await q.stop();
        }
      });

      it('--error-target with --error-path is a startup error', async () => {
        const q = await startProxy(impl, ['--error-target', 'http://127.0.0.1:1', '--error-path', TMP], { wait: false });
        assert.equal(await q.proc.exited, 1);
        procs.delete(q.proc);
      });

      it('--proxy-timeout: a hanging upstream gives 503', async () => {
        const q = await startProxy(impl, ['--proxy-timeout', '300', '--default-target', be.url]);
        try {
          const r = await request(`${q.url}/hang`);
          assert.equal(r.status, 503);
        } finally {
          await q.stop();
        }
      });

      it('--timeout: the client connection is dropped when the upstream hangs', async () => {
        const q = await startProxy(impl, ['--timeout', '300', '--default-target', be.url]);
        try {
          await assert.rejects(request(`${q.url}/hang`), /socket hang up|ECONNRESET/);
          assert.equal((await request(`${q.url}/ok`)).status, 200);
        } finally {
          await q.stop();
        }
      });

      it('--metrics-port serves Prometheus metrics with CHP names', async () => {
        const mp = await freePort();
        const q = await startProxy(impl, ['--metrics-ip', '127.0.0.1', '--metrics-port', String(mp), '--default-target', be.url]);
        try {
          await request(`${q.url}/x`);
          await q.addRoute('/m', { target: be.url });
          await q.api_('/api/routes');
          const r = await request(`http://127.0.0.1:${mp}/metrics`);
          assert.equal(r.status, 200);
          for (const name of ['api_route_get', 'api_route_add', 'requests_web', 'requests_proxy', 'requests_api', 'find_target_for_req', 'process_cpu_seconds_total']) {
            assert.match(r.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
          }
          assert.match(r.body, /^requests_proxy\{status="200"\} [1-9]/m);
          assert.equal((await request(`http://127.0.0.1:${mp}/other`)).status, 404);
        } finally {
          await q.stop();
        }
      });

      it('--pid-file is written and removed on SIGTERM', async () => {
        const pidFile = path.join(TMP, `${impl.name}.pid`);
        const q = await startProxy(impl, ['--pid-file', pidFile]);
        for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await sleep(50);
        assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(q.proc.pid));
        const code = await q.stop();
        assert.equal(code, impl.jhub ? 0 : 2);
        assert.equal(fs.existsSync(pidFile), false);
      });

      it('--help exits 0; an unknown flag exits 1', async () => {
        const h = spawnProc(impl.bin, ['--help']);
        assert.equal(await h.exited, 0);
        assert.match(h.stdout(), /--default-target/);
        assert.match(h.stdout(), /--error-target/);
        const u = spawnProc(impl.bin, ['--no-such-flag']);
        assert.equal(await u.exited, 1);
        assert.match(u.stderr(), /unknown option/);
        const c = spawnProc(impl.bin, ['--custom-header', 'nocolon']);
        assert.equal(await c.exited, 1);
        assert.match(c.output(), /A colon was expected in custom header: nocolon/);
      });
    });

    describe('TLS', () => {
      let pub: { key: string; cert: string };
      let api: { key: string; cert: string };
      let up: { key: string; cert: string };
      before(() => {
        pub = makeCert(`${impl.name}-pub`, 'localhost');
        api = makeCert(`${impl.name}-api`, 'localhost');
        up = makeCert(`${impl.name}-up`, 'localhost');
      });

      it('HTTPS on the public and the API side; x-forwarded-proto https', async () => {
        const ca = fs.readFileSync(pub.cert, 'utf8');
        const apiCa = fs.readFileSync(api.cert, 'utf8');
        const q = await startProxy(
          impl,
          ['--ssl-key', pub.key, '--ssl-cert', pub.cert, '--api-ssl-key', api.key, '--api-ssl-cert', api.cert, '--default-target', be.url],
          { ssl: { ca }, apiSsl: { ca: apiCa } },
        );
        try {
          const r = await request(`${q.url}/tls/x`, { ca });
          assert.equal(r.status, 200);
          const e = JSON.parse(r.body) as Echo;
          assert.equal(e.headers['x-forwarded-proto'], 'https');
          const a = await q.api_('/api/routes');
          assert.equal(a.status, 200);
          const ws = await wsConnect(`wss://127.0.0.1:${q.port}/wss`, { ca });
          assert.equal(await wsRoundTrip(ws, 'secure'), 'echo:secure');
          ws.close();
        } finally {
          await q.stop();
        }
      });

      it('https targets: verified against --client-ssl-ca; unverifiable → 503', async () => {
        const tb = await startBackend('tls', up);
        const q = await startProxy(impl, ['--client-ssl-ca', up.cert]);
        const q2 = await startProxy(impl, []);
        try {
          await q.addRoute('/t', { target: tb.url });
          const r = await request(`${q.url}/t/x`);
          assert.equal(r.status, 200);
          assert.equal((JSON.parse(r.body) as Echo).backend, 'tls');
          await q2.addRoute('/t', { target: tb.url });
          assert.equal((await request(`${q2.url}/t/x`)).status, 503);
        } finally {
          await q.stop();
          await q2.stop();
          await tb.close();
        }
      });

      it('--redirect-port answers 301 to https', async () => {
        const rp = await freePort();
        const q = await startProxy(impl, ['--ssl-key', pub.key, '--ssl-cert', pub.cert, '--redirect-port', String(rp)], { ssl: { ca: fs.readFileSync(pub.cert, 'utf8') } });
        try {
          await waitForHttp(`http://127.0.0.1:${rp}/`, { proc: q.proc });
          const r = await request(`http://127.0.0.1:${rp}/some/path?x=1`, { headers: { Host: 'hub.example:80' } });
          assert.equal(r.status, 301);
          assert.equal(r.headers.location, `https://hub.example:${q.port}/some/path?x=1`);
        } finally {
          await q.stop();
        }
        const rp2 = await freePort();
        const q2 = await startProxy(impl, ['--ssl-key', pub.key, '--ssl-cert', pub.cert, '--redirect-port', String(rp2), '--redirect-to', '443'], { ssl: { ca: fs.readFileSync(pub.cert, 'utf8') } });
        try {
          await waitForHttp(`http://127.0.0.1:${rp2}/`, { proc: q2.proc });
          const r = await request(`http://127.0.0.1:${rp2}/p`, { headers: { Host: 'hub.example' } });
          assert.equal(r.status, 301);
          // CHP compares the (string) --redirect-to with the number 443, so the port is kept
          assert.equal(r.headers.location, 'https://hub.example:443/p');
        } finally {
          await q2.stop();
        }
      });

      it('--redirect-port without certificates is a startup error', async () => {
        const q = await startProxy(impl, ['--redirect-port', String(await freePort())], { wait: false });
        assert.equal(await q.proc.exited, 1);
        procs.delete(q.proc);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------
// jhub-proxy only

describe('jhub-proxy only', { timeout: 300_000 }, () => {
  const impl = IMPLS[0];
  let be: Awaited<ReturnType<typeof startBackend>>;
  before(async () => {
    be = await startBackend('one');
  });
  after(async () => {
    await be?.close();
  });

  async function waitForFile(file: string, pred: (s: string) => boolean): Promise<string> {
    for (let i = 0; i < 400; i++) {
      try {
        const s = fs.readFileSync(file, 'utf8');
        if (pred(s)) return s;
      } catch {
        // not yet
      }
      await sleep(25);
    }
    throw new Error(`timeout waiting for ${file}`);
  }

  it('route store survives SIGTERM + restart with all data', async () => {
    const store = path.join(TMP, 'store-term.json');
    const q = await startProxy(impl, ['--storage-backend', 'file', '--storage-path', store]);
    await q.addRoute('/user/alice', { target: be.url, user: 'alice', server_name: '', jupyterhub: true });
    await q.addRoute('/services/svc', { target: be.url, service: 'svc' });
    assert.equal((await request(`${q.url}/user/alice/x`)).status, 200);
    const before = JSON.parse((await q.api_('/api/routes')).body);
    assert.equal(await q.stop(), 0);
    const q2 = await startProxy(impl, ['--storage-backend', 'file', '--storage-path', store]);
    try {
      const after = JSON.parse((await q2.api_('/api/routes')).body);
      assert.deepEqual(after, before);
      assert.equal((await request(`${q2.url}/user/alice/y`)).status, 200);
    } finally {
      await q2.stop();
    }
  });

  it('route store survives kill -9 (after the debounced write)', async () => {
    const store = path.join(TMP, 'store-kill.json');
    const q = await startProxy(impl, ['--storage-path', store]);
    await q.addRoute('/user/bob', { target: be.url, user: 'bob' });
    await q.addRoute('/gone', { target: be.url });
    await q.api_('/api/routes/gone', { method: 'DELETE' });
    await waitForFile(store, (s) => s.includes('/user/bob') && !s.includes('/gone'));
    q.proc.kill('SIGKILL');
    await q.proc.exited;
    procs.delete(q.proc);
    const q2 = await startProxy(impl, ['--storage-path', store]);
    try {
      const routes = JSON.parse((await q2.api_('/api/routes')).body);
      assert.deepEqual(Object.keys(routes), ['/user/bob']);
      assert.equal(routes['/user/bob'].user, 'bob');
      assert.equal(fs.readdirSync(TMP).filter((f) => f.startsWith('store-kill.json.tmp')).length, 0);
    } finally {
      await q2.stop();
    }
  });

  it('a corrupt store file is a clear startup error', async () => {
    const store = path.join(TMP, 'store-corrupt.json');
    fs.writeFileSync(store, '{"format":"jhub-proxy-routes","version":1,"routes":{"/a":');
    const q = await startProxy(impl, ['--storage-path', store], { wait: false });
    assert.equal(await q.proc.exited, 1);
    procs.delete(q.proc);
    assert.match(q.proc.stderr(), /route store .*store-corrupt\.json is corrupt/);
    assert.doesNotMatch(q.proc.stderr(), /\n\s+at /, 'no stack trace');
  });

  it('bad flag values exit 1 with one line on stderr; --version', async () => {
    for (const args of [['--port', 'abc'], ['--log-level', 'loud'], ['--port'], ['stray']]) {
      const c = spawnProc(impl.bin, args);
      assert.equal(await c.exited, 1, args.join(' '));
      assert.equal(c.stderr().trim().split('\n').length, 1, c.stderr());
    }
    const v = spawnProc(impl.bin, ['--version']);
    assert.equal(await v.exited, 0);
    assert.match(v.stdout(), /^\d+\.\d+\.\d+/);
  });

  it('answers where CHP would hang: DELETE /api/routes, undecodable API paths', async () => {
    const q = await startProxy(impl, []);
    try {
      assert.equal((await q.api_('/api/routes', { method: 'DELETE' })).status, 404);
      assert.equal((await q.api_('/api/routes/%E0%A4%A')).status, 400);
    } finally {
      await q.stop();
    }
  });

  it('--insecure skips upstream certificate verification', async () => {
    const up = makeCert('insecure-up', 'localhost');
    const tb = await startBackend('tls', up);
    const q = await startProxy(impl, ['--insecure']);
    try {
      await q.addRoute('/t', { target: tb.url });
      assert.equal((await request(`${q.url}/t/x`)).status, 200);
    } finally {
      await q.stop();
      await tb.close();
    }
  });
});
