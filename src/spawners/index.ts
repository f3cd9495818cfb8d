/**
 * The spawning module: `hub.servers` (SpawnManager), the spawn pages, restart recovery,
 * route/activity reconciliation every `last_activity_interval`, and `cleanup_servers` at
 * shutdown.
 */
import type { HubModule } from '../hub/modules.js';
import { SpawnManager } from './manager.js';
import { registerPages } from './pages.js';

export { SpawnManager, SPAWNER_CLASSES, escapeName } from './manager.js';
export { Spawner, SpawnError, type SpawnerInit, type SpawnerClass } from './base.js';
export { LocalProcessSpawner, SimpleLocalProcessSpawner, SudoSpawner } from './localprocess.js';

export const spawnModule: HubModule = {
  name: 'spawn',
  init(hub) {
    const mgr = new SpawnManager(hub);
    hub.servers = mgr;
    hub.routeRestorers.push(() => mgr.restoreRoutes());
  },
  routes(app, hub) {
    registerPages(app, hub);
  },
  async start(hub) {
    const mgr = hub.servers as SpawnManager;
    await mgr.restore();
    hub.every(hub.config.get<number>('JupyterHub', 'last_activity_interval'), () => mgr.reconcile());
  },
  async stop(hub) {
    const mgr = hub.servers as SpawnManager | undefined;
    if (mgr instanceof SpawnManager) await mgr.shutdown();
  },
};
