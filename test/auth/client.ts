/**
 * A tiny browser for tests: keeps cookies itself (by name; good enough on 127.0.0.1) and
 * follows redirects manually so each hop can be inspected.
 */
export interface Hop {
  url: string;
  status: number;
  location: string | null;
}

export class CookieClient {
  readonly jar = new Map<string, string>();
  userAgent = 'jhub-auth-test';

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(res: Response): void {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set('cookie', this.cookieHeader());
    headers.set('user-agent', this.userAgent);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(res);
    return res;
  }

  async get(url: string): Promise<Response> {
    return this.request(url);
  }

  async postForm(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  }

  /** Follow redirects from `url` until a non-redirect answer (or `stopAt` matches a Location). */
  async follow(url: string, opts: { stopAt?: (loc: string) => boolean; max?: number } = {}): Promise<{ res: Response; hops: Hop[]; url: string }> {
    const hops: Hop[] = [];
    let cur = url;
    for (let i = 0; i < (opts.max ?? 20); i++) {
      const res = await this.get(cur);
      const loc = res.headers.get('location');
      hops.push({ url: cur, status: res.status, location: loc });
      if (res.status < 300 || res.status >= 400 || !loc) return { res, hops, url: cur };
      const next = new URL(loc, cur).href;
      if (opts.stopAt?.(next)) return { res, hops, url: next };
      await res.arrayBuffer();
      cur = next;
    }
    throw new Error(`too many redirects from ${url}: ${JSON.stringify(hops)}`);
  }
}

export function xsrfFrom(html: string): string {
  const m = /name="_xsrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no _xsrf field in page');
  return m[1].replace(/&#(\d+);/g, (_s, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
}
