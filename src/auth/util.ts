/** Helpers of the login handlers: safe `next` URLs and the login rate limiter. */
import type { FastifyRequest } from 'fastify';
import type { Hub } from '../hub/app.js';

export function isSecureRequest(hub: Hub, req: FastifyRequest): boolean {
  if (hub.publicUrl) return hub.publicUrl.startsWith('https:');
  return req.protocol === 'https' || hub.publicProto === 'https';
}

/**
 * JupyterHub's _validate_next_url, hardened: returns '' unless `next` is a path on this
 * site. Absolute URLs to our own host (or public_url) are reduced to their path. Rejected:
 * other hosts, scheme-relative `//host`, backslash tricks (`/\host`, made harmless by
 * encoding), `javascript:` and every other scheme, control characters (browsers drop
 * tabs/newlines, turning `/\t/evil` into `//evil`).
 */
export function validateNextUrl(hub: Hub, req: FastifyRequest, next: unknown): string {
  if (typeof next !== 'string' || !next) return '';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(next)) return '';
  let url = next.replace(/\\/g, '%5C');
  let proto: string;
  let host: string;
  if (hub.publicUrl) {
    const p = new URL(hub.publicUrl);
    proto = p.protocol.replace(':', '');
    host = p.host;
  } else {
    proto = isSecureRequest(hub, req) ? 'https' : 'http';
    host = req.host;
  }
  if (url.startsWith('///')) url = '//' + url.replace(/^\/+/, '');
  const lower = url.toLowerCase();
  const own = [`${proto}://${host}/`.toLowerCase(), `//${host}/`.toLowerCase()];
  if (own.some((p) => (lower + '/').startsWith(p))) {
    try {
      const u = new URL(url, `${proto}://${host}/`);
      url = '/' + u.pathname.replace(/^\/+/, '') + u.search + u.hash;
    } catch {
      return '';
    }
  }
  if (!url.startsWith('/') || url.startsWith('//')) return '';
  // anything the URL parser still sees as another origin is refused
  try {
    const u = new URL(url, 'http://jhub.invalid/');
    if (u.host !== 'jhub.invalid') return '';
  } catch {
    return '';
  }
  return url;
}

/** A sliding-window counter of failures per key (user name, client address). */
export class SlidingWindow {
  private hits = new Map<string, number[]>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly maxKeys = 10000,
  ) {}

  private prune(key: string, now: number): number[] {
    const arr = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (arr.length) this.hits.set(key, arr);
    else this.hits.delete(key);
    return arr;
  }

  /** Seconds until the key may try again, or 0 when under the limit. */
  blockedFor(key: string, now = Date.now()): number {
    if (this.limit <= 0) return 0;
    const arr = this.prune(key, now);
    if (arr.length < this.limit) return 0;
    return Math.max(1, Math.ceil((arr[arr.length - this.limit] + this.windowMs - now) / 1000));
  }

  record(key: string, now = Date.now()): void {
    if (this.limit <= 0) return;
    const arr = this.prune(key, now);
    arr.push(now);
    if (arr.length > this.limit * 2) arr.splice(0, arr.length - this.limit * 2);
    this.hits.set(key, arr);
    if (this.hits.size > this.maxKeys) {
      // bounded memory: drop the oldest keys
      for (const k of this.hits.keys()) {
        this.hits.delete(k);
        if (this.hits.size <= this.maxKeys * 0.9) break;
      }
    }
  }

  clear(key: string): void {
    this.hits.delete(key);
  }
}

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
}

/**
 * Login rate limits (jhub extension; JupyterHub has none): failed logins per user name and
 * per client address in a sliding window. Defaults: 10 failures per name and 50 per address
 * within 5 minutes; env JHUB_LOGIN_FAILURES_PER_USER / _PER_IP / JHUB_LOGIN_FAILURE_WINDOW
 * (seconds) change them (0 disables).
 */
export function makeLoginLimiters(): { perUser: SlidingWindow; perIp: SlidingWindow } {
  const windowMs = envInt('JHUB_LOGIN_FAILURE_WINDOW', 300) * 1000;
  return {
    perUser: new SlidingWindow(envInt('JHUB_LOGIN_FAILURES_PER_USER', 10), windowMs),
    perIp: new SlidingWindow(envInt('JHUB_LOGIN_FAILURES_PER_IP', 50), windowMs),
  };
}
