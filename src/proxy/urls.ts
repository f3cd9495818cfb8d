// URL helpers replicating CHP's (WHATWG URL based) path handling, with allocation-free fast paths.

/**
 * True when `url` is an origin-form request target whose WHATWG-parsed
 * `pathname + search` is the string itself (no dot segments, nothing the parser would
 * re-encode, no fragment, not protocol-relative). Conservative: false means "use the slow path".
 */
export function isSimpleUrl(url: string): boolean {
  const n = url.length;
  if (n === 0 || url.charCodeAt(0) !== 47) return false;
  if (n > 1 && url.charCodeAt(1) === 47) return false;
  let inQuery = false;
  for (let k = 1; k < n; k++) {
    const c = url.charCodeAt(k);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e) return false;
    if (inQuery) {
      if (c === 0x27) return false;
      continue;
    }
    switch (c) {
      case 0x3f: // ?
        inQuery = true;
        break;
      case 0x5c: // backslash
      case 0x60: // `
      case 0x7b: // {
      case 0x7d: // }
        return false;
      case 0x2e: // "/." (possible dot segment)
        if (url.charCodeAt(k - 1) === 47) return false;
        break;
      case 0x25: // %2e (encoded dot)
        if (url.charCodeAt(k + 1) === 0x32 && (url.charCodeAt(k + 2) | 0x20) === 0x65) return false;
        break;
    }
  }
  return true;
}

/** CHP: decodeURIComponent(new URL(url, "http://example.com").pathname). May throw URIError. */
export function routingPath(url: string, simple: boolean): string {
  let p: string;
  if (simple) {
    const q = url.indexOf('?');
    p = q === -1 ? url : url.slice(0, q);
  } else {
    p = new URL(url, 'http://example.com').pathname;
  }
  return p.indexOf('%') === -1 ? p : decodeURIComponent(p);
}

/** http-proxy-3 `getPath`: pathname + search of the URL (normalised by the WHATWG parser). */
export function getPath(url: string): string {
  if (url === '' || url.charCodeAt(0) === 63) return url;
  if (isSimpleUrl(url)) return url;
  const u = new URL(url.startsWith('//') ? `http://base.invalid${url}` : url, 'http://base.invalid');
  return u.pathname + u.search;
}

/** http-proxy-3 `urlJoin` for two parts (concatenate, merging adjacent slashes and queries). */
export function urlJoin(a: string, b: string): string {
  let q = '';
  const qa = a.indexOf('?');
  if (qa !== -1) {
    q = a.slice(qa + 1);
    a = a.slice(0, qa);
  }
  const qb = b.indexOf('?');
  if (qb !== -1) {
    const bq = b.slice(qb + 1);
    if (bq) q = q ? q + '&' + bq : bq;
    b = b.slice(0, qb);
  }
  let ret = '';
  for (const seg of [a, b]) {
    if (!seg) continue;
    if (ret.endsWith('/')) ret += seg.charCodeAt(0) === 47 ? seg.slice(1) : seg;
    else ret += seg.charCodeAt(0) === 47 ? seg : '/' + seg;
  }
  return q ? ret + '?' + q : ret;
}

/** Port from a Host header like http-proxy-3's /:(\d+)/ (first ':' followed by digits). */
export function hostHeaderPort(host: string | undefined): string | undefined {
  if (!host) return undefined;
  let k = host.indexOf(':');
  while (k !== -1) {
    let e = k + 1;
    while (e < host.length) {
      const c = host.charCodeAt(e);
      if (c < 48 || c > 57) break;
      e++;
    }
    if (e > k + 1) return host.slice(k + 1, e);
    k = host.indexOf(':', k + 1);
  }
  return undefined;
}
