/**
 * Services (singleuser-and-services.md §4, §10): the hub module, and the Node library for
 * writing services (`HubAuth` / `HubOAuth`, see ./hubauth.ts).
 *
 * Hub API other modules use:
 *   hub.services                     ServiceRegistry: get(name), all(), displayed(), isNoConfirm(clientId),
 *                                    byClientId(id), create(name, body) / remove(name) for the runtime API
 *   hub.serviceModels()              Promise<ServiceModel[]> (rest-api.md §6.5, unfiltered)
 *   ensureServices(hub)              make `services` rows agree with the config (idempotent)
 */
import type { Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import { ServiceRegistry, type ServiceModel } from './registry.js';
import { legacyRoutes } from './legacy.js';

export { ServiceRegistry, Service, type ServiceModel, type ServiceLink, SERVICE_ENV_KEEP } from './registry.js';
export { parseServiceSpec, parseServiceSpecs, type ServiceSpec, SERVICE_FIELDS } from './spec.js';
export * from './hubauth.js';

declare module '../hub/app.js' {
  interface Hub {
    services: ServiceRegistry;
    serviceModels: () => Promise<ServiceModel[]>;
  }
}

const initialized = new WeakSet<Hub>();

/** Create/update/delete the services rows (and tokens, OAuth clients) from config. Idempotent. */
export async function ensureServices(hub: Hub): Promise<ServiceRegistry> {
  if (!hub.services) {
    hub.services = new ServiceRegistry(hub);
    hub.serviceModels = () => hub.services.models();
  }
  if (!initialized.has(hub)) {
    initialized.add(hub);
    await hub.services.init();
  }
  return hub.services;
}

/**
 * The legacy `{hub}api/authorizations/...` endpoints (./legacy.ts). Listed last in
 * src/hub/modules.ts: routes another module already serves are left to it.
 */
export const servicesLegacyModule: HubModule = {
  name: 'services-legacy',
  routes(app, hub) {
    legacyRoutes(app, hub);
  },
};

export const servicesModule: HubModule = {
  name: 'services',
  async init(hub) {
    await ensureServices(hub);
  },
  async start(hub) {
    try {
      await hub.services.start();
    } catch (e) {
      await hub.services.stop();
      throw e;
    }
  },
  async stop(hub) {
    await hub.services?.stop();
  },
};
