/**
 * The hub's side of the proxy: starts and watches a CHP-compatible proxy process
 * (`jhub-proxy` by default, or the real `configurable-http-proxy`), or talks to an
 * external one (`should_start = False`), and keeps its routing table in line with the hub
 * (spec proxy.md §6–7).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { shebangNodeFlags } from '../util/shebang.js';
import { getLogger } from '../util/log.js';
import { httpRequest } from '../util/http.js';

const log = getLogger('JupyterHub', 'proxy');

export interface RouteData {
  [k: string]: unknown;
}
export interface Route {
  routespec: string;
  target: string;
  data: RouteData;
}

/** The Proxy extension point, as JupyterHub's `jupyterhub.proxy.Proxy`. */
export interface Proxy {
  readonly shouldStart: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  addRoute(routespec: string, target: string, data: RouteData): Promise<void>;
  deleteRoute(routespec: string): Promise<void>;
  getAllRoutes(): Promise<Record<string, Route>>;
  getRoute(routespec: string): Promise<Route | null>;
}

export class ProxyError extends Error {}

export interface CHPOptions {
  command: string[];
  apiUrl: string;
  authToken: string;
  shouldStart: boolean;
  pidFile: string;
  checkRunningInterval: number;
  concurrency: number;
  logLevel: string;
  /** Public bind of the proxy. */
  ip: string;
  port: number;
  sslKey?: string;
  sslCert?: string;
  hostRouting: boolean;
  /** e.g. http://127.0.0.1:8081/hub/error */
  errorTarget: string;
  /**
   * The hub, as the proxy's default target when the hub's route is "/": the same routing the
   * hub's route gives, already while the hub adds it (requests arriving during start-up reach
   * the hub instead of an error page).
   */
  defaultTarget?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Called after the child proxy was restarted, to restore every route. */
  onRestart?: () => Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Our own proxy executable, resolved from the install (dist/src/proxy → bin/jhub-proxy). */
export const JHUB_PROXY_BIN = path.resolve(here, '../../../bin/jhub-proxy');
/**
 * The command the hub runs: `jhub-proxy` is our own bin/jhub-proxy, run by this node with the
 * node options of its shebang line (they keep its RSS low; see docs/proxy.md).
 */
export function resolveProxyCommand(cmd: string[]): string[] {
  if (cmd[0] === 'jhub-proxy' && fs.existsSync(JHUB_PROXY_BIN)) return [process.execPath, ...shebangNodeFlags(JHUB_PROXY_BIN), JHUB_PROXY_BIN, ...cmd.slice(1)];
  return cmd;
}

/** routespec (`/user/alice/`, `host.example/user/alice/`) → CHP path (`/user/alice`). */
export function routespecToPath(spec: string): string {
  let p = spec;
  if (!p.startsWith('/')) p = '/' + p;
  if (p !== '/' && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}
/** CHP path → routespec. */
export function pathToRoutespec(p: string, hostRouting: boolean): string {
  let s = encodeURI(p).replace(/%25([0-9A-F]{2})/gi, '%$1');
  if (hostRouting) s = s.replace(/^\//, '');
  if (!s.endsWith('/')) s += '/';
  return s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitForPort(host: string, port: number, deadline: number, child?: ChildProcess): Promise<void> {
  for (;;) {
    if (child && child.exitCode !== null) throw new ProxyError(`Proxy failed to start with exit code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: host || '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new ProxyError(`Proxy did not start listening on ${host || '*'}:${port} in time`);
    await sleep(50);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ConfigurableHTTPProxy implements Proxy {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private queue: (() => void)[] = [];
  private stopping = false;
  private restarting: Promise<void> | null = null;
  constructor(readonly opts: CHPOptions) {}

  get shouldStart(): boolean {
    return this.opts.shouldStart;
  }
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  private async stopExisting(): Promise<void> {
    const file = path.resolve(this.opts.cwd, this.opts.pidFile);
    let pid: number;
    try {
      pid = Number(fs.readFileSync(file, 'utf8').trim());
    } catch {
      return;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !pidAlive(pid)) {
      log.info(`Removing stale proxy pid file ${file}`);
      fs.rmSync(file, { force: true });
      return;
    }
    log.warn(`Found proxy pid file ${file}: stopping the proxy it names (pid ${pid})`);
    for (const sig of ['SIGTERM', 'SIGTERM', 'SIGKILL'] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        break;
      }
      for (let i = 0; i < 20 && pidAlive(pid); i++) await sleep(50);
      if (!pidAlive(pid)) break;
    }
    if (pidAlive(pid)) throw new ProxyError(`could not stop the proxy with pid ${pid} named in ${file}`);
    fs.rmSync(file, { force: true });
  }

  async start(): Promise<void> {
    if (!this.opts.shouldStart) {
      log.info(`Using an external proxy at ${this.opts.apiUrl}`);
      await this.request('GET', '/api/routes');
      return;
    }
    await this.stopExisting();
    await this.spawnChild();
    this.timer = setInterval(() => void this.checkRunning(), this.opts.checkRunningInterval * 1000);
    this.timer.unref();
  }

  private async spawnChild(): Promise<void> {
    const api = new URL(this.opts.apiUrl);
    const args = [
      '--ip', this.opts.ip,
      '--port', String(this.opts.port),
      '--api-ip', api.hostname.replace(/^\[|\]$/g, ''),
      '--api-port', String(api.port || (api.protocol === 'https:' ? 443 : 80)),
      '--error-target', this.opts.errorTarget,
      '--log-level', this.opts.logLevel,
    ];
    if (this.opts.defaultTarget && !this.opts.hostRouting) args.push('--default-target', this.opts.defaultTarget);
    if (this.opts.hostRouting) args.push('--host-routing');
    if (this.opts.sslKey) args.push('--ssl-key', this.opts.sslKey);
    if (this.opts.sslCert) args.push('--ssl-cert', this.opts.sslCert);
    const cmd = resolveProxyCommand(this.opts.command);
    log.info(`Starting proxy @ ${this.opts.ip ? this.opts.ip : '*'}:${this.opts.port}`);
    log.debug(`Proxy cmd: ${[...this.opts.command, ...args].join(' ')}`);
    const child = spawn(cmd[0], [...cmd.slice(1), ...args], {
      cwd: this.opts.cwd,
      env: { ...this.opts.env, CONFIGPROXY_AUTH_TOKEN: this.opts.authToken },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) =>
        reject(new ProxyError(`Failed to start the proxy '${this.opts.command[0]}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}`)),
      );
    });
    this.child = child;
    const pidFile = path.resolve(this.opts.cwd, this.opts.pidFile);
    try {
      fs.writeFileSync(pidFile, String(child.pid));
    } catch (e) {
      log.warn(`Could not write proxy pid file ${pidFile}: ${(e as Error).message}`);
    }
    const deadline = Date.now() + 15000;
    await waitForPort(this.opts.ip === '' || this.opts.ip === '0.0.0.0' ? '127.0.0.1' : this.opts.ip, this.opts.port, deadline, child);
    await waitForPort(api.hostname.replace(/^\[|\]$/g, ''), Number(api.port), deadline, child);
    await this.request('GET', '/api/routes');
    log.info(`Proxy started and appears to be up (pid ${child.pid})`);
  }

  private async checkRunning(): Promise<void> {
    if (this.stopping || this.restarting || !this.child) return;
    if (this.child.exitCode === null && this.child.signalCode === null) return;
    log.error(`Proxy stopped with exit code ${this.child.exitCode ?? this.child.signalCode}; restarting it`);
    this.restarting = (async () => {
      fs.rmSync(path.resolve(this.opts.cwd, this.opts.pidFile), { force: true });
      try {
        await this.spawnChild();
        if (this.opts.onRestart) await this.opts.onRestart();
      } catch (e) {
        log.error(`Failed to restart the proxy: ${(e as Error).message}`);
      }
    })().finally(() => {
      this.restarting = null;
    });
    await this.restarting;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this._agent?.destroy();
    const child = this.child;
    if (!child || !this.opts.shouldStart) return;
    if (child.exitCode === null && child.signalCode === null) {
      log.info('Cleaning up proxy');
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(path.resolve(this.opts.cwd, this.opts.pidFile), { force: true });
  }

  /** Leave the child proxy running (hub stopping with cleanup_proxy = False). */
  detach(): void {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this._agent?.destroy();
    this.child?.unref();
  }

  private async acquire(): Promise<void> {
    if (this.inflight < this.opts.concurrency) {
      this.inflight++;
      return;
    }
    await new Promise<void>((r) => this.queue.push(r));
    this.inflight++;
  }
  private release(): void {
    this.inflight--;
    this.queue.shift()?.();
  }

  /** Keep-alive connections to the proxy's API (at most `concurrency` of them). */
  private get agent(): http.Agent {
    if (!this._agent) {
      const https = this.opts.apiUrl.startsWith('https:');
      // Idle connections are closed after 4 s, before the proxy's own 5 s keep-alive timeout could
      // close one just as a request is sent on it.
      const o = { keepAlive: true, maxSockets: this.opts.concurrency, maxFreeSockets: this.opts.concurrency, timeout: 4000 };
      this._agent = https ? new HttpsAgent(o) : new http.Agent(o);
    }
    return this._agent;
  }
  private _agent: http.Agent | null = null;

  /** One API call with JupyterHub's retry rules: 5xx and connection errors retried with back-off for 30 s. */
  async request(method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> {
    const url = new URL(this.opts.apiUrl.replace(/\/$/, '') + p);
    let delay = 200;
    const deadline = Date.now() + 30000;
    const payload = body ? JSON.stringify(body) : undefined;
    const headers: Record<string, string> = { Authorization: `token ${this.opts.authToken}` };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    await this.acquire();
    try {
      for (;;) {
        let status = 0;
        let text = '';
        let err: Error | null = null;
        try {
          const r = await httpRequest(url, { method, headers, body: payload, agent: this.agent, timeoutMs: 10000 });
          status = r.status;
          text = r.text;
        } catch (e) {
          err = e as Error;
        }
        if (!err && status < 500) {
          if (status >= 400 && !(status === 404 && (method === 'DELETE' || (method === 'GET' && p !== '/api/routes'))))
            throw new ProxyError(`proxy API ${method} ${p} failed: ${status} ${text}`.trim());
          return { status, text };
        }
        if (Date.now() + delay > deadline)
          throw new ProxyError(`proxy API ${method} ${p} failed: ${err ? (err.cause as Error)?.message ?? err.message : `${status} ${text}`}`);
        log.debug(`proxy API ${method} ${p}: ${err ? err.message : status}, retrying in ${delay} ms`);
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    } finally {
      this.release();
    }
  }

  async addRoute(routespec: string, target: string, data: RouteData): Promise<void> {
    const p = routespecToPath(routespec);
    log.debug(`Adding route ${routespec} -> ${target}`);
    await this.request('POST', '/api/routes' + encodeURI(p), { ...data, jupyterhub: true, target });
  }

  async deleteRoute(routespec: string): Promise<void> {
    const p = routespecToPath(routespec);
    log.debug(`Removing route ${routespec}`);
    const r = await this.request('DELETE', '/api/routes' + encodeURI(p));
    if (r.status === 404) log.debug(`Route ${routespec} already gone`);
  }

  private toRoute(p: string, raw: Record<string, unknown>): Route {
    const { target, jupyterhub: _j, ...data } = raw;
    return { routespec: pathToRoutespec(p, this.opts.hostRouting), target: String(target), data };
  }

  async getAllRoutes(): Promise<Record<string, Route>> {
    const r = await this.request('GET', '/api/routes');
    const all = JSON.parse(r.text) as Record<string, Record<string, unknown>>;
    const out: Record<string, Route> = {};
    for (const [p, raw] of Object.entries(all)) {
      if (!raw || raw.jupyterhub !== true) continue;
      const route = this.toRoute(p, raw);
      out[route.routespec] = route;
    }
    return out;
  }

  async getRoute(routespec: string): Promise<Route | null> {
    const p = routespecToPath(routespec);
    const r = await this.request('GET', '/api/routes' + encodeURI(p));
    if (r.status === 404) return null;
    return this.toRoute(p, JSON.parse(r.text));
  }
}
