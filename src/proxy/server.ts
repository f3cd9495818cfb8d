// jhub-proxy: a configurable-http-proxy (CHP 5.3) compatible reverse proxy on node:http.
//
// Hot path design: one route table (Map lookups per path segment, bounded by the deepest
// route), targets parsed once per route, keep-alive upstream agents, request headers
// forwarded by mutating `req.headers` in place, response headers passed as a flat raw
// array, last_activity kept as a number per route and only turned into ISO text on GET.
import fs from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { createLogger, type Logger, type LogLevel } from './log.js';
import { RouteTable, cleanPath, type RouteData, type RouteEntry } from './routes.js';
import { FileRouteStore } from './store.js';
import { createMetrics, type ProxyMetrics } from './metrics.js';
import { isSimpleUrl, routingPath, getPath, urlJoin, hostHeaderPort } from './urls.js';
import { builtinErrorPage } from './errorpages.js';
import { createFastPath, type ErrorSink, type FastPath, type FastRoute } from './fast.js';

export { RouteTable } from './routes.js';
export type { Logger, LogLevel } from './log.js';

export interface TlsServerOptions {
  key?: Buffer | string;
  cert?: Buffer | string;
  ca?: Buffer | string | Array<Buffer | string>;
  passphrase?: string;
  dhparam?: Buffer | string;
  secureProtocol?: string;
  ciphers?: string;
  honorCipherOrder?: boolean;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

export interface ProxyOptions {
  ip?: string;
  port?: number;
  socket?: string;
  apiIp?: string;
  apiPort?: number;
  apiSocket?: string;
  metricsIp?: string;
  metricsPort?: number;
  metricsSocket?: string;
  /** public-side TLS */
  ssl?: TlsServerOptions;
  /** API-side TLS */
  apiSsl?: TlsServerOptions;
  /** client identity / CA towards https targets */
  clientSsl?: { key?: Buffer | string; cert?: Buffer | string; ca?: Buffer | string | Array<Buffer | string> };
  defaultTarget?: string;
  errorTarget?: string;
  /** directory with <code>.html / error.html; default: built-in pages */
  errorPath?: string;
  redirectPort?: number;
  redirectTo?: number | string;
  xForward?: boolean;
  prependPath?: boolean;
  includePrefix?: boolean;
  autoRewrite?: boolean;
  changeOrigin?: boolean;
  protocolRewrite?: string;
  customHeaders?: Record<string, string>;
  /** do not verify upstream TLS certificates */
  insecure?: boolean;
  hostRouting?: boolean;
  timeout?: number;
  proxyTimeout?: number;
  keepAliveTimeout?: number;
  /** "memory" (default) or "file" (needs storagePath) */
  storageBackend?: string;
  storagePath?: string;
  /** API token; undefined/empty = unauthenticated API */
  authToken?: string;
  enableMetrics?: boolean;
  log?: Logger;
  logLevel?: LogLevel;
  /** raw-socket fast path for plain HTTP/1.1 (default: on unless JHUB_PROXY_FAST=0; not used with ssl) */
  fastPath?: boolean;
}

export interface RunningProxy {
  readonly routes: RouteTable;
  /** node:http(s) server for the public side (with the fast path: the fallback for handed-off connections) */
  readonly proxyServer: http.Server;
  /** the listening public server (a net.Server when the fast path is on, else proxyServer) */
  readonly listener: net.Server;
  readonly apiServer: http.Server;
  readonly metricsServer?: http.Server;
  readonly redirectServer?: http.Server;
  readonly log: Logger;
  /** add a route as the API would (returns the stored entry) */
  addRoute(path: string, data: RouteData): RouteEntry;
  removeRoute(path: string): RouteEntry | undefined;
  /** stop listening, drop connections, flush the route store */
  close(): Promise<void>;
  /** synchronous store flush (for exit handlers) */
  flushSync(): void;
}

interface Target {
  href: string;
  mod: typeof http | typeof https;
  agent: http.Agent;
  hostname: string;
  port: number;
  /** URL host (with non-default port), used by --change-origin */
  host: string;
  socketPath?: string;
  https: boolean;
  /** target path + search to prepend ("" = nothing to prepend) */
  base: string;
  /** upstream connection pool key */
  key: string;
}

const STATUS = http.STATUS_CODES;
const XFF = 'x-forwarded-for';
const XFP = 'x-forwarded-port';
const XFPROTO = 'x-forwarded-proto';
const XFH = 'x-forwarded-host';
const REDIRECT_RE = /^201|30(1|2|7|8)$/;
const API_RE = /^\/api\/routes(\/.*)?$/;
const TOKEN_RE = /token\s+(\S+)/;
const MAX_API_BODY = 16 * 1024 * 1024;

function logUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function isEncrypted(req: http.IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

function errMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return err.message;
    default:
      return err instanceof Error ? `${err.name}: ${err.message}` : String(e);
  }
}

// node:https (and so tls/crypto, ~2 MB RSS) is loaded only when something needs it
const requireCjs = createRequire(import.meta.url);
let httpsMod: typeof https | undefined;
function getHttps(): typeof https {
  return (httpsMod ??= requireCjs('node:https') as typeof https);
}

/** constant-time string comparison (for the API token) */
function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ba.length !== bb.length) return false;
  let d = 0;
  for (let i = 0; i < ba.length; i++) d |= ba[i] ^ bb[i];
  return d === 0;
}

function listen(server: net.Server, port: number | undefined, host: string | undefined, socketPath?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (socketPath) server.listen(socketPath, done);
    else if (host) server.listen(port, host, done);
    else server.listen(port, done);
  });
}

export async function startProxy(opts: ProxyOptions = {}): Promise<RunningProxy> {
  const log = opts.log ?? createLogger(opts.logLevel ?? 'info');
  const xfwd = opts.xForward !== false;
  const prependPath = opts.prependPath !== false;
  const includePrefix = opts.includePrefix !== false;
  const hostRouting = !!opts.hostRouting;
  const customHeaders = opts.customHeaders && Object.keys(opts.customHeaders).length ? opts.customHeaders : undefined;
  const changeOrigin = !!opts.changeOrigin;
  const rewriteLocation = !!(opts.autoRewrite || opts.protocolRewrite);
  const timeout = opts.timeout && opts.timeout > 0 ? opts.timeout : 0;
  const proxyTimeout = opts.proxyTimeout && opts.proxyTimeout > 0 ? opts.proxyTimeout : 0;
  const authToken = opts.authToken || undefined;
  let errorTarget = opts.errorTarget;
  if (errorTarget && !errorTarget.endsWith('/')) errorTarget += '/';
  const errorPath = opts.errorPath;
  if (errorTarget && errorPath) throw new Error('Cannot specify both error-target and error-path. Pick one.');
  if (opts.redirectPort && !opts.ssl) throw new Error('HTTPS redirection specified but certificates not provided.');

  const metrics: ProxyMetrics | undefined =
    opts.enableMetrics || opts.metricsPort || opts.metricsSocket ? await createMetrics() : undefined;

  // ---- routes and storage -------------------------------------------------------------
  const table = new RouteTable(hostRouting);
  let store: FileRouteStore | undefined;
  const backend = opts.storageBackend ?? 'memory';
  if (backend === 'file') {
    if (!opts.storagePath) throw new Error('--storage-backend file requires --storage-path <file>');
    store = new FileRouteStore(opts.storagePath, table, log);
    const n = store.load();
    log.info('Loaded %d route(s) from %s', n, opts.storagePath);
  } else if (backend !== 'memory') {
    throw new Error(
      `Unsupported storage backend '${backend}' (jhub-proxy supports 'memory' and 'file'; custom CHP store modules are not supported)`,
    );
  }

  const addRoute = (p: string, data: RouteData): RouteEntry => {
    const entry = table.add(p, data);
    log.info('Route added %s -> %s', entry.path, data.target);
    return entry;
  };
  const removeRoute = (p: string): RouteEntry | undefined => {
    const e = table.remove(p);
    if (e) log.info('Removing route %s', e.path);
    return e;
  };
  if (opts.defaultTarget) addRoute('/', { target: opts.defaultTarget });

  // ---- upstream agents and targets ----------------------------------------------------
  const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo', noDelay: true } as http.AgentOptions);
  let httpsAgentInst: https.Agent | undefined;
  const httpsAgent = (): https.Agent =>
    (httpsAgentInst ??= new (getHttps().Agent)({ keepAlive: true, scheduling: 'lifo', noDelay: true } as https.AgentOptions));
  const clientSsl = opts.clientSsl;
  const rejectUnauthorized = !opts.insecure;

  function parseTarget(target: string): Target {
    const u = new URL(target);
    const proto = u.protocol;
    let t: Target;
    const base = prependPath ? getPath(u.pathname + u.search) : '';
    const baseNorm = base === '/' ? '' : base;
    if (proto.startsWith('http+unix') || proto.startsWith('unix+http')) {
      t = {
        href: u.href,
        mod: http,
        agent: httpAgent,
        hostname: 'localhost',
        port: 80,
        host: 'localhost',
        socketPath: decodeURIComponent(u.host),
        https: false,
        base: baseNorm,
        key: '',
      };
      t.key = 'unix:' + t.socketPath;
    } else if (proto.startsWith('http')) {
      const isHttps = proto.startsWith('https');
      let hostname = u.hostname;
      if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
      t = {
        href: u.href,
        mod: isHttps ? getHttps() : http,
        agent: isHttps ? httpsAgent() : httpAgent,
        hostname,
        port: u.port ? Number(u.port) : isHttps ? 443 : 80,
        host: u.host,
        https: isHttps,
        base: baseNorm,
        key: '',
      };
      t.key = hostname + ':' + t.port;
    } else {
      throw new Error(`Unexpected protocol ${proto}`);
    }
    return t;
  }

  function targetOf(entry: RouteEntry): Target {
    const p = entry.parsed as Target | Error | undefined;
    if (p === undefined) {
      try {
        const t = parseTarget(entry.data.target);
        entry.parsed = t;
        return t;
      } catch (e) {
        entry.parsed = e as Error;
        throw e;
      }
    }
    if (p instanceof Error) throw p;
    return p;
  }

  function requestOptions(t: Target, method: string | undefined, upath: string, headers: http.OutgoingHttpHeaders): https.RequestOptions {
    const o: https.RequestOptions = {
      method,
      hostname: t.hostname,
      port: t.port,
      path: upath,
      headers,
      agent: t.agent,
    };
    if (t.socketPath) o.socketPath = t.socketPath;
    if (t.https) {
      o.rejectUnauthorized = rejectUnauthorized;
      if (clientSsl) {
        if (clientSsl.key) o.key = clientSsl.key;
        if (clientSsl.cert) o.cert = clientSsl.cert;
        if (clientSsl.ca) o.ca = clientSsl.ca;
      }
    }
    return o;
  }

  function upstreamPath(t: Target, url: string, simple: boolean, prefix: string): string {
    let p: string;
    if (includePrefix) p = simple ? url : getPath(url);
    else p = getPath(url.slice(prefix.length));
    if (t.base === '') {
      if (p === '' || p.charCodeAt(0) !== 47) p = '/' + p;
      return p;
    }
    return urlJoin(t.base, p) || '/';
  }

  function applyRequestHeaders(req: http.IncomingMessage, t: Target, ws: boolean): http.IncomingHttpHeaders {
    const headers = req.headers;
    if (xfwd) {
      const enc = isEncrypted(req);
      const forV = String(req.socket.remoteAddress);
      const portV = hostHeaderPort(headers.host) ?? (enc ? '443' : '80');
      const protoV = ws ? (enc ? 'wss' : 'ws') : enc ? 'https' : 'http';
      const f = headers[XFF];
      headers[XFF] = f ? f + ',' + forV : forV;
      const p = headers[XFP] as string | undefined;
      headers[XFP] = p ? p + ',' + portV : portV;
      const pr = headers[XFPROTO] as string | undefined;
      headers[XFPROTO] = pr ? pr + ',' + protoV : protoV;
      if (!ws) headers[XFH] = (headers[XFH] as string | undefined) || headers.host || '';
    }
    if (customHeaders) Object.assign(headers, customHeaders);
    if (headers.trailer !== undefined) delete headers.trailer;
    if (changeOrigin) headers.host = t.host;
    return headers;
  }

  // ---- error rendering ------------------------------------------------------------------
  type ReqInfo = { method?: string; url?: string };
  function plainError(code: number, res: ErrorSink): void {
    if (res.writableEnded || res.destroyed) return;
    if (!res.headersSent) res.writeHead(code);
    res.end(STATUS[code]);
  }

  function renderError(code: number, req: ReqInfo, res: ErrorSink): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (errorTarget) {
      let u: URL;
      let t: Target;
      try {
        u = new URL(errorTarget);
        u.searchParams.set('url', req.url ?? '');
        u.pathname = u.pathname + code;
        t = parseTarget(errorTarget);
      } catch (e) {
        log.error('Bad error target %s: %s', errorTarget, errMessage(e));
        plainError(code, res);
        return;
      }
      const o = requestOptions(t, 'GET', u.pathname + u.search, {});
      log.debug('Requesting custom error page: %s', u.href);
      const ereq = t.mod.request(o, (up) => {
        if (res.writableEnded || res.destroyed || res.headersSent) {
          up.resume();
          return;
        }
        const ct = up.headers['content-type'];
        const ce = up.headers['content-encoding'];
        if (ct) res.setHeader('content-type', ct);
        if (ce) res.setHeader('content-encoding', ce);
        res.writeHead(code);
        up.on('error', () => res.destroy());
        up.on('data', (c: Buffer) => {
          if (!res.destroyed) res.write(c);
        });
        up.on('end', () => res.end());
      });
      ereq.on('error', (e) => {
        log.error('Failed to get custom error page: %s', errMessage(e));
        plainError(code, res);
      });
      ereq.end();
      return;
    }
    if (errorPath) {
      const tryRead = (names: string[]): void => {
        const name = names.shift();
        if (!name) {
          plainError(code, res);
          return;
        }
        const file = path.join(errorPath, name);
        fs.readFile(file, (err, data) => {
          if (err) {
            if (names.length === 0) log.error('No error file %s', file);
            tryRead(names);
            return;
          }
          if (res.writableEnded || res.destroyed) return;
          res.writeHead(code, { 'Content-Type': 'text/html' });
          res.end(data);
        });
      };
      tryRead([`${code}.html`, 'error.html']);
      return;
    }
    res.writeHead(code, { 'Content-Type': 'text/html' });
    res.end(builtinErrorPage(code, STATUS[code] ?? 'Error'));
  }

  function proxyError(code: number, req: ReqInfo, res: ErrorSink, e?: unknown): void {
    metrics?.requestsProxy.inc(code);
    log.error('%s %s %s %s', code, req.method, logUrl(req.url), e ? errMessage(e) : '');
    renderError(code, req, res);
  }

  function wsError(code: number, req: http.IncomingMessage, socket: net.Socket, e?: unknown): void {
    metrics?.requestsProxy.inc(code);
    log.error('%s %s %s %s', code, req.method, logUrl(req.url), e ? errMessage(e) : '');
    if (!socket.destroyed && socket.writable) {
      socket.end(`HTTP/${req.httpVersion} ${code}\r\nContent-Length: 0\r\n\r\n`);
    }
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  // ---- routing --------------------------------------------------------------------------
  function findRoute(req: http.IncomingMessage, url: string, simple: boolean): RouteEntry | undefined {
    const end = metrics?.findTargetForReq.startTimer();
    let p = routingPath(url, simple);
    if (hostRouting) {
      const h = req.headers.host;
      p = '/' + (h === undefined ? 'undefined' : h.split(':')[0]) + p;
    }
    const m = table.lookup(p);
    end?.();
    return m;
  }

  const touch = metrics
    ? (entry: RouteEntry) => {
        const end = metrics.lastActivityUpdating.startTimer();
        entry.ts = Date.now();
        end();
      }
    : (entry: RouteEntry) => {
        entry.ts = Date.now();
      };

  // ---- HTTP proxying ----------------------------------------------------------------------
  function handleWeb(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url as string;
    if (url === '/_chp_healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"OK"}');
      return;
    }
    metrics?.requestsWeb.inc();
    const r = resolve(req, url);
    if ('status' in r) {
      proxyError(r.status, req, res, r.err);
      return;
    }
    const { route, t, upath } = r;
    if (timeout) req.socket.setTimeout(timeout);
    const headers = applyRequestHeaders(req, t, false);
    const method = req.method;
    if ((method === 'DELETE' || method === 'OPTIONS') && headers['content-length'] === undefined) {
      headers['content-length'] = '0';
      delete headers['transfer-encoding'];
    }
    let preq: http.ClientRequest;
    try {
      preq = t.mod.request(requestOptions(t, method, upath, headers));
    } catch (e) {
      proxyError(500, req, res, e);
      return;
    }
    if (proxyTimeout) preq.setTimeout(proxyTimeout, () => preq.destroy());

    preq.on('response', (pres) => {
      metrics?.requestsProxy.inc(pres.statusCode as number);
      if (res.headersSent || res.destroyed) {
        pres.resume();
        return;
      }
      const raw = pres.rawHeaders;
      const out: string[] = [];
      const http10 = req.httpVersion === '1.0';
      let hasConn = false;
      for (let k = 0; k < raw.length; k += 2) {
        const name = raw[k];
        const len = name.length;
        if (len === 17 && name.toLowerCase() === 'transfer-encoding') continue;
        if (len === 10 && name.toLowerCase() === 'connection') {
          if (http10) continue;
          hasConn = true;
        }
        out.push(name, raw[k + 1]);
      }
      if (http10) out.push('connection', (req.headers.connection as string | undefined) || 'close');
      else if (!hasConn) out.push('connection', (req.headers.connection as string | undefined) || 'keep-alive');
      const status = pres.statusCode as number;
      if (rewriteLocation && REDIRECT_RE.test(String(status))) rewriteLocationHeader(out, t, req);
      try {
        res.writeHead(status, pres.statusMessage, out);
      } catch (e) {
        log.error('Bad upstream response headers for %s: %s', logUrl(req.url), errMessage(e));
        pres.resume();
        preq.destroy();
        plainError(502, res);
        return;
      }
      pres.on('data', (chunk: Buffer) => {
        if (!res.write(chunk)) {
          pres.pause();
          res.once('drain', () => pres.resume());
        }
      });
      pres.on('end', () => res.end());
      pres.on('error', () => res.destroy());
    });
    preq.on('error', (err: NodeJS.ErrnoException) => {
      if (req.socket.destroyed && err.code === 'ECONNRESET') return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      proxyError(503, req, res, err);
    });
    res.on('close', () => {
      if (res.writableFinished) {
        if (res.statusCode < 300) touch(route);
      } else {
        preq.destroy();
      }
    });

    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined || (cl !== undefined && cl !== '0')) {
      req.on('data', (chunk: Buffer) => {
        touch(route);
        if (!preq.write(chunk)) {
          req.pause();
          preq.once('drain', () => req.resume());
        }
      });
      req.on('end', () => preq.end());
      req.on('error', () => preq.destroy());
    } else {
      preq.end();
    }
  }

  function rewriteLocationValue(loc: string, t: { host: string }, reqHost: string | undefined): string {
    try {
      const u = new URL(loc.startsWith('//') ? `http://base.invalid${loc}` : loc, 'http://base.invalid');
      if (u.host !== t.host) return loc;
      if (opts.autoRewrite) u.host = reqHost ?? '';
      if (opts.protocolRewrite) u.protocol = opts.protocolRewrite;
      return u.toString();
    } catch {
      return loc; // leave it alone
    }
  }

  function rewriteLocationHeader(out: string[], t: Target, req: http.IncomingMessage): void {
    for (let k = 0; k < out.length; k += 2) {
      if (out[k].toLowerCase() !== 'location') continue;
      out[k + 1] = rewriteLocationValue(out[k + 1], t, req.headers.host);
      return;
    }
  }

  // ---- raw-socket fast path (plain HTTP/1.1) ------------------------------------------------
  function fastResolve(url: string, host: string | undefined): FastRoute | undefined {
    if (url === '/_chp_healthz') return undefined;
    try {
      const simple = isSimpleUrl(url);
      const end = metrics?.findTargetForReq.startTimer();
      let p = routingPath(url, simple);
      if (hostRouting) p = '/' + (host === undefined ? 'undefined' : host.split(':')[0]) + p;
      const entry = table.lookup(p);
      end?.();
      if (entry === undefined) return undefined;
      const t = targetOf(entry);
      if (t.https) return undefined;
      metrics?.requestsWeb.inc();
      return { entry, t, upath: upstreamPath(t, url, simple, entry.key) };
    } catch {
      return undefined; // the node:http path reports it (500)
    }
  }

  // ---- WebSocket proxying -------------------------------------------------------------------
  const wsSockets = new Set<net.Socket>();

  /** Route, target and upstream path of a request, or the status of why there is none. */
  function resolve(req: http.IncomingMessage, url: string): { route: RouteEntry; t: Target; upath: string } | { status: 404 | 500; err?: unknown } {
    const simple = isSimpleUrl(url);
    try {
      const route = findRoute(req, url, simple);
      if (route === undefined) return { status: 404 };
      const t = targetOf(route);
      return { route, t, upath: upstreamPath(t, url, simple, route.key) };
    } catch (err) {
      return { status: 500, err };
    }
  }

  function handleUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    metrics?.requestsWs.inc();
    socket.on('error', () => socket.destroy());
    const url = req.url as string;
    const r = resolve(req, url);
    if ('status' in r) {
      wsError(r.status, req, socket, r.err);
      return;
    }
    const { route, t, upath } = r;
    const upgrade = req.headers.upgrade;
    if (req.method !== 'GET' || !upgrade || upgrade.toLowerCase() !== 'websocket') {
      socket.destroy();
      return;
    }
    const headers = applyRequestHeaders(req, t, true);
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 0);
    if (head && head.length) socket.unshift(head);
    wsSockets.add(socket);
    socket.on('close', () => wsSockets.delete(socket));
    let preq: http.ClientRequest;
    try {
      preq = t.mod.request(requestOptions(t, 'GET', upath, headers));
    } catch (e) {
      wsError(500, req, socket, e);
      return;
    }
    let upgraded = false;
    preq.on('error', (err) => {
      if (!socket.destroyed) wsError(503, req, socket, err);
    });
    socket.on('close', () => {
      if (!upgraded) preq.destroy();
    });
    preq.on('upgrade', (pres, psock: net.Socket, phead: Buffer) => {
      upgraded = true;
      metrics?.requestsProxy.inc(pres.statusCode ?? 101);
      if (socket.destroyed) {
        psock.destroy();
        return;
      }
      psock.setTimeout(0);
      psock.setNoDelay(true);
      psock.setKeepAlive(true, 0);
      psock.on('error', () => {
        psock.destroy();
        socket.destroy();
      });
      socket.on('error', () => psock.destroy());
      psock.on('close', () => socket.end());
      socket.on('close', () => psock.end());
      let text = 'HTTP/1.1 101 Switching Protocols\r\n';
      const raw = pres.rawHeaders;
      for (let k = 0; k < raw.length; k += 2) text += raw[k] + ': ' + raw[k + 1] + '\r\n';
      socket.write(text + '\r\n');
      if (phead && phead.length) psock.unshift(phead);
      // direct forwarding with backpressure (lighter than stream.pipe)
      socket.on('data', (d: Buffer) => {
        touch(route);
        if (!psock.write(d)) socket.pause();
      });
      psock.on('data', (d: Buffer) => {
        if (!socket.write(d)) psock.pause();
      });
      psock.on('drain', () => socket.resume());
      socket.on('drain', () => psock.resume());
      socket.on('end', () => psock.end());
      psock.on('end', () => socket.end());
    });
    preq.on('response', (pres) => {
      // upstream refused the upgrade: relay its HTTP response and close
      metrics?.requestsProxy.inc(pres.statusCode as number);
      if (socket.destroyed) {
        pres.resume();
        return;
      }
      let text = `HTTP/${req.httpVersion} ${pres.statusCode} ${pres.statusMessage}\r\n`;
      const raw = pres.rawHeaders;
      let hasLen = false;
      for (let k = 0; k < raw.length; k += 2) {
        const name = raw[k].toLowerCase();
        if (name === 'transfer-encoding') continue;
        if (name === 'content-length') hasLen = true;
        text += raw[k] + ': ' + raw[k + 1] + '\r\n';
      }
      const chunked = req.httpVersion === '1.1' && !hasLen;
      if (chunked) text += 'transfer-encoding: chunked\r\n';
      socket.write(text + '\r\n');
      pres.on('data', (c: Buffer) => {
        if (chunked) socket.write(c.length.toString(16) + '\r\n');
        socket.write(c);
        if (chunked) socket.write('\r\n');
      });
      pres.on('end', () => (chunked ? socket.end('0\r\n\r\n') : socket.end()));
      pres.on('error', () => socket.destroy());
    });
    preq.end();
  }

  // ---- REST API -----------------------------------------------------------------------
  function apiFail(res: http.ServerResponse, code: number, msg?: string): void {
    if (msg !== undefined) (res as { _logMsg?: string })._logMsg = msg;
    if (res.writableEnded) return;
    res.writeHead(code);
    res.end(msg || STATUS[code]);
  }

  function authorized(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (!authToken) return true;
    const m = TOKEN_RE.exec(req.headers.authorization || '');
    if (m !== null && safeEqual(m[1], authToken)) return true;
    log.debug('Rejecting API request from: %s', req.headers.authorization || 'no authorization');
    res.writeHead(403);
    res.end();
    return false;
  }

  function sendJson(res: http.ServerResponse, body: string): void {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  }

  function handleApi(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.on('finish', () => {
      const code = res.statusCode;
      metrics?.requestsApi.inc(code);
      const msg = (res as { _logMsg?: string })._logMsg ?? '';
      const line = `${code} ${String(req.method).toUpperCase()} ${logUrl(req.url)} ${msg}`;
      if (code < 400) log.info(line);
      else if (code < 500) log.warn(line);
      else log.error(line);
    });
    let parsed: URL;
    try {
      parsed = new URL(req.url as string, 'https://example.com');
    } catch {
      apiFail(res, 400, 'Invalid URL');
      return;
    }
    const m = API_RE.exec(parsed.pathname);
    if (m === null) {
      apiFail(res, 404);
      return;
    }
    const method = req.method;
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') {
      apiFail(res, 405, 'Method not supported');
      return;
    }
    let p: string | undefined;
    try {
      p = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    } catch {
      apiFail(res, 400, `Invalid path: ${m[1]}`);
      return;
    }
    if (method === 'GET') {
      if (!authorized(req, res)) return;
      if (p && p.length && p !== '/') {
        const entry = table.get(p);
        if (!entry) {
          res.writeHead(404);
          res.end();
          return;
        }
        sendJson(res, table.entryJson(entry));
        return;
      }
      const param = parsed.searchParams.get('inactiveSince') || parsed.searchParams.get('inactive_since');
      let before: number | undefined;
      if (param) {
        const ts = Date.parse(param);
        if (!Number.isFinite(ts)) {
          apiFail(res, 400, "Invalid datestamp '" + param + "' must be ISO8601.");
          return;
        }
        before = ts;
      }
      // streamed in pieces with backpressure (chunked, like CHP's res.write + res.end)
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const it = table.jsonChunks(before);
      const pump = (): void => {
        for (;;) {
          const n = it.next();
          if (n.done) {
            res.end();
            return;
          }
          if (!res.write(n.value)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      res.on('close', () => it.return(undefined));
      pump();
      metrics?.apiRouteGet.inc();
      return;
    }
    if (method === 'DELETE') {
      if (!authorized(req, res)) return;
      const entry = table.get(p ?? '/');
      if (entry) removeRoute(entry.path);
      res.writeHead(entry ? 204 : 404);
      res.end();
      metrics?.apiRouteDelete.inc();
      return;
    }
    // POST: CHP parses the body before checking the token
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_API_BODY) {
        tooBig = true;
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooBig) {
        apiFail(res, 413, 'Request body too large');
        return;
      }
      let data: unknown;
      try {
        data = JSON.parse(Buffer.concat(chunks).toString('utf8')) || {};
      } catch (e) {
        apiFail(res, 400, 'Body not valid JSON: ' + String(e));
        return;
      }
      if (!authorized(req, res)) return;
      const d = data as { target?: unknown };
      if (typeof d !== 'object' || typeof d.target !== 'string') {
        log.warn('Bad POST data: %s', JSON.stringify(data));
        apiFail(res, 400, "Must specify 'target' as string");
        return;
      }
      addRoute(p || '/', data as RouteData);
      res.writeHead(201);
      res.end();
      metrics?.apiRouteAdd.inc();
    });
  }

  // ---- servers ----------------------------------------------------------------------------
  const guard =
    (name: string, fn: (req: http.IncomingMessage, res: http.ServerResponse) => void) =>
    (req: http.IncomingMessage, res: http.ServerResponse) => {
      try {
        fn(req, res);
      } catch (e) {
        log.error('Error in %s handler for %s %s: %s', name, req.method, logUrl(req.url), errMessage(e));
        if (!res.headersSent) plainError(500, res);
        else res.destroy();
      }
    };

  const keepAliveTimeout = opts.keepAliveTimeout && opts.keepAliveTimeout > 0 ? opts.keepAliveTimeout : 5000;
  const serverOpts: http.ServerOptions = { keepAlive: true, keepAliveTimeout };
  const webHandler = guard('proxy', handleWeb);
  const proxyServer: http.Server = opts.ssl
    ? getHttps().createServer({ ...opts.ssl, ...serverOpts } as https.ServerOptions, webHandler)
    : http.createServer(serverOpts, webHandler);
  proxyServer.keepAliveTimeout = keepAliveTimeout;
  proxyServer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    try {
      handleUpgrade(req, socket, head);
    } catch (e) {
      log.error('Error in websocket handler for %s: %s', logUrl(req.url), errMessage(e));
      socket.destroy();
    }
  });
  const apiHandler = guard('api', handleApi);
  const apiServer: http.Server = opts.apiSsl
    ? getHttps().createServer(opts.apiSsl as https.ServerOptions, apiHandler)
    : http.createServer(apiHandler);

  let metricsServer: http.Server | undefined;
  if (metrics && (opts.metricsPort || opts.metricsSocket)) {
    metricsServer = http.createServer((req, res) => {
      if (req.url === '/metrics') {
        metrics.render().then(
          (s) => {
            res.writeHead(200, { 'Content-Type': metrics.contentType });
            res.end(s);
          },
          (e) => {
            log.error('metrics: %s', errMessage(e));
            plainError(500, res);
          },
        );
        return;
      }
      res.writeHead(404);
      res.end(STATUS[404]);
    });
  }

  let redirectServer: http.Server | undefined;
  const port = opts.socket ? undefined : (opts.port ?? 8000);
  if (opts.redirectPort && port !== undefined && port !== 80) {
    const to = opts.redirectTo !== undefined ? opts.redirectTo : port;
    redirectServer = http.createServer((req, res) => {
      if (req.headers.host === undefined) {
        res.statusCode = 400;
        res.end(
          `This server is HTTPS-only on port ${to}, but an HTTP request was made and the host could not be determined from the request.`,
        );
        return;
      }
      let host = req.headers.host.split(':')[0];
      // CHP compares with the number 443 (a --redirect-to value is a string, so it always adds the port)
      if (to !== 443) host = `${host}:${to}`;
      res.writeHead(301, { Location: `https://${host}${req.url}` });
      res.end();
    });
  }

  const useFast = !opts.ssl && (opts.fastPath ?? process.env.JHUB_PROXY_FAST !== '0');
  let fast: FastPath | undefined;
  let listener: net.Server = proxyServer;
  if (useFast) {
    const fp = createFastPath({
      resolve: fastResolve,
      handOff: (socket, pending) => {
        if (pending !== null && pending.length) socket.unshift(pending);
        proxyServer.emit('connection', socket);
        if (socket.isPaused()) socket.resume();
      },
      proxyError,
      rewriteLocation: rewriteLocation ? rewriteLocationValue : undefined,
      touch,
      onProxied: metrics ? (status) => metrics.requestsProxy.inc(status) : undefined,
      xfwd,
      changeOrigin,
      customHeaders,
      timeout,
      proxyTimeout,
      keepAliveTimeout,
      maxHeaderSize: http.maxHeaderSize,
    });
    fast = fp;
    listener = net.createServer({ allowHalfOpen: true, noDelay: true }, fp.onConnection);
    // the fallback server never listens: start its connection tracking (timeouts, closeAllConnections)
    proxyServer.emit('listening');
  }
  const all = [listener, apiServer, metricsServer, redirectServer].filter((s): s is net.Server => !!s);
  try {
    let ip = opts.ip;
    if (ip === '*') {
      log.warn("Interpreting ip='*' as all-interfaces. Preferred usage is 0.0.0.0 for all IPv4 or '' for all-interfaces.");
      ip = '';
    }
    await listen(listener, port, ip, opts.socket);
    const apiPort = opts.apiPort ?? (port !== undefined ? port + 1 : 8001);
    await listen(apiServer, apiPort, opts.apiIp ?? 'localhost', opts.apiSocket);
    if (metricsServer) await listen(metricsServer, opts.metricsPort, opts.metricsIp ?? '', opts.metricsSocket);
    if (redirectServer) await listen(redirectServer, opts.redirectPort, undefined);
  } catch (e) {
    for (const s of all) if (s.listening) s.close();
    fast?.destroyAll();
    httpAgent.destroy();
    httpsAgentInst?.destroy();
    await store?.close();
    throw e;
  }
  const desc = (s: net.Server, scheme: string) => {
    const a = s.address();
    if (typeof a === 'string') return `${scheme}+unix://${a}`;
    if (!a) return scheme + '://?';
    const host = a.address === '::' || a.address === '0.0.0.0' ? '*' : a.address.includes(':') ? `[${a.address}]` : a.address;
    return `${scheme}://${host}:${a.port}`;
  };
  log.info('Proxying %s to %s', desc(listener, opts.ssl ? 'https' : 'http'), opts.defaultTarget || '(no default)');
  log.info('Proxy API at %s/api/routes', desc(apiServer, opts.apiSsl ? 'https' : 'http'));
  if (metricsServer) log.info('Serve metrics at %s/metrics', desc(metricsServer, 'http'));
  if (redirectServer) {
    log.info('Added HTTP to HTTPS redirection from %s to %s', (redirectServer.address() as net.AddressInfo).port, opts.redirectTo ?? port);
  }
  if (!authToken) log.warn('REST API is not authenticated.');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (closing) return closing;
    closing = (async () => {
      // The fast path's raw sockets first: the listener's close() waits for every connection,
      // and keep-alive clients would otherwise hold the shutdown until the hard exit timer.
      if (fast) {
        fast.destroyAll();
        proxyServer.close(() => {});
        proxyServer.closeAllConnections();
      }
      await Promise.all(
        all.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              if (s instanceof http.Server) s.closeAllConnections();
            }),
        ),
      );
      for (const s of wsSockets) s.destroy();
      httpAgent.destroy();
      httpsAgentInst?.destroy();
      await store?.close();
    })();
    return closing;
  };

  return {
    routes: table,
    proxyServer,
    listener,
    apiServer,
    metricsServer,
    redirectServer,
    log,
    addRoute,
    removeRoute: (p: string) => removeRoute(cleanPath(p)),
    close,
    flushSync: () => store?.flushSync(),
  };
}
