/**
 * A small HTTP client on node:http for the hub's own hot paths (proxy API calls, readiness
 * checks of servers): much less work per request than `fetch`, and a request can use a
 * keep-alive agent. Redirects are never followed.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Connection reuse; default: a new connection, closed after the answer. */
  agent?: http.Agent;
  /** Abort (with an error) when no complete answer arrived by then. */
  timeoutMs?: number;
  /** Resolve on the status line; the body is read and dropped. */
  statusOnly?: boolean;
}

export interface HttpResponse {
  status: number;
  text: string;
}

export class HttpTimeoutError extends Error {}

export function httpRequest(url: string | URL, o: HttpRequestOptions = {}): Promise<HttpResponse> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<HttpResponse>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    const finish = (err: Error | null, res?: HttpResponse) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (err) reject(err);
      else resolve(res!);
    };
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(o.body));
    const req = mod.request(u, { method: o.method ?? 'GET', headers, agent: o.agent ?? false }, (res) => {
      const status = res.statusCode ?? 0;
      if (o.statusOnly) {
        res.on('error', () => {});
        res.resume();
        // A server that never finishes its body does not keep the connection open for ever.
        const t = setTimeout(() => req.destroy(), 5000).unref();
        res.once('close', () => clearTimeout(t));
        finish(null, { status, text: '' });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => finish(null, { status, text: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', (e) => finish(e));
      res.once('aborted', () => finish(new Error('connection closed before the answer was complete')));
    });
    req.once('error', (e) => finish(e));
    if (o.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        finish(new HttpTimeoutError(`no answer from ${u.origin} within ${o.timeoutMs} ms`));
        req.destroy();
      }, o.timeoutMs);
    }
    req.end(o.body);
  });
}

/**
 * The status code of `GET <url>` over plain HTTP, read from the status line alone (the
 * connection is closed right after it): a readiness probe that costs next to nothing, also
 * when the port is not open yet. Other schemes go through httpRequest.
 */
export function probeStatus(url: URL, timeoutMs: number): Promise<number> {
  if (url.protocol !== 'http:') return httpRequest(url, { statusOnly: true, timeoutMs }).then((r) => r.status);
  return new Promise<number>((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const sock = net.connect({ host, port: Number(url.port) || 80 });
    let buf = '';
    let done = false;
    const finish = (err: Error | null, status?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(status!);
    };
    const timer = setTimeout(() => finish(new HttpTimeoutError(`no answer from ${url.origin} within ${timeoutMs} ms`)), timeoutMs);
    sock.setNoDelay(true);
    sock.once('connect', () => {
      sock.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: jhub\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    });
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      const eol = buf.indexOf('\n');
      if (eol < 0 && buf.length < 1024) return;
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(buf);
      finish(m ? null : new Error(`not an HTTP answer from ${url.origin}`), m ? Number(m[1]) : undefined);
    });
    sock.once('error', (e) => finish(e));
    sock.once('close', () => finish(new Error(`connection to ${url.origin} closed without an answer`)));
  });
}
