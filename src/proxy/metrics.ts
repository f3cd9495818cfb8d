// Prometheus metrics with CHP's metric names (prom-client is loaded only when enabled).
import type * as PromClient from 'prom-client';

export interface ProxyMetrics {
  readonly contentType: string;
  render(): Promise<string>;
  apiRouteGet: { inc(): void };
  apiRouteAdd: { inc(): void };
  apiRouteDelete: { inc(): void };
  findTargetForReq: { startTimer(): () => void };
  lastActivityUpdating: { startTimer(): () => void };
  requestsWs: { inc(): void };
  requestsWeb: { inc(): void };
  requestsProxy: { inc(status: number): void };
  requestsApi: { inc(status: number): void };
}

export async function createMetrics(): Promise<ProxyMetrics> {
  const client: typeof PromClient = await import('prom-client');
  const register = new client.Registry();
  client.collectDefaultMetrics({ register });
  const counter = (name: string, help: string) =>
    new client.Counter({ name, help, registers: [register] });
  const summary = (name: string, help: string) =>
    new client.Summary({ name, help, registers: [register] });
  const proxyCount = new client.Counter({
    name: 'requests_proxy',
    help: 'Count of proxy requests',
    labelNames: ['status'],
    registers: [register],
  });
  const apiCount = new client.Counter({
    name: 'requests_api',
    help: 'Count of API requests',
    labelNames: ['status'],
    registers: [register],
  });
  const apiRouteGet = counter('api_route_get', 'Count of API route get requests');
  const apiRouteAdd = counter('api_route_add', 'Count of API route add requests');
  const apiRouteDelete = counter('api_route_delete', 'Count of API route delete requests');
  const findTarget = summary('find_target_for_req', 'Summary of find target requests');
  const lastActivity = summary('last_activity_updating', 'Summary of last activity updating requests');
  const requestsWs = counter('requests_ws', 'Count of websocket requests');
  const requestsWeb = counter('requests_web', 'Count of web requests');
  return {
    contentType: register.contentType,
    render: () => register.metrics(),
    apiRouteGet,
    apiRouteAdd,
    apiRouteDelete,
    findTargetForReq: findTarget,
    lastActivityUpdating: lastActivity,
    requestsWs,
    requestsWeb,
    requestsProxy: { inc: (status) => proxyCount.labels(String(status)).inc() },
    requestsApi: { inc: (status) => apiCount.labels(String(status)).inc() },
  };
}
