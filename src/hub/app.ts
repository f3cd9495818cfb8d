/**
 * The hub's life cycle: configuration → secrets → database → modules → HTTP server →
 * proxy → running; and a clean shutdown on SIGTERM/SIGINT.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderError, reason } from '../web/render.js';
import { ConfigError, type Config } from '../config/config.js';
import type { Database } from '../db/index.js';
import { getLogger } from '../util/log.js';
import type { CryptKeeper } from '../util/crypto.js';
import { loadCookieSecret, loadCryptKeeper, loadProxyToken } from './secrets.js';
import { ConfigurableHTTPProxy, type Proxy } from '../proxy/client.js';
import type { HubModule } from './modules.js';
import { JHUB_VERSION } from '../version.js';
import { startIdleGc } from './idlegc.js';

// Fastify, Kysely and the hub modules are imported when init() needs them, after the proxy
// (a process of its own) was started: it starts up while they load.
let modules: HubModule[] = [];

const log = getLogger('JupyterHub', 'app');

export interface HubOptions {
  config: Config;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** A URL prefix that starts and ends with '/'. */
export function urlPrefix(p: string): string {
  let s = p || '/';
  if (!s.startsWith('/')) s = '/' + s;
  if (!s.endsWith('/')) s += '/';
  return s;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class Hub {
  readonly config: Config;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  db!: Database;
  cookieSecret!: Buffer;
  crypt!: CryptKeeper;
  proxyToken!: string;
  proxy!: Proxy;
  server!: FastifyInstance;
  /** Public URL prefix (JupyterHub.base_url), e.g. '/' or '/jupyter/'. */
  baseUrl = '/';
  /** The hub's own prefix: baseUrl + 'hub/'. */
  hubPrefix = '/hub/';
  /** Public bind of the proxy. */
  publicIp = '';
  publicPort = 8000;
  publicProto = 'http';
  /** JupyterHub.public_url if set (with trailing '/'), else ''. */
  publicUrl = '';
  /** Where the hub listens. */
  hubHost = '127.0.0.1';
  hubPort = 8081;
  /** How servers and services reach the hub, e.g. http://127.0.0.1:8081 (no path). */
  hubConnectOrigin = 'http://127.0.0.1:8081';
  /** hub API URL given to servers/services: <hubConnectOrigin><hubPrefix>api */
  hubApiUrl = '';
  readonly startedAt = new Date();
  private stopping: Promise<void> | null = null;
  /** Set by POST /shutdown: overrides cleanup_servers / cleanup_proxy for this shutdown. */
  shutdownOptions: { servers?: boolean; proxy?: boolean } = {};
  /** Whether stopping the hub stops the user servers (cleanup_servers, or the shutdown request). */
  get cleanupServers(): boolean {
    return this.shutdownOptions.servers ?? !!this.config.get<boolean>('JupyterHub', 'cleanup_servers');
  }
  /** Whether stopping the hub stops the proxy it started (cleanup_proxy, or the shutdown request). */
  get cleanupProxy(): boolean {
    return this.shutdownOptions.proxy ?? !!this.config.get<boolean>('JupyterHub', 'cleanup_proxy');
  }
  private stoppedResolve!: () => void;
  /** Resolves when the hub has stopped. */
  readonly stopped = new Promise<void>((r) => (this.stoppedResolve = r));
  private timers: NodeJS.Timeout[] = [];
  private stopIdleGc: () => void = () => {};
  /** The proxy's start, begun in init() (in parallel with the hub's own start-up work). */
  private proxyStarting: Promise<void> | null = null;
  /** start() completed. */
  private running = false;

  constructor(opts: HubOptions) {
    this.config = opts.config;
    this.cwd = opts.cwd ?? process.cwd();
    this.env = opts.env ?? process.env;
  }

  get version(): string {
    return JHUB_VERSION;
  }

  /** Resolve the network layout from bind_url / ip / port / base_url / hub_* traits. */
  private initUrls(): void {
    const c = this.config;
    let bind = c.get<string>('JupyterHub', 'bind_url') || 'http://:8000';
    if (c.get<string>('JupyterHub', 'ssl_cert') && bind.startsWith('http://') && !c.isSet('JupyterHub', 'bind_url')) bind = 'https' + bind.slice(4);
    const m = /^(https?):\/\/(\[[^\]]*\]|[^/:]*)(?::(\d+))?(\/.*)?$/.exec(bind);
    if (!m) throw new ConfigError(`JupyterHub.bind_url '${bind}' is not a valid http(s) URL`);
    this.publicProto = m[1];
    this.publicIp = m[2].replace(/^\[|\]$/g, '');
    this.publicPort = m[3] ? Number(m[3]) : m[1] === 'https' ? 443 : 80;
    let base = m[4] || '/';
    if (c.isSet('JupyterHub', 'ip')) this.publicIp = c.get<string>('JupyterHub', 'ip');
    if (c.isSet('JupyterHub', 'port')) this.publicPort = c.get<number>('JupyterHub', 'port');
    if (c.isSet('JupyterHub', 'base_url')) base = c.get<string>('JupyterHub', 'base_url');
    this.baseUrl = urlPrefix(base);
    this.hubPrefix = this.baseUrl + 'hub/';
    const publicUrl = c.get<string>('JupyterHub', 'public_url');
    if (publicUrl) this.publicUrl = publicUrl.endsWith('/') ? publicUrl : publicUrl + '/';

    const hubBind = c.get<string>('JupyterHub', 'hub_bind_url');
    if (hubBind) {
      const u = new URL(hubBind);
      this.hubHost = u.hostname.replace(/^\[|\]$/g, '');
      this.hubPort = Number(u.port || 80);
    } else {
      this.hubHost = c.get<string>('JupyterHub', 'hub_ip') || '0.0.0.0';
      this.hubPort = c.get<number>('JupyterHub', 'hub_port');
    }
    const connectUrl = c.get<string>('JupyterHub', 'hub_connect_url');
    if (connectUrl) {
      this.hubConnectOrigin = connectUrl.replace(/\/+$/, '').replace(/\/hub$/, '');
    } else {
      let host = c.get<string>('JupyterHub', 'hub_connect_ip') || this.hubHost;
      if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
      if (host === '::') host = '::1';
      this.hubConnectOrigin = `http://${host.includes(':') ? `[${host}]` : host}:${this.hubPort}`;
    }
    this.hubApiUrl = `${this.hubConnectOrigin}${this.hubPrefix}api`;
  }

  /** Everything before listening: secrets, database, modules' init. */
  async init(): Promise<void> {
    const c = this.config;
    this.initUrls();
    this.cookieSecret = loadCookieSecret(c, this.env, this.cwd);
    this.crypt = loadCryptKeeper(c, this.env);
    const proxyToken = loadProxyToken(c, this.env);
    this.proxyToken = proxyToken.token;
    const shouldStart = c.get<boolean>('ConfigurableHTTPProxy', 'should_start');
    if (!shouldStart && proxyToken.generated)
      throw new ConfigError('ConfigurableHTTPProxy.should_start is False, so the proxy auth token must be given: set CONFIGPROXY_AUTH_TOKEN or ConfigurableHTTPProxy.auth_token');
    this.proxy = new ConfigurableHTTPProxy({
      command: c.get<string[]>('ConfigurableHTTPProxy', 'command'),
      apiUrl: c.get<string>('ConfigurableHTTPProxy', 'api_url'),
      authToken: this.proxyToken,
      shouldStart,
      pidFile: c.get<string>('ConfigurableHTTPProxy', 'pid_file'),
      checkRunningInterval: c.get<number>('ConfigurableHTTPProxy', 'check_running_interval'),
      concurrency: c.get<number>('ConfigurableHTTPProxy', 'concurrency'),
      logLevel: c.get<boolean>('ConfigurableHTTPProxy', 'debug') ? 'debug' : String(c.get<string>('ConfigurableHTTPProxy', 'log_level') || 'info').toLowerCase(),
      ip: this.publicIp,
      port: this.publicPort,
      sslKey: c.get<string>('JupyterHub', 'ssl_key') || undefined,
      sslCert: c.get<string>('JupyterHub', 'ssl_cert') || undefined,
      hostRouting: !!c.get<string>('JupyterHub', 'subdomain_host'),
      errorTarget: `${this.hubConnectOrigin}${this.hubPrefix}error`,
      defaultTarget: this.hubRoutespec === '/' ? this.hubConnectOrigin : undefined,
      cwd: this.cwd,
      env: this.env,
      onRestart: () => this.restoreRoutes(),
    });
    // The proxy (a process of its own) starts while the hub initializes; start() waits for it.
    this.proxyStarting = this.proxy.start();
    this.proxyStarting.catch(() => {});
    const loading = Promise.all([import('../db/index.js'), import('./modules.js')]);
    const [{ openDatabase }, mods] = await loading;
    modules = mods.modules;
    const dbUrl = c.get<string>('JupyterHub', 'db_url');
    this.db = await openDatabase(dbUrl, {
      cwd: this.cwd,
      upgrade: c.get<boolean>('JupyterHub', 'upgrade_db'),
      reset: c.get<boolean>('JupyterHub', 'reset_db'),
      kwargs: c.get<Record<string, unknown>>('JupyterHub', 'db_kwargs'),
      debugSql: c.get<boolean>('JupyterHub', 'debug_db'),
    });
    log.info(`Using database ${this.db.displayUrl}`);
    log.debug(`Start-up: database open at ${Math.round(performance.now())} ms`);
    for (const m of modules) {
      if (m.init) {
        log.debug(`Initializing ${m.name}`);
        await m.init(this);
      }
    }
    log.debug(`Start-up: initialized at ${Math.round(performance.now())} ms`);
  }

  private async buildServer(): Promise<FastifyInstance> {
    const [{ default: Fastify }, { default: formbody }, { default: cookie }] = await Promise.all([import('fastify'), import('@fastify/formbody'), import('@fastify/cookie')]);
    const app = Fastify({
      logger: false,
      bodyLimit: 10 * 1024 * 1024,
      routerOptions: { maxParamLength: 2000 },
      trustProxy: true,
      return503OnClosing: true,
    });
    app.register(cookie);
    app.register(formbody);
    // JSON bodies: empty is allowed (many POSTs have none); invalid → 400 with JupyterHub's message.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(/^application\/([\w.+-]+\+)?json/, { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => {
      const text = String(body);
      if (!text.trim()) return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new HttpError(400, 'Invalid JSON in body of request'), undefined);
      }
    });
    // Anything else is read as text so handlers can decide (JupyterHub parses JSON regardless of type).
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
      let status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
      let message = err.message;
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = 'Request body too large';
      if (status >= 500 && !(err instanceof HttpError)) {
        // An unexpected error: log it whole, tell the client only that it happened.
        log.error(`Uncaught error in ${req.method} ${req.url}: ${err.stack ?? err.message}`);
        message = '';
      }
      if (status < 400 || status > 599) status = 500;
      if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      if (this.isApiRequest(req)) return this.sendApiError(reply, status, message);
      return renderError(this, req, reply, status, message);
    });
    app.setNotFoundHandler(async (req, reply) => {
      if (this.isApiRequest(req)) return this.sendApiError(reply, 404, 'Not Found');
      return renderError(this, req, reply, 404, '');
    });
    const headers = this.config.get<Record<string, unknown>>('JupyterHub', 'tornado_settings')?.headers as Record<string, string> | undefined;
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      (req as unknown as { startNs: bigint }).startNs = process.hrtime.bigint();
      reply.header('X-JupyterHub-Version', this.versionHeader);
      if (headers) for (const [k, v] of Object.entries(headers)) reply.header(k, String(v));
    });
    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      const ms = Number(process.hrtime.bigint() - (req as unknown as { startNs: bigint }).startNs) / 1e6;
      const who = (req as unknown as { identityName?: string }).identityName;
      const line = `${reply.statusCode} ${req.method} ${req.url.replace(/([?&](token|code|state)=)[^&]*/g, '$1[secret]')} (${who ? who + '@' : ''}${req.ip}) ${ms.toFixed(2)}ms`;
      if (reply.statusCode >= 500) log.error(line);
      else if (reply.statusCode >= 400) log.warn(line);
      else if (req.url.endsWith('/health') || req.url.includes('/api/users/') && req.url.endsWith('/activity')) log.debug(line);
      else log.info(line);
    });
    return app;
  }

  isApiRequest(req: FastifyRequest): boolean {
    return req.url.startsWith(this.hubPrefix + 'api/') || req.url === this.hubPrefix + 'api' || req.url.startsWith(this.hubPrefix + 'api?');
  }

  /** A JSON API error as JupyterHub sends it: {"status": N, "message": "..."}. */
  sendApiError(reply: FastifyReply, status: number, message?: string): FastifyReply {
    return reply
      .status(status)
      .header('Content-Type', 'application/json')
      .header('Content-Security-Policy', `frame-ancestors 'none'; report-uri ${this.hubPrefix}security/csp-report; default-src 'none'`)
      .send(JSON.stringify({ status, message: message || reason(status) }));
  }

  /** Value of the X-JupyterHub-Version header (a 5.x version that Python's packaging accepts). */
  get versionHeader(): string {
    return this.config.get<string>('JupyterHub', 'jupyterhub_version' as never) || '5.3.0';
  }

  /** The hub's own route in the proxy. */
  get hubRoutespec(): string {
    return this.config.get<string>('JupyterHub', 'hub_routespec') || '/';
  }

  async addHubRoute(): Promise<void> {
    await this.proxy.addRoute(this.hubRoutespec, this.hubConnectOrigin, { hub: true });
  }

  /** Hooks other modules register to put their routes back after a proxy restart or on reconciliation. */
  readonly routeRestorers: (() => Promise<void>)[] = [];
  private async restoreRoutes(): Promise<void> {
    await this.addHubRoute();
    for (const r of this.routeRestorers) await r();
    log.info('Proxy routes restored');
  }

  /** Run fn every `seconds`, stopped with the hub. */
  every(seconds: number, fn: () => Promise<void> | void): void {
    if (!(seconds > 0)) return;
    const t = setInterval(() => {
      Promise.resolve()
        .then(fn)
        .catch((e) => log.error(`Periodic task failed: ${(e as Error).message}`));
    }, seconds * 1000);
    t.unref();
    this.timers.push(t);
  }

  async start(): Promise<void> {
    this.server = await this.buildServer();
    for (const m of modules) if (m.routes) await this.server.register(async (app) => m.routes!(app, this));
    await this.server.listen({ host: this.hubHost, port: this.hubPort }).catch((e: NodeJS.ErrnoException) => {
      throw new ConfigError(
        e.code === 'EADDRINUSE'
          ? `cannot listen on ${this.hubHost}:${this.hubPort}: the address is already in use (is another hub running? set JupyterHub.hub_port)`
          : `cannot listen on ${this.hubHost}:${this.hubPort}: ${e.message}`,
      );
    });
    log.info(`Hub API listening on ${this.hubConnectOrigin}${this.hubPrefix}`);
    this.stopIdleGc = startIdleGc(this.server.server);
    log.debug(`Start-up: listening at ${Math.round(performance.now())} ms`);
    await (this.proxyStarting ?? this.proxy.start());
    log.debug(`Start-up: proxy ready at ${Math.round(performance.now())} ms`);
    await this.addHubRoute();
    for (const m of modules) if (m.start) await m.start(this);
    const pidFile = this.config.get<string>('JupyterHub', 'pid_file');
    if (pidFile) fs.writeFileSync(path.resolve(this.cwd, pidFile), String(process.pid));
    this.running = true;
    if (log.isDebug()) {
      const m = process.memoryUsage();
      const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
      log.debug(`Start-up: running at ${Math.round(performance.now())} ms (since the process started); rss ${mb(m.rss)}, heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}`);
    }
    log.info(`JupyterHub is now running at ${this.publicUrl || `${this.publicProto}://${this.publicIp || ':'}${this.publicIp ? ':' : ''}${this.publicPort}${this.baseUrl}`}`);
  }

  /** Stop everything; idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        log.info('Shutting down');
        for (const t of this.timers) clearInterval(t);
        this.stopIdleGc();
        for (const m of [...modules].reverse()) {
          if (!m.stop) continue;
          try {
            await m.stop(this);
          } catch (e) {
            log.error(`Error stopping ${m.name}: ${(e as Error).message}`);
          }
        }
        if (this.proxy) {
          // a start-up that failed leaves no proxy behind (it was started alongside the hub's init)
          await this.proxyStarting?.catch(() => {});
          if (this.cleanupProxy || !this.running) await this.proxy.stop().catch((e) => log.error(`Error stopping the proxy: ${e.message}`));
          else {
            log.info('Leaving proxy running');
            (this.proxy as ConfigurableHTTPProxy).detach?.();
          }
        }
        if (this.server) await this.server.close().catch(() => {});
        if (this.db) await this.db.close().catch(() => {});
        // The Python bridge of jupyterhub_config.py callables, if any.
        this.config.close();
        const pidFile = this.config.get<string>('JupyterHub', 'pid_file');
        if (pidFile) fs.rmSync(path.resolve(this.cwd, pidFile), { force: true });
        log.info('...done');
        this.stoppedResolve();
      })();
    }
    return this.stopping;
  }
}
