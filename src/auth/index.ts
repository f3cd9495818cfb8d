/**
 * The authentication module: picks the authenticator from JupyterHub.authenticator_class,
 * checks its configuration, loads users (JupyterHub.init_users) and registers the login,
 * logout and authenticator routes. Other modules use `hub.authenticator`:
 *
 *   hub.authenticator.refreshAuth(user, {force})  → UserRow | null  (null: must log in again)
 *   hub.authenticator.preSpawnStart(user, spawner) / postSpawnStop(user, spawner)
 *   hub.authenticator.getAuthState(user) / setAuthState(user, state)
 *   hub.authenticator.addUser(user) / deleteUser(user)   (REST API user creation/deletion)
 *   hub.authenticator.refreshPreSpawn / refreshPreStop / manageGroups / manageRoles
 */
import { ConfigError } from '../config/errors.js';
import { resolveClassAlias } from '../config/schema.js';
import type { Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import { Authenticator, log } from './base.js';
import { LocalAuthenticator } from './local.js';
import { PAMAuthenticator } from './pam.js';
import { DummyAuthenticator, NullAuthenticator, SharedPasswordAuthenticator } from './simple.js';
import { GenericOAuthenticator, LocalGenericOAuthenticator } from './oauth.js';
import { initBlockedUsers, initGroups, initUsers } from './users.js';
import { loginRoutes } from './login.js';

export { Authenticator } from './base.js';
export type { AuthModel, AuthContext, RefreshResult } from './base.js';

declare module '../hub/app.js' {
  interface Hub {
    authenticator: Authenticator;
  }
}

type AuthClass = new (hub: Hub, cls: string) => Authenticator;

/** Implemented authenticator classes by config class name (a function: modules may load in a cycle). */
export const authenticators = (): Record<string, AuthClass> => ({
  Authenticator,
  LocalAuthenticator,
  PAMAuthenticator,
  DummyAuthenticator,
  SharedPasswordAuthenticator,
  NullAuthenticator,
  GenericOAuthenticator,
  LocalGenericOAuthenticator,
});

/** Build the configured authenticator (not yet initialized). */
export function createAuthenticator(hub: Hub): Authenticator {
  const v = hub.config.get<unknown>('JupyterHub', 'authenticator_class');
  if (typeof v === 'function') {
    // a class from a JS/TS config: a subclass of one of ours (import from jhub's dist/src/auth/*.js)
    const C = v as unknown as AuthClass & { configClass?: string };
    if (!(C.prototype instanceof Authenticator) && C !== (Authenticator as unknown))
      throw new ConfigError('JupyterHub.authenticator_class: a class given in a JS/TS config must extend one of jhub\'s authenticators');
    let base: unknown = C;
    while (base && !Object.values(authenticators()).includes(base as AuthClass)) base = Object.getPrototypeOf(base);
    const section = C.configClass ?? (base as { name?: string } | null)?.name ?? 'Authenticator';
    return new C(hub, section);
  }
  const def = resolveClassAlias('authenticator', String(v ?? 'PAMAuthenticator'));
  const Impl = authenticators()[def.name];
  if (!Impl) throw new ConfigError(`${def.name} is not available yet in jhub`);
  return new Impl(hub, def.name);
}

export const authModule: HubModule = {
  name: 'auth',
  async init(hub: Hub) {
    // created by the rbac module already when it runs first (load_roles, load_managed_roles)
    const auth = (hub as Partial<Hub>).authenticator ?? createAuthenticator(hub);
    hub.authenticator = auth;
    log.info(`Using Authenticator: ${auth.cls}`);
    await auth.init();
    auth.checkAllowConfig();
    await initUsers(hub);
    await initGroups(hub);
    // after load_roles / api_tokens (rbac module) and init_users, as JupyterHub.init_blocked_users
    await initBlockedUsers(hub);
  },
  async routes(app, hub: Hub) {
    await loginRoutes(app, hub);
  },
};
