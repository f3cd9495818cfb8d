// Fast path for plain HTTP/1.1 proxying on raw sockets.
//
// The public listener is a net.Server. Each connection is parsed here (request head, body
// framing) and forwarded over pooled keep-alive upstream sockets with a re-serialised head;
// bodies are streamed both ways without re-framing (Content-Length and chunked are passed
// through verbatim, close-delimited responses are re-chunked). One request is handled at a
// time per connection (pipelined requests wait in the buffer).
//
// Anything unusual is handed, untouched, to the node:http server (`handOff`): HTTP/1.0,
// upgrades (websockets), Expect, absolute-form/CONNECT/`*` targets, malformed or huge heads
// (node answers 400/431), unknown routes (404 + error pages), unusable or https targets,
// the health check. Errors after a request was committed to the fast path (upstream down,
// reset, timeout) are rendered on the raw socket by the same error renderer (then close).
import net from 'node:net';
import http from 'node:http';
import type { RouteEntry } from './routes.js';
import { hostHeaderPort } from './urls.js';

export interface FastTarget {
  hostname: string;
  port: number;
  socketPath?: string;
  /** URL host, for --change-origin and Location rewrites */
  host: string;
  /** upstream pool key */
  key: string;
}

export interface FastRoute {
  entry: RouteEntry;
  t: FastTarget;
  upath: string;
}

/** What the error renderer needs from a response (a subset of http.ServerResponse). */
export interface ErrorSink {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  setHeader(name: string, value: string | string[]): unknown;
  writeHead(code: number, headers?: Record<string, string>): unknown;
  write(chunk: Buffer | string): unknown;
  end(data?: Buffer | string): unknown;
  destroy(): unknown;
}

export interface FastContext {
  /** route a request; undefined = let the node:http server handle it */
  resolve(url: string, host: string | undefined): FastRoute | undefined;
  /** give the connection (with `pending` unshifted) to the node:http server */
  handOff(socket: net.Socket, pending: Buffer | null): void;
  /** log + metrics + render an error page */
  proxyError(code: number, req: { method: string; url: string }, res: ErrorSink, e?: unknown): void;
  /** rewrite a Location header value (--auto-rewrite / --protocol-rewrite), or undefined */
  rewriteLocation?: (value: string, t: FastTarget, host: string | undefined) => string;
  touch(entry: RouteEntry): void;
  onProxied?: (status: number) => void;
  xfwd: boolean;
  changeOrigin: boolean;
  customHeaders?: Record<string, string>;
  /** --timeout (0 = none) */
  timeout: number;
  /** --proxy-timeout (0 = none) */
  proxyTimeout: number;
  keepAliveTimeout: number;
  headersTimeout?: number;
  maxHeaderSize?: number;
}

const STATUS = http.STATUS_CODES;
const CRLF2 = Buffer.from('\r\n\r\n');
const REQ_LINE_RE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const STATUS_LINE_RE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
// header line: name ":" OWS value OWS (value: no CTLs except HTAB)
const HEADER_RE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;
const CLOSE_RE = /(?:^|,)\s*close\s*(?:,|$)/i;
const DIGITS_RE = /^\d{1,15}$/;
const REDIRECT = new Set([201, 301, 302, 307, 308]);
const MAX_UP_HEAD = 64 * 1024;
const MAX_IDLE_PER_KEY = 256;

let dateSec = 0;
let dateStr = '';
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSec) {
    dateSec = s;
    dateStr = new Date(now).toUTCString();
  }
  return dateStr;
}

/** Incremental chunked-body scanner; returns the end offset (exclusive), -1 = need more, -2 = error. */
class ChunkScanner {
  private st = 0;
  private size = 0;
  private digits = 0;
  reset(): void {
    this.st = 0;
    this.size = 0;
    this.digits = 0;
  }
  scan(b: Buffer, i: number, end: number): number {
    let st = this.st;
    while (i < end) {
      if (st === 3) {
        // chunk data
        const n = Math.min(this.size, end - i);
        i += n;
        this.size -= n;
        if (this.size === 0) st = 4;
        continue;
      }
      const c = b[i++];
      switch (st) {
        case 0: {
          // size
          let v = -1;
          if (c >= 48 && c <= 57) v = c - 48;
          else if (c >= 97 && c <= 102) v = c - 87;
          else if (c >= 65 && c <= 70) v = c - 55;
          if (v >= 0) {
            if (++this.digits > 12) return -2;
            this.size = this.size * 16 + v;
          } else if (this.digits === 0) {
            return -2;
          } else if (c === 13) st = 2;
          else if (c === 59 || c === 32 || c === 9) st = 1;
          else return -2;
          break;
        }
        case 1: // extension
          if (c === 13) st = 2;
          else if (c === 10 || c === 0) return -2;
          break;
        case 2: // LF after size
          if (c !== 10) return -2;
          st = this.size === 0 ? 5 : 3;
          break;
        case 4: // CR after data
          if (c !== 13) return -2;
          st = 6;
          break;
        case 6: // LF after data
          if (c !== 10) return -2;
          st = 0;
          this.size = 0;
          this.digits = 0;
          break;
        case 5: // trailer line start
          if (c === 13) st = 8;
          else if (c === 10) return -2;
          else st = 7;
          break;
        case 7: // trailer line
          if (c === 13) st = 9;
          else if (c === 10 || c === 0) return -2;
          break;
        case 9:
          if (c !== 10) return -2;
          st = 5;
          break;
        case 8: // final LF
          if (c !== 10) return -2;
          this.st = 0;
          this.size = 0;
          this.digits = 0;
          return i;
      }
    }
    this.st = st;
    return -1;
  }
}

/** Minimal response on a raw socket for error pages (always `Connection: close`). */
class RawResponse implements ErrorSink {
  headersSent = false;
  writableEnded = false;
  private code = 200;
  private hdrs: string[] = [];
  private started = false;
  constructor(
    private readonly sock: net.Socket,
    private readonly noBody: boolean,
  ) {}
  get destroyed(): boolean {
    return this.sock.destroyed;
  }
  setHeader(name: string, value: string | string[]): this {
    for (const v of Array.isArray(value) ? value : [value]) this.hdrs.push(name, String(v));
    return this;
  }
  writeHead(code: number, headers?: Record<string, string>): this {
    this.code = code;
    if (headers) for (const k of Object.keys(headers)) this.hdrs.push(k, headers[k]);
    this.headersSent = true;
    return this;
  }
  private flush(len: number): void {
    if (this.started) return;
    this.started = true;
    this.headersSent = true;
    let text = `HTTP/1.1 ${this.code} ${STATUS[this.code] ?? 'unknown'}\r\n`;
    for (let k = 0; k < this.hdrs.length; k += 2) text += this.hdrs[k] + ': ' + this.hdrs[k + 1] + '\r\n';
    text += 'Date: ' + httpDate() + '\r\nConnection: close\r\n';
    if (len >= 0) text += 'Content-Length: ' + len + '\r\n';
    if (!this.sock.destroyed) this.sock.write(text + '\r\n', 'latin1');
  }
  write(chunk: Buffer | string): boolean {
    this.flush(-1);
    if (!this.noBody && !this.sock.destroyed) this.sock.write(chunk);
    return true;
  }
  end(data?: Buffer | string): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    if (!this.started) this.flush(data === undefined ? 0 : Buffer.byteLength(data));
    if (data !== undefined && !this.noBody && !this.sock.destroyed) this.sock.write(data);
    this.sock.end();
    return this;
  }
  destroy(): this {
    this.sock.destroy();
    return this;
  }
}

// ---------------------------------------------------------------------------------------

interface UpOwner {
  onUpData(up: Up, d: Buffer): void;
  onUpDrain(): void;
  onUpEnd(up: Up): void;
  onUpError(up: Up, e: Error): void;
}

interface Up {
  sock: net.Socket;
  key: string;
  conn: UpOwner | null;
  reused: boolean;
}

const S_HEAD = 0; // waiting for / parsing a request head
const S_ACTIVE = 1; // request in progress
const S_DONE = 2; // closed, handed off, or answering an error

// body modes
const B_NONE = 0;
const B_LEN = 1;
const B_CHUNKED = 2;
const B_CLOSE = 3; // response only: until upstream closes (re-chunked towards the client)

export interface FastPath {
  onConnection(sock: net.Socket): void;
  /** destroy all client and upstream sockets */
  destroyAll(): void;
}

export function createFastPath(ctx: FastContext): FastPath {
  const maxHead = ctx.maxHeaderSize ?? 16 * 1024;
  const headersTimeout = ctx.headersTimeout ?? 60_000;
  const conns = new Set<Conn>();
  const idle = new Map<string, Up[]>();
  const allUp = new Set<net.Socket>();
  const custom: Array<[string, string]> = [];
  const customLower = new Set<string>();
  if (ctx.customHeaders) {
    for (const k of Object.keys(ctx.customHeaders)) {
      custom.push([k, ctx.customHeaders[k]]);
      customLower.add(k.toLowerCase());
    }
  }
  let customText = '';
  for (const [k, v] of custom) customText += k + ': ' + v + '\r\n';

  // ---- upstream pool ------------------------------------------------------------------
  function takeIdle(key: string): Up | undefined {
    const list = idle.get(key);
    if (list === undefined) return undefined;
    while (list.length) {
      const up = list.pop() as Up;
      if (!up.sock.destroyed && up.sock.writable && up.sock.readable) return up;
    }
    return undefined;
  }

  function removeIdle(up: Up): void {
    const list = idle.get(up.key);
    if (!list) return;
    const i = list.indexOf(up);
    if (i !== -1) list.splice(i, 1);
  }

  function release(up: Up): void {
    up.conn = null;
    if (ctx.proxyTimeout) up.sock.setTimeout(0);
    let list = idle.get(up.key);
    if (list === undefined) {
      list = [];
      idle.set(up.key, list);
    }
    if (list.length >= MAX_IDLE_PER_KEY) {
      up.sock.destroy();
      return;
    }
    up.reused = true;
    list.push(up);
  }

  function connectUp(t: FastTarget): Up {
    const sock = t.socketPath ? net.connect(t.socketPath) : net.connect({ host: t.hostname, port: t.port, noDelay: true });
    const up: Up = { sock, key: t.key, conn: null, reused: false };
    allUp.add(sock);
    sock.on('data', (d: Buffer) => {
      if (up.conn) up.conn.onUpData(up, d);
      else sock.destroy(); // unsolicited data on an idle socket
    });
    sock.on('drain', () => up.conn?.onUpDrain());
    sock.on('end', () => {
      if (up.conn) up.conn.onUpEnd(up);
      else sock.destroy();
    });
    sock.on('error', (e: Error) => {
      if (up.conn) up.conn.onUpError(up, e);
    });
    sock.on('close', () => {
      allUp.delete(sock);
      if (up.conn) up.conn.onUpError(up, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      else removeIdle(up);
    });
    sock.on('timeout', () => {
      if (up.conn) sock.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    });
    return up;
  }

  // ---- client connections -------------------------------------------------------------
  class Conn {
    readonly sock: net.Socket;
    state = S_HEAD;
    buf: Buffer | null = null;
    remote: string;
    curTimeout = -1;
    clientEnded = false;
    // current request
    method = '';
    url = '';
    host: string | undefined = undefined;
    route: RouteEntry | null = null;
    target: FastTarget | null = null;
    closeAfter = false;
    reqConn: string | undefined = undefined;
    reqMode = B_NONE;
    reqRemaining = 0;
    reqDone = true;
    reqSentBody = false;
    reqHead = '';
    retried = false;
    readonly reqChunks = new ChunkScanner();
    // response
    up: Up | null = null;
    upBuf: Buffer | null = null;
    resStarted = false;
    resMode = B_NONE;
    resRemaining = 0;
    status = 0;
    noBody = false;
    readonly resChunks = new ChunkScanner();
    pausedForUp = false;

    constructor(sock: net.Socket) {
      this.sock = sock;
      this.remote = String(sock.remoteAddress);
      sock.setNoDelay(true);
      sock.on('data', this.onData);
      sock.on('end', this.onEnd);
      sock.on('error', this.onError);
      sock.on('close', this.onClose);
      sock.on('drain', this.onDrain);
      sock.on('timeout', this.onTimeout);
      this.setTimeout(headersTimeout);
    }

    setTimeout(ms: number): void {
      if (this.curTimeout !== ms) {
        this.curTimeout = ms;
        this.sock.setTimeout(ms);
      }
    }

    detach(): void {
      const s = this.sock;
      s.removeListener('data', this.onData);
      s.removeListener('end', this.onEnd);
      s.removeListener('error', this.onError);
      s.removeListener('close', this.onClose);
      s.removeListener('drain', this.onDrain);
      s.removeListener('timeout', this.onTimeout);
      if (this.curTimeout !== 0) s.setTimeout(0);
      conns.delete(this);
    }

    handOff(): void {
      this.state = S_DONE;
      const pending = this.buf;
      this.buf = null;
      this.detach();
      ctx.handOff(this.sock, pending);
    }

    onTimeout = (): void => {
      if (this.state === S_ACTIVE && !ctx.timeout) return;
      this.sock.destroy();
    };

    onError = (): void => {
      this.sock.destroy();
    };

    onClose = (): void => {
      this.state = S_DONE;
      conns.delete(this);
      const up = this.up;
      if (up) {
        this.up = null;
        up.conn = null;
        up.sock.destroy();
      }
    };

    onEnd = (): void => {
      this.clientEnded = true;
      if (this.state === S_HEAD) {
        this.state = S_DONE;
        this.sock.end();
      } else if (this.state === S_ACTIVE && !this.reqDone) {
        // request body cut short
        this.sock.destroy();
      }
    };

    onDrain = (): void => {
      if (this.pausedForUp && this.up) {
        this.pausedForUp = false;
        this.up.sock.resume();
      }
    };

    onData = (d: Buffer): void => {
      if (this.state === S_ACTIVE) {
        if (!this.reqDone) {
          this.forwardBody(d, 0);
          return;
        }
        // pipelined: keep until the current response is done
        this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
        this.sock.pause();
        return;
      }
      if (this.state !== S_HEAD) return;
      this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
      this.parseHead();
    };

    /** try to parse a request head from this.buf and start the request */
    parseHead(): void {
      const buf = this.buf as Buffer;
      const end = buf.indexOf(CRLF2);
      if (end === -1) {
        if (buf.length > maxHead) this.handOff(); // node answers 431
        else this.setTimeout(headersTimeout);
        return;
      }
      if (end > maxHead) {
        this.handOff();
        return;
      }
      const head = buf.toString('latin1', 0, end);
      const lines = head.split('\r\n');
      const m = REQ_LINE_RE.exec(lines[0]);
      if (m === null) {
        this.handOff();
        return;
      }
      const method = m[1];
      if (method === 'CONNECT') {
        this.handOff();
        return;
      }
      const url = m[2];
      let host: string | undefined;
      let cl: string | undefined;
      let te: string | undefined;
      let conn: string | undefined;
      let xff: string | undefined;
      let xfp: string | undefined;
      let xfproto: string | undefined;
      let xfh: string | undefined;
      const xfwd = ctx.xfwd;
      const hasCustom = customLower.size > 0;
      const changeOrigin = ctx.changeOrigin;
      let out = '';
      for (let k = 1; k < lines.length; k++) {
        const hm = HEADER_RE.exec(lines[k]);
        if (hm === null) {
          this.handOff();
          return;
        }
        const name = hm[1];
        const value = hm[2];
        let lower: string | undefined;
        switch (name.length) {
          case 4:
            if ((lower = name.toLowerCase()) === 'host') {
              if (host !== undefined) {
                this.handOff();
                return;
              }
              host = value;
              if (changeOrigin) continue;
            }
            break;
          case 6:
            if ((lower = name.toLowerCase()) === 'expect') {
              this.handOff();
              return;
            }
            break;
          case 7:
            lower = name.toLowerCase();
            if (lower === 'upgrade') {
              this.handOff();
              return;
            }
            if (lower === 'trailer') continue;
            break;
          case 10:
            lower = name.toLowerCase();
            if (lower === 'connection') {
              conn = conn === undefined ? value : conn + ', ' + value;
              continue;
            }
            if (lower === 'keep-alive') continue;
            break;
          case 14:
            if ((lower = name.toLowerCase()) === 'content-length') {
              if (cl !== undefined || !DIGITS_RE.test(value)) {
                this.handOff();
                return;
              }
              cl = value;
            }
            break;
          case 15:
            if ((lower = name.toLowerCase()) === 'x-forwarded-for' && xfwd) {
              xff = xff === undefined ? value : xff + ', ' + value;
              continue;
            }
            break;
          case 16:
            lower = name.toLowerCase();
            if (xfwd) {
              if (lower === 'x-forwarded-port') {
                xfp = xfp === undefined ? value : xfp + ', ' + value;
                continue;
              }
              if (lower === 'x-forwarded-host') {
                xfh = xfh === undefined ? value : xfh + ', ' + value;
                continue;
              }
            }
            break;
          case 17:
            lower = name.toLowerCase();
            if (lower === 'transfer-encoding') {
              if (te !== undefined) {
                this.handOff();
                return;
              }
              te = value;
            } else if (lower === 'x-forwarded-proto' && xfwd) {
              xfproto = xfproto === undefined ? value : xfproto + ', ' + value;
              continue;
            }
            break;
        }
        if (hasCustom && customLower.has(lower ?? name.toLowerCase())) continue;
        out += name + ': ' + value + '\r\n';
      }
      if (host === undefined) {
        this.handOff(); // node answers 400
        return;
      }
      let reqMode = B_NONE;
      let remaining = 0;
      if (te !== undefined) {
        if (cl !== undefined || te.toLowerCase() !== 'chunked' || method === 'DELETE' || method === 'OPTIONS') {
          this.handOff();
          return;
        }
        reqMode = B_CHUNKED;
      } else if (cl !== undefined) {
        remaining = Number(cl);
        if (remaining > 0) reqMode = B_LEN;
      }
      if (conn !== undefined && /upgrade/i.test(conn)) {
        this.handOff();
        return;
      }
      const r = ctx.resolve(url, host);
      if (r === undefined) {
        this.handOff();
        return;
      }
      // ---- committed to the fast path ----
      this.state = S_ACTIVE;
      if (ctx.timeout) this.setTimeout(ctx.timeout); // else the idle timer stays (ignored while active)
      this.method = method;
      this.url = url;
      this.host = host;
      this.route = r.entry;
      this.target = r.t;
      this.reqConn = conn;
      this.closeAfter = conn !== undefined && CLOSE_RE.test(conn);
      this.noBody = method === 'HEAD';
      this.retried = false;
      this.reqSentBody = false;
      this.resStarted = false;
      this.status = 0;
      this.upBuf = null;
      let text = method + ' ' + r.upath + ' HTTP/1.1\r\n' + out;
      if (changeOrigin) text += 'Host: ' + r.t.host + '\r\n';
      if (xfwd) {
        const port = hostHeaderPort(host) ?? '80';
        text +=
          'X-Forwarded-For: ' + (xff ? xff + ',' + this.remote : this.remote) +
          '\r\nX-Forwarded-Port: ' + (xfp ? xfp + ',' + port : port) +
          '\r\nX-Forwarded-Proto: ' + (xfproto ? xfproto + ',http' : 'http') +
          '\r\nX-Forwarded-Host: ' + (xfh || host) + '\r\n';
      }
      if (customText) text += customText;
      if (reqMode === B_NONE && cl === undefined && method !== 'GET' && method !== 'HEAD' && method !== 'TRACE') {
        text += 'Content-Length: 0\r\n';
      }
      text += 'Connection: keep-alive\r\n\r\n';
      this.reqHead = text;
      this.reqMode = reqMode;
      this.reqRemaining = remaining;
      this.reqDone = reqMode === B_NONE;
      if (reqMode === B_CHUNKED) this.reqChunks.reset();
      const bodyStart = end + 4;
      const rest = bodyStart < buf.length ? buf.subarray(bodyStart) : null;
      this.buf = null;
      let up = takeIdle(r.t.key);
      if (up === undefined) up = connectUp(r.t);
      this.attachUp(up);
      if (rest === null) {
        up.sock.write(text, 'latin1');
      } else if (this.reqDone) {
        up.sock.write(text, 'latin1');
        this.buf = rest; // pipelined
        this.sock.pause();
      } else {
        up.sock.cork();
        up.sock.write(text, 'latin1');
        this.forwardBody(rest, 0);
        up.sock.uncork();
      }
    }

    attachUp(up: Up): void {
      this.up = up;
      up.conn = this;
      if (ctx.proxyTimeout) up.sock.setTimeout(ctx.proxyTimeout);
    }

    /** forward request body bytes d[i..] to the upstream */
    forwardBody(d: Buffer, i: number): void {
      const up = this.up;
      let chunk = i === 0 ? d : d.subarray(i);
      let extra: Buffer | null = null;
      if (this.reqMode === B_LEN) {
        if (chunk.length >= this.reqRemaining) {
          if (chunk.length > this.reqRemaining) extra = chunk.subarray(this.reqRemaining);
          chunk = chunk.subarray(0, this.reqRemaining);
          this.reqRemaining = 0;
          this.reqDone = true;
        } else {
          this.reqRemaining -= chunk.length;
        }
      } else {
        const e = this.reqChunks.scan(chunk, 0, chunk.length);
        if (e === -2) {
          this.fail(400, new Error('Parse Error: Invalid chunked request body'));
          return;
        }
        if (e >= 0) {
          if (e < chunk.length) extra = chunk.subarray(e);
          chunk = chunk.subarray(0, e);
          this.reqDone = true;
        }
      }
      if (this.route) ctx.touch(this.route);
      if (chunk.length) this.reqSentBody = true;
      if (up !== null && chunk.length) {
        if (!up.sock.write(chunk)) {
          this.sock.pause();
          this.waitUpDrain = true;
        }
      }
      if (extra !== null) {
        this.buf = extra;
        this.sock.pause();
      }
      if (this.reqDone && this.resDone) this.finish();
    }

    waitUpDrain = false;
    resDone = false;

    onUpDrain(): void {
      if (this.waitUpDrain) {
        this.waitUpDrain = false;
        if (!this.reqDone) this.sock.resume();
      }
    }

    onUpData(up: Up, d: Buffer): void {
      if (up !== this.up) return;
      if (!this.resStarted) {
        this.upBuf = this.upBuf ? Buffer.concat([this.upBuf, d]) : d;
        this.parseResHead();
        return;
      }
      this.forwardRes(d);
    }

    parseResHead(): void {
      for (;;) {
        const buf = this.upBuf as Buffer;
        const end = buf.indexOf(CRLF2);
        if (end === -1) {
          if (buf.length > MAX_UP_HEAD) this.upFail(new Error('Parse Error: Header overflow'));
          return;
        }
        const lines = buf.toString('latin1', 0, end).split('\r\n');
        const m = STATUS_LINE_RE.exec(lines[0]);
        if (m === null) {
          this.upFail(new Error('Parse Error: Invalid response status'));
          return;
        }
        const status = Number(m[2]);
        const rest = end + 4 < buf.length ? buf.subarray(end + 4) : null;
        if (status < 200) {
          if (status === 101) {
            this.upFail(new Error('Parse Error: Unexpected 101 response'));
            return;
          }
          // interim response (100/102/103): not relayed (as node's client does)
          if (rest === null) {
            this.upBuf = null;
            return;
          }
          this.upBuf = rest;
          continue;
        }
        const http10 = m[1] === '0';
        let cl: string | undefined;
        let te: string | undefined;
        let upConn: string | undefined;
        let hasDate = false;
        let out = '';
        const rewrite = ctx.rewriteLocation !== undefined && REDIRECT.has(status);
        for (let k = 1; k < lines.length; k++) {
          const hm = HEADER_RE.exec(lines[k]);
          if (hm === null) {
            this.upFail(new Error('Parse Error: Invalid header value char'));
            return;
          }
          const name = hm[1];
          let value = hm[2];
          switch (name.length) {
            case 4:
              if (name.toLowerCase() === 'date') hasDate = true;
              break;
            case 8:
              if (rewrite && name.toLowerCase() === 'location') value = ctx.rewriteLocation!(value, this.target!, this.host);
              break;
            case 10:
              if (name.toLowerCase() === 'connection') upConn = upConn === undefined ? value : upConn + ', ' + value;
              break;
            case 14:
              if (name.toLowerCase() === 'content-length') {
                if ((cl !== undefined && cl !== value) || !DIGITS_RE.test(value)) {
                  this.upFail(new Error('Parse Error: Invalid content-length'));
                  return;
                }
                if (cl !== undefined) continue;
                cl = value;
              }
              break;
            case 17:
              if (name.toLowerCase() === 'transfer-encoding') {
                te = te === undefined ? value : te + ', ' + value;
                continue;
              }
              break;
          }
          out += name + ': ' + value + '\r\n';
        }
        let mode = B_NONE;
        let remaining = 0;
        let reusable = !http10 && !(upConn !== undefined && CLOSE_RE.test(upConn));
        if (te !== undefined && cl !== undefined) {
          this.upFail(new Error('Parse Error: Content-Length with Transfer-Encoding'));
          return;
        }
        const noBody = this.noBody || status === 204 || status === 304;
        if (!noBody) {
          if (te !== undefined) {
            if (/(?:^|,)\s*chunked\s*$/i.test(te)) {
              mode = B_CHUNKED;
              this.resChunks.reset();
            } else {
              mode = B_CLOSE;
              reusable = false;
            }
          } else if (cl !== undefined) {
            remaining = Number(cl);
            mode = remaining > 0 ? B_LEN : B_NONE;
          } else {
            mode = B_CLOSE;
            reusable = false;
          }
        }
        if (upConn !== undefined) {
          if (CLOSE_RE.test(upConn)) this.closeAfter = true;
        } else {
          out += 'connection: ' + (this.reqConn || 'keep-alive') + '\r\n';
        }
        if (!hasDate) out += 'Date: ' + httpDate() + '\r\n';
        if (mode === B_CHUNKED || mode === B_CLOSE) out += 'Transfer-Encoding: chunked\r\n';
        this.status = status;
        this.resStarted = true;
        this.resMode = mode;
        this.resRemaining = remaining;
        this.upReusable = reusable;
        this.upBuf = null;
        ctx.onProxied?.(status);
        const text = 'HTTP/1.1 ' + status + (m[3] !== undefined ? ' ' + m[3] : ' ') + '\r\n' + out + '\r\n';
        if (mode === B_NONE) {
          this.sock.write(text, 'latin1');
          if (rest !== null) this.upReusable = false; // junk after a bodiless response
          this.endRes();
          return;
        }
        if (rest === null) {
          this.sock.write(text, 'latin1');
          return;
        }
        this.sock.cork();
        this.sock.write(text, 'latin1');
        this.forwardRes(rest);
        this.sock.uncork();
        return;
      }
    }

    upReusable = false;

    forwardRes(d: Buffer): void {
      let chunk = d;
      let done = false;
      switch (this.resMode) {
        case B_LEN:
          if (chunk.length >= this.resRemaining) {
            if (chunk.length > this.resRemaining) {
              this.upReusable = false;
              chunk = chunk.subarray(0, this.resRemaining);
            }
            this.resRemaining = 0;
            done = true;
          } else {
            this.resRemaining -= chunk.length;
          }
          break;
        case B_CHUNKED: {
          const e = this.resChunks.scan(chunk, 0, chunk.length);
          if (e === -2) {
            this.upFail(new Error('Parse Error: Invalid chunked response'));
            return;
          }
          if (e >= 0) {
            if (e < chunk.length) {
              this.upReusable = false;
              chunk = chunk.subarray(0, e);
            }
            done = true;
          }
          break;
        }
        case B_CLOSE:
          if (chunk.length) {
            this.sock.cork();
            this.sock.write(chunk.length.toString(16) + '\r\n', 'latin1');
            this.sock.write(chunk);
            const ok = this.sock.write('\r\n', 'latin1');
            this.sock.uncork();
            if (!ok) this.pauseUp();
          }
          return;
      }
      if (chunk.length && !this.sock.write(chunk) && !done) this.pauseUp();
      if (done) this.endRes();
    }

    pauseUp(): void {
      if (this.up) {
        this.pausedForUp = true;
        this.up.sock.pause();
      }
    }

    onUpEnd(up: Up): void {
      if (up !== this.up) return;
      if (this.resStarted && this.resMode === B_CLOSE) {
        this.sock.write('0\r\n\r\n', 'latin1');
        this.upReusable = false;
        this.endRes();
        return;
      }
      this.onUpError(up, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    }

    onUpError(up: Up, e: Error): void {
      if (up !== this.up) return;
      this.up = null;
      up.conn = null;
      up.sock.destroy();
      if (this.state !== S_ACTIVE) return;
      if (this.resStarted) {
        this.state = S_DONE;
        this.sock.destroy();
        return;
      }
      // a reused keep-alive socket closed under us: retry once if nothing can be lost
      if (up.reused && !this.retried && !this.reqSentBody && this.reqDone && this.upBuf === null && this.target) {
        this.retried = true;
        const nu = connectUp(this.target);
        this.attachUp(nu);
        nu.sock.write(this.reqHead, 'latin1');
        return;
      }
      this.fail(503, e);
    }

    upFail(e: Error): void {
      const up = this.up;
      if (up) {
        this.up = null;
        up.conn = null;
        up.sock.destroy();
      }
      if (this.resStarted) {
        this.state = S_DONE;
        this.sock.destroy();
        return;
      }
      this.fail(503, e);
    }

    /** answer an error on the raw socket and close the connection */
    fail(code: number, e: unknown): void {
      const up = this.up;
      if (up) {
        this.up = null;
        up.conn = null;
        up.sock.destroy();
      }
      if (this.state === S_DONE) return;
      this.state = S_DONE;
      this.buf = null;
      // discard whatever the client still sends; the error response closes the connection
      this.sock.removeListener('data', this.onData);
      this.sock.on('data', () => {});
      if (this.sock.isPaused()) this.sock.resume();
      this.setTimeout(30_000);
      if (this.resStarted || this.sock.destroyed) {
        this.sock.destroy();
        return;
      }
      try {
        ctx.proxyError(code, { method: this.method, url: this.url }, new RawResponse(this.sock, this.noBody), e);
      } catch {
        this.sock.destroy();
      }
    }

    endRes(): void {
      this.resDone = true;
      if (this.route && this.status < 300) ctx.touch(this.route);
      if (this.reqDone) this.finish();
      else {
        // response complete before the request body: drop both connections' state
        const up = this.up;
        this.up = null;
        if (up) {
          up.conn = null;
          up.sock.destroy();
        }
        this.state = S_DONE;
        this.sock.end();
      }
    }

    /** request and response both complete */
    finish(): void {
      const up = this.up;
      this.up = null;
      this.resDone = false;
      this.route = null;
      this.target = null;
      this.reqHead = '';
      if (up) {
        if (this.pausedForUp) {
          this.pausedForUp = false;
          up.sock.resume();
        }
        if (this.upReusable) release(up);
        else {
          up.conn = null;
          up.sock.destroy();
        }
      }
      if (this.closeAfter || this.clientEnded) {
        this.state = S_DONE;
        this.sock.end();
        return;
      }
      this.state = S_HEAD;
      this.setTimeout(ctx.keepAliveTimeout);
      if (this.sock.isPaused()) this.sock.resume();
      if (this.buf !== null) this.parseHead();
    }
  }


  return {
    onConnection(sock: net.Socket): void {
      conns.add(new Conn(sock));
    },
    destroyAll(): void {
      for (const c of conns) c.sock.destroy();
      conns.clear();
      for (const s of allUp) s.destroy();
      allUp.clear();
      idle.clear();
    },
  };
}
