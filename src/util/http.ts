/**
 * A small HTTP client on node:http(s) for the hub's own calls to its proxy: keep-alive
 * connections, a timeout, the body read as text. `fetch` would load undici, which costs the
 * hub tens of milliseconds of start-up and several megabytes of memory.
 */
import http from 'node:http';
import type https from 'node:https';

export interface SimpleResponse {
  status: number;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let httpsMod: { mod: typeof https; agent: https.Agent } | undefined;

async function httpsFor(): Promise<{ mod: typeof https; agent: https.Agent }> {
  if (!httpsMod) {
    const mod = (await import('node:https')).default;
    httpsMod = { mod, agent: new mod.Agent({ keepAlive: true, maxSockets: 64 }) };
  }
  return httpsMod;
}

export async function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<SimpleResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const { mod, agent: ag } = secure ? await httpsFor() : { mod: http, agent };
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.body !== undefined) headers['Content-Length'] = Buffer.byteLength(opts.body);
  return new Promise<SimpleResponse>((resolve, reject) => {
    const req = mod.request(
      {
        protocol: u.protocol,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port || (secure ? 443 : 80),
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers,
        agent: ag,
        timeout: opts.timeoutMs ?? 10000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 10000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
