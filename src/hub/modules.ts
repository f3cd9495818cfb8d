/**
 * The hub is assembled from modules: each adds its state to the Hub (by declaration
 * merging on `interface Hub`), its HTTP routes, and its start/stop steps. The order here
 * is the order of init/routes/start; stop runs in reverse.
 */
import type { FastifyInstance } from 'fastify';
import type { Hub } from './app.js';
import { webModule } from '../web/index.js';
import { rbacModule } from '../rbac/index.js';
import { metricsModule } from '../metrics/index.js';
import { apiModule } from '../api/index.js';
import { authModule } from '../auth/index.js';
import { pagesModule } from '../web/pages.js';
import { servicesModule, servicesLegacyModule } from '../services/index.js';
import { oauthModule } from '../oauth/index.js';
import { spawnModule } from '../spawners/index.js';

export interface HubModule {
  name: string;
  /** After config, secrets and the database; before the HTTP server exists. */
  init?(hub: Hub): Promise<void> | void;
  /** Register HTTP routes on the hub's server (paths are absolute: use hub.hubPrefix / hub.baseUrl). */
  routes?(app: FastifyInstance, hub: Hub): Promise<void> | void;
  /** After the hub listens and the proxy is up. */
  start?(hub: Hub): Promise<void> | void;
  /** On shutdown, in reverse order. */
  stop?(hub: Hub): Promise<void> | void;
}

export const modules: HubModule[] = [
  webModule,
  // services before rbac: `services` rows must exist when load_roles names them
  servicesModule,
  rbacModule,
  metricsModule,
  apiModule,
  authModule,
  pagesModule,
  oauthModule,
  spawnModule,
  // last: legacy {hub}api/authorizations/* endpoints, unless another module serves them
  servicesLegacyModule,
];
