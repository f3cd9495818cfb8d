// HTTP/1.1 framing conformance (keep-alive, chunked, close-delimited, HEAD/204/304, 1xx,
// Expect, pipelining, HTTP/1.0, streaming, malformed input), run against jhub-proxy (whose
// raw-socket fast path handles most of these) AND configurable-http-proxy 5.3.0.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';
import { spawnProc, waitForHttp, sleep, type Proc } from '../helpers/proc.js';

const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../../..');
const IMPLS = [
  { name: 'jhub-proxy', bin: path.join(ROOT, 'bin/jhub-proxy'), jhub: true },
  { name: 'configurable-http-proxy', bin: path.join(ROOT, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'), jhub: false },
];

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reused: boolean;
}

function req(
  port: number,
  p: string,
  o: { method?: string; headers?: Record<string, string>; body?: Buffer | string | Array<Buffer | string>; agent?: http.Agent | false; expectContinue?: boolean } = {},
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path: p, method: o.method ?? 'GET', headers: o.headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reused: r.reusedSocket }));
      res.on('error', reject);
    });
    r.setTimeout(15_000, () => r.destroy(new Error('client timeout')));
    r.on('error', reject);
    const body = o.body;
    const send = () => {
      if (Array.isArray(body)) {
        for (const b of body) r.write(b);
        r.end();
      } else r.end(body);
    };
    if (o.expectContinue) r.on('continue', send);
    else send();
  });
}

function raw(port: number, text: string | Buffer, until: (s: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const done = () => {
      s.destroy();
      resolve(out);
    };
    s.on('data', (d) => {
      out += d.toString('latin1');
      if (until(out)) done();
    });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.setTimeout(timeoutMs, done);
    s.write(text);
  });
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

/** node:http backend with framing-specific endpoints */
async function startBackend() {
  let release: (() => void) | undefined;
  const handler = (rq: http.IncomingMessage, res: http.ServerResponse) => {
    const u = rq.url ?? '';
    const route = u.replace(/^\/idle/, '');
    const hash = crypto.createHash('sha256');
    let len = 0;
    rq.on('data', (c: Buffer) => {
      len += c.length;
      hash.update(c);
    });
    rq.on('end', () => {
      if (route.startsWith('/echo')) {
        const body = JSON.stringify({ method: rq.method, url: u, len, sha: hash.digest('hex'), te: rq.headers['transfer-encoding'] ?? null, cl: rq.headers['content-length'] ?? null });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else if (route.startsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('one,');
        res.write('two,');
        setImmediate(() => res.end('three'));
      } else if (route.startsWith('/head')) {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end(rq.method === 'HEAD' ? undefined : 'hello');
      } else if (route.startsWith('/204')) {
        res.writeHead(204, { 'x-empty': 'yes' });
        res.end();
      } else if (route.startsWith('/304')) {
        res.writeHead(304, { etag: '"x"' });
        res.end();
      } else if (route.startsWith('/early-hints')) {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('after hints');
      } else if (route.startsWith('/stream')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        release = () => res.end('second');
      } else if (route.startsWith('/release')) {
        release?.();
        release = undefined;
        res.end('released');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  };
  const server = http.createServer(handler);
  // a second server that closes idle keep-alive connections quickly
  const quick = http.createServer(handler);
  quick.keepAliveTimeout = 100;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => quick.listen(0, '127.0.0.1', r));
  const close = (s: http.Server) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    quickUrl: `http://127.0.0.1:${(quick.address() as net.AddressInfo).port}`,
    close: () => Promise.all([close(server), close(quick)]),
  };
}

/** raw backend: hand-written responses (close-delimited, HTTP/1.0, garbage) */
async function startRawBackend() {
  const server = net.createServer((s) => {
    let buf = '';
    s.on('error', () => s.destroy());
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      const url = buf.split(' ')[1] ?? '';
      if (url.includes('/close-delimited')) {
        s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the connection closes');
      } else if (url.includes('/http10')) {
        s.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nan HTTP/1.0 answer');
      } else {
        s.end('this is not HTTP\r\n\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const procs = new Set<Proc>();
after(async () => {
  for (const p of procs) await p.stop();
});

for (const impl of IMPLS) {
  describe(`framing: ${impl.name}`, { timeout: 120_000 }, () => {
    let be: Awaited<ReturnType<typeof startBackend>>;
    let rb: Awaited<ReturnType<typeof startRawBackend>>;
    let proc: Proc;
    let port: number;

    before(async () => {
      be = await startBackend();
      rb = await startRawBackend();
      port = await freePort();
      let apiPort = await freePort();
      while (apiPort === port) apiPort = await freePort();
      const env = { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'tok' };
      proc = spawnProc(impl.bin, ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--default-target', be.url], { env });
      procs.add(proc);
      const api = `http://127.0.0.1:${apiPort}/api/routes`;
      await waitForHttp(api, { proc, headers: { Authorization: 'token tok' } });
      await waitForHttp(`http://127.0.0.1:${port}/_chp_healthz`, { proc });
      const add = await fetch(`${api}/raw`, { method: 'POST', headers: { Authorization: 'token tok' }, body: JSON.stringify({ target: rb.url }) });
      assert.equal(add.status, 201);
      const add2 = await fetch(`${api}/idle`, { method: 'POST', headers: { Authorization: 'token tok' }, body: JSON.stringify({ target: be.quickUrl }) });
      assert.equal(add2.status, 201);
    });
    after(async () => {
      await proc?.stop();
      procs.delete(proc);
      await be?.close();
      await rb?.close();
    });

    it('keep-alive: chunked and sized responses on one client connection', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 3; i++) {
          const c = await req(port, `/chunked/${i}`, { agent });
          assert.equal(c.status, 200);
          assert.equal(c.body.toString(), 'one,two,three');
          const e = await req(port, `/echo/${i}?q=${i}`, { agent });
          assert.equal(JSON.parse(e.body.toString()).url, `/echo/${i}?q=${i}`);
          if (i > 0) assert.ok(c.reused && e.reused, 'client connection is kept alive');
        }
      } finally {
        agent.destroy();
      }
    });

    it('close-delimited and HTTP/1.0 upstream responses are complete and keep the client connection usable', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const a = await req(port, '/raw/close-delimited', { agent });
        assert.equal(a.status, 200);
        assert.equal(a.body.toString(), 'until the connection closes');
        const b = await req(port, '/raw/http10', { agent });
        assert.equal(b.status, 200);
        assert.equal(b.body.toString(), 'an HTTP/1.0 answer');
        const c = await req(port, '/echo/after', { agent });
        assert.equal(c.status, 200);
      } finally {
        agent.destroy();
      }
    });

    it('an invalid upstream response is a 503', async () => {
      const r = await req(port, '/raw/garbage');
      assert.equal(r.status, 503);
    });

    it('HEAD, 204 and 304 responses have no body', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const h = await req(port, '/head', { method: 'HEAD', agent });
        assert.equal(h.status, 200);
        assert.equal(h.headers['content-length'], '5');
        assert.equal(h.body.length, 0);
        const n = await req(port, '/204', { agent });
        assert.equal(n.status, 204);
        assert.equal(n.headers['x-empty'], 'yes');
        const m = await req(port, '/304', { agent });
        assert.equal(m.status, 304);
        const g = await req(port, '/head', { agent });
        assert.equal(g.body.toString(), 'hello');
      } finally {
        agent.destroy();
      }
      // on the wire: nothing after the HEAD/204 heads, the next response follows directly
      const out = await raw(
        port,
        'HEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /head HTTP/1.1\r\nHost: x\r\n\r\n',
        (s) => s.endsWith('hello'),
      );
      assert.equal(count(out, 'HTTP/1.1 '), 3, out);
      assert.match(out, /^HTTP\/1\.1 200 [^]*?\r\n\r\nHTTP\/1\.1 204 [^]*?\r\n\r\nHTTP\/1\.1 200 [^]*?\r\n\r\nhello$/);
    });

    it('interim 1xx responses do not break the final response', async () => {
      const r = await req(port, '/early-hints');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'after hints');
    });

    it('request bodies: content-length, chunked, 1 MiB, Expect: 100-continue', async () => {
      const big = crypto.randomBytes(1024 * 1024);
      const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
      const a = JSON.parse((await req(port, '/echo/cl', { method: 'POST', body: big, headers: { 'content-length': String(big.length) } })).body.toString());
      assert.equal(a.len, big.length);
      assert.equal(a.sha, sha(big));
      const parts = [Buffer.from('abc'), Buffer.alloc(70_000, 1), Buffer.from('xyz')];
      const b = JSON.parse((await req(port, '/echo/chunked', { method: 'PUT', body: parts })).body.toString());
      assert.equal(b.len, 70_006);
      assert.equal(b.sha, sha(Buffer.concat(parts)));
      assert.equal(b.te, 'chunked');
      const c = JSON.parse((await req(port, '/echo/expect', { method: 'POST', body: 'after continue', headers: { Expect: '100-continue', 'content-length': '14' }, expectContinue: true })).body.toString());
      assert.equal(c.len, 14);
      const d = JSON.parse((await req(port, '/echo/empty', { method: 'POST' })).body.toString());
      assert.equal(d.len, 0);
    });

    it('pipelined requests are answered in order', async () => {
      const out = await raw(
        port,
        'GET /echo/1 HTTP/1.1\r\nHost: x\r\n\r\n' +
          'POST /echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
          'POST /echo/3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
          'GET /echo/4 HTTP/1.1\r\nHost: x\r\n\r\n',
        (s) => count(s, '"url"') === 4,
      );
      const urls = [...out.matchAll(/"url":"([^"]+)","len":(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
      assert.deepEqual(urls, ['/echo/1:0', '/echo/2:5', '/echo/3:3', '/echo/4:0']);
    });

    it('an HTTP/1.0 client gets its answer', async () => {
      const out = await raw(port, 'GET /echo/old HTTP/1.0\r\nHost: x\r\n\r\n', () => false);
      assert.match(out, /^HTTP\/1\.[01] 200 /);
      assert.match(out, /"url":"\/echo\/old"/);
    });

    it('responses are streamed as they arrive; a client leaving mid-response is harmless', async () => {
      await new Promise<void>((resolve, reject) => {
        const r = http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
            if (body === 'first;') void req(port, '/release').catch(reject);
          });
          res.on('end', () => {
            try {
              assert.equal(body, 'first;second');
              resolve();
            } catch (e) {
              reject(e);
            }
          });
        });
        r.on('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        const r = http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
          res.once('data', () => {
            r.destroy();
            resolve();
          });
        });
        r.on('error', () => {});
        setTimeout(() => reject(new Error('no first chunk')), 10_000).unref();
      });
      await req(port, '/release');
      assert.equal((await req(port, '/echo/still-fine')).status, 200);
    });

    it('upstream keep-alive connections closed while idle do not cause errors', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await req(port, `/idle/echo/${i}`);
        assert.equal(r.status, 200);
        assert.equal(JSON.parse(r.body.toString()).url, `/idle/echo/${i}`);
        if (i < 2) await sleep(300); // the backend closes idle connections after 100 ms
      }
    });

    it('malformed requests are rejected with 400', async () => {
      for (const text of [
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'GET /echo HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
        'GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      ]) {
        const out = await raw(port, text, (s) => s.includes('\r\n\r\n'));
        assert.match(out, /^HTTP\/1\.1 400 /, JSON.stringify(text));
      }
      assert.equal((await req(port, '/echo/ok')).status, 200);
    });
  });
}
