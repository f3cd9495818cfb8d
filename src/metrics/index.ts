/**
 * Prometheus metrics of metrics.md: names, types, labels and buckets as JupyterHub 5.x.
 * Other modules import `metrics` and update them (spawn/stop/proxy timings, gauges).
 * `{hub}metrics` and `{hub}api/metrics` serve them (read:metrics when authenticate_prometheus).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import { HttpError, type Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import { getLogger } from '../util/log.js';

const log = getLogger('JupyterHub', 'metrics');
const prefix = process.env.JUPYTERHUB_METRICS_PREFIX || 'jupyterhub';
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
function envBuckets(name: string, dflt: number[]): number[] {
  const v = process.env[name];
  if (!v) return dflt;
  const b = v.split(',').map((s) => Number(s.trim())).filter((n) => Number.isFinite(n));
  return b.length ? b : dflt;
}

const h = (name: string, help: string, labelNames: string[] = [], buckets = DEFAULT_BUCKETS) =>
  new client.Histogram({ name: `${prefix}_${name}`, help, labelNames, buckets, registers: [registry] });

export const metrics = {
  requestDuration: h('request_duration_seconds', 'request duration for all HTTP requests', ['method', 'handler', 'code']),
  serverSpawnDuration: h('server_spawn_duration_seconds', 'time taken for server spawning operation', ['status'], envBuckets('JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS', [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600])),
  runningServers: new client.Gauge({ name: `${prefix}_running_servers`, help: 'the number of user servers currently running', registers: [registry] }),
  totalUsers: new client.Gauge({ name: `${prefix}_total_users`, help: 'total number of users', registers: [registry] }),
  activeUsers: new client.Gauge({ name: `${prefix}_active_users`, help: 'number of users who were active in the given time period', labelNames: ['period'], registers: [registry] }),
  checkRoutesDuration: h('check_routes_duration_seconds', 'Time taken to validate all routes in proxy'),
  hubStartupDuration: h('hub_startup_duration_seconds', 'Time taken for Hub to start'),
  initSpawnersDuration: h('init_spawners_duration_seconds', 'Time taken for spawners to initialize'),
  proxyPollDuration: h('proxy_poll_duration_seconds', 'duration for polling all routes from proxy'),
  proxyAddDuration: h('proxy_add_duration_seconds', 'duration for adding user routes to proxy', ['status']),
  proxyDeleteDuration: h('proxy_delete_duration_seconds', 'duration for deleting user routes from proxy', ['status']),
  serverPollDuration: h('server_poll_duration_seconds', 'time taken to poll if server is running', ['status']),
  serverStopDuration: h('server_stop_seconds', 'time taken for server stopping operation', ['status'], envBuckets('JUPYTERHUB_SERVER_STOP_DURATION_SECONDS_BUCKETS', DEFAULT_BUCKETS)),
  eventLoopInterval: h('event_loop_interval_seconds', 'Distribution of measured event loop intervals', [], [0.05, 0.055, 0.06, 0.065, 0.07, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]),
};
// Pre-created label values (dashboards rely on them).
for (const s of ['success', 'failure', 'already-pending', 'throttled', 'too-many-users']) metrics.serverSpawnDuration.zero({ status: s });
for (const p of ['24h', '7d', '30d']) metrics.activeUsers.labels(p).set(0);
for (const s of ['success', 'failure']) {
  metrics.proxyAddDuration.zero({ status: s });
  metrics.proxyDeleteDuration.zero({ status: s });
  metrics.serverStopDuration.zero({ status: s });
}
for (const s of ['running', 'stopped']) metrics.serverPollDuration.zero({ status: s });

const H = 'jupyterhub.';
/** The `handler` label of metrics.md §3 for a path under the hub. */
export function handlerFor(hub: Hub, path: string): string {
  const p = path.split('?')[0];
  const hp = hub.hubPrefix;
  if (!p.startsWith(hp)) {
    if (p === hp.slice(0, -1)) return H + 'handlers.base.AddSlashHandler';
    if (/^\/(user|services)\/[^/]+$/.test(p.slice(hub.baseUrl.length - 1))) return H + 'handlers.base.AddSlashHandler';
    return H + 'handlers.base.PrefixRedirectHandler';
  }
  const r = p.slice(hp.length);
  const table: [RegExp, string][] = [
    [/^api\/?$/, 'apihandlers.hub.RootAPIHandler'],
    [/^api\/info$/, 'apihandlers.hub.InfoAPIHandler'],
    [/^api\/shutdown$/, 'apihandlers.hub.ShutdownAPIHandler'],
    [/^api\/proxy$/, 'apihandlers.proxy.ProxyAPIHandler'],
    [/^api\/user$/, 'apihandlers.users.SelfAPIHandler'],
    [/^api\/users$/, 'apihandlers.users.UserListAPIHandler'],
    [/^api\/users\/[^/]+$/, 'apihandlers.users.UserAPIHandler'],
    [/^api\/users\/[^/]+\/(server|servers\/[^/]*)\/progress$/, 'apihandlers.users.SpawnProgressAPIHandler'],
    [/^api\/users\/[^/]+\/(server|servers\/[^/]*)$/, 'apihandlers.users.UserServerAPIHandler'],
    [/^api\/users\/[^/]+\/tokens$/, 'apihandlers.users.UserTokenListAPIHandler'],
    [/^api\/users\/[^/]+\/tokens\/[^/]+$/, 'apihandlers.users.UserTokenAPIHandler'],
    [/^api\/users\/[^/]+\/activity$/, 'apihandlers.users.ActivityAPIHandler'],
    [/^api\/users\/[^/]+\/admin-access$/, 'apihandlers.users.UserAdminAccessAPIHandler'],
    [/^api\/users\/[^/]+\/shared$/, 'apihandlers.shares.UserShareListAPIHandler'],
    [/^api\/users\/[^/]+\/shared\/[^/]+\/[^/]*$/, 'apihandlers.shares.UserShareAPIHandler'],
    [/^api\/groups$/, 'apihandlers.groups.GroupListAPIHandler'],
    [/^api\/groups\/[^/]+$/, 'apihandlers.groups.GroupAPIHandler'],
    [/^api\/groups\/[^/]+\/users$/, 'apihandlers.groups.GroupUsersAPIHandler'],
    [/^api\/groups\/[^/]+\/properties$/, 'apihandlers.groups.GroupPropertiesAPIHandler'],
    [/^api\/groups\/[^/]+\/shared$/, 'apihandlers.shares.GroupShareListAPIHandler'],
    [/^api\/groups\/[^/]+\/shared\/[^/]+\/[^/]*$/, 'apihandlers.shares.GroupShareAPIHandler'],
    [/^api\/services$/, 'apihandlers.services.ServiceListAPIHandler'],
    [/^api\/services\/[^/]+$/, 'apihandlers.services.ServiceAPIHandler'],
    [/^api\/shares\/[^/]+(\/[^/]*)?$/, 'apihandlers.shares.ServerShareAPIHandler'],
    [/^api\/share-codes\/[^/]+(\/[^/]*)?$/, 'apihandlers.shares.ServerShareCodeAPIHandler'],
    [/^api\/authorizations\/token(\/.*)?$/, 'apihandlers.auth.TokenAPIHandler'],
    [/^api\/authorizations\/cookie\/.*$/, 'apihandlers.auth.CookieAPIHandler'],
    [/^api\/oauth2\/authorize$/, 'apihandlers.auth.OAuthAuthorizeHandler'],
    [/^api\/oauth2\/token$/, 'apihandlers.auth.OAuthTokenHandler'],
    [/^(api\/)?health$/, 'handlers.pages.HealthCheckHandler'],
    [/^(api\/)?metrics$/, 'handlers.metrics.MetricsHandler'],
    [/^api(\/.*)?$/, 'apihandlers.base.API404'],
    [/^$/, 'handlers.pages.RootHandler'],
    [/^home$/, 'handlers.pages.HomeHandler'],
    [/^admin$/, 'handlers.pages.AdminHandler'],
    [/^spawn(\/.*)?$/, 'handlers.pages.SpawnHandler'],
    [/^spawn-pending\/.*$/, 'handlers.pages.SpawnPendingHandler'],
    [/^token$/, 'handlers.pages.TokenPageHandler'],
    [/^accept-share$/, 'handlers.pages.AcceptShareHandler'],
    [/^error\/.*$/, 'handlers.pages.ProxyErrorHandler'],
    [/^login$/, 'handlers.login.LoginHandler'],
    [/^logout$/, 'handlers.login.LogoutHandler'],
    [/^user\/.*$/, 'handlers.base.UserUrlHandler'],
    [/^user-redirect\/.*$/, 'handlers.base.UserRedirectHandler'],
    [/^security\/csp-report$/, 'handlers.base.CSPReportHandler'],
    [/^logo$/, 'handlers.static.LogoHandler'],
    [/^static\/.*$/, 'handlers.static.CacheControlStaticFilesHandler'],
    [/^oauth_(login|callback)$/, '__oauth__'],
  ];
  for (const [re, name] of table) {
    if (re.test(r)) {
      if (name === '__oauth__') return r === 'oauth_login' ? 'oauthenticator.oauth2.OAuthLoginHandler' : 'oauthenticator.oauth2.OAuthCallbackHandler';
      return H + name;
    }
  }
  return H + 'handlers.base.Template404';
}

/** Observe every request of the hub's HTTP server (independent of Fastify plugin scopes). */
export function instrumentServer(hub: Hub): void {
  const server = hub.server.server;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      try {
        metrics.requestDuration.labels(req.method ?? 'GET', handlerFor(hub, req.url ?? '/'), String(res.statusCode)).observe(s);
      } catch {
        /* never fail a request for metrics */
      }
    });
  });
}

async function updateActiveUsers(hub: Hub): Promise<void> {
  const now = Date.now();
  for (const [period, days] of [
    ['24h', 1],
    ['7d', 7],
    ['30d', 30],
  ] as const) {
    const since = new Date(now - days * 86400_000).toISOString();
    const r = await hub.db.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('last_activity', '>=', since).executeTakeFirst();
    metrics.activeUsers.labels(period).set(Number(r?.n ?? 0));
  }
}

let loopTimer: NodeJS.Timeout | null = null;

export const metricsModule: HubModule = {
  name: 'metrics',
  async init(hub) {
    const n = await hub.db.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    metrics.totalUsers.set(Number(n?.n ?? 0));
    const running = await hub.db.db.selectFrom('spawners').select((eb) => eb.fn.countAll<number>().as('n')).where('url', 'is not', null).executeTakeFirst();
    metrics.runningServers.set(Number(running?.n ?? 0));
  },
  routes(app, hub) {
    instrumentServer(hub);
    const handler = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      if (hub.config.get<boolean>('JupyterHub', 'authenticate_prometheus')) {
        let ok = false;
        try {
          const auth = await hub.rbac.identify(req, { api: false });
          ok = auth.parsed.has('read:metrics');
        } catch {
          ok = false;
        }
        if (!ok) throw new HttpError(403, "Access to metrics requires scope 'read:metrics'");
      }
      return reply.header('Content-Type', registry.contentType).send(await registry.metrics());
    };
    // Served as a page handler (HTML errors) under {hub}metrics and {hub}api/metrics.
    app.get(`${hub.hubPrefix}metrics`, handler);
    app.get(`${hub.hubPrefix}api/metrics`, async (req, reply) => {
      try {
        return await handler(req, reply);
      } catch (e) {
        if (e instanceof HttpError) {
          const { renderError } = await import('../web/render.js');
          return renderError(hub, req, reply, e.status, e.message);
        }
        throw e;
      }
    });
  },
  async start(hub) {
    await updateActiveUsers(hub).catch((e) => log.warn(`active users: ${(e as Error).message}`));
    let interval = 3600;
    try {
      interval = Number(hub.config.get<number>('PeriodicMetricsCollector', 'active_users_update_interval')) || 3600;
    } catch {
      /* PeriodicMetricsCollector traits not declared: default */
    }
    hub.every(interval, () => updateActiveUsers(hub));
    const res = 0.05;
    let last = process.hrtime.bigint();
    loopTimer = setInterval(() => {
      const now = process.hrtime.bigint();
      let d = Number(now - last) / 1e9;
      last = now;
      if (d < 2 * res) d = res;
      metrics.eventLoopInterval.observe(d);
      if (d >= 1) log.warn(`Event loop was unresponsive for at least ${d.toFixed(2)}s!`);
    }, res * 1000);
    loopTimer.unref();
  },
  stop() {
    if (loopTimer) clearInterval(loopTimer);
    loopTimer = null;
  },
};
