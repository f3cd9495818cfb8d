/**
 * The Authenticator: JupyterHub's `jupyterhub.auth.Authenticator` API and its 5.x allow
 * logic (config.md §5.1). Subclasses override `authenticate` (and the other hooks); the hub
 * calls `getAuthenticatedUser`, `addUser`, `deleteUser`, `refreshAuth`, `preSpawnStart`...
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../config/errors.js';
import type { Hub } from '../hub/app.js';
import type { SpawnerRow, UserRow } from '../db/schema.js';
import { getLogger } from '../util/log.js';
import { CryptError } from '../util/crypto.js';
import { applyAuthModel, findUser } from './users.js';
import type { RoleSpec } from '../rbac/roles.js';

export const log = getLogger('JupyterHub', 'auth');

/** What `authenticate` / `refreshUser` return (JupyterHub's "auth model"). */
export interface AuthModel {
  name: string;
  /** true/false sets the admin flag; null/undefined leaves it unchanged. */
  admin?: boolean | null;
  /** Group names (required when manage_groups is on). */
  groups?: string[] | null;
  /**
   * Roles when manage_roles is on: role definitions as in load_roles ({name, description?,
   * scopes?, users?, groups?, services?}; a plain name is accepted too). The user's roles
   * become exactly these (rbac.md §8.3).
   */
  roles?: (string | RoleDefinition)[] | null;
  auth_state?: Record<string, unknown> | null;
  [k: string]: unknown;
}

/** A role definition (JupyterHub.load_roles format), as returned by load_managed_roles() or in an auth model. */
export type RoleDefinition = RoleSpec & { [k: string]: unknown };

/**
 * The "handler" given to authenticator methods and hooks (JupyterHub passes the Tornado
 * handler): the request, the reply and the hub. Null outside a request (start-up, spawns).
 */
export interface AuthContext {
  hub: Hub;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type RefreshResult = boolean | AuthModel;

/** Anything that calls a hook from a JS/TS config: awaits promises, passes plain values. */
async function callHook<T>(fn: unknown, ...args: unknown[]): Promise<T> {
  return (await (fn as (...a: unknown[]) => unknown)(...args)) as T;
}

export function truncateName(name: unknown): string {
  const s = String(name ?? '').replace(/[\x00-\x1f\x7f]/g, '?');
  return s.length > 32 ? `${s.slice(0, 16)}...(${s.length} chars)` : s;
}

export class Authenticator {
  /** The config section this authenticator reads (most specific class first). */
  readonly cls: string;
  allowedUsers = new Set<string>();
  adminUsers = new Set<string>();
  blockedUsers = new Set<string>();
  /** monotonic ms of the last successful refresh, per user name */
  private refreshed = new Map<string, number>();

  constructor(
    readonly hub: Hub,
    cls: string,
  ) {
    this.cls = cls;
  }

  /** A trait of this authenticator's class (the most specific section wins). */
  cfg<T>(trait: string): T {
    return this.hub.config.get<T>(this.cls, trait);
  }
  cfgSet(trait: string): Set<string> {
    const v = this.cfg<unknown>(trait);
    if (v instanceof Set) return new Set([...v].map(String));
    if (Array.isArray(v)) return new Set(v.map(String));
    if (v && typeof v === 'object') return new Set(Object.keys(v));
    return new Set();
  }

  get allowAll(): boolean {
    return !!this.cfg<boolean>('allow_all');
  }
  get allowExistingUsers(): boolean {
    return !!this.cfg<boolean>('allow_existing_users');
  }
  get manageGroups(): boolean {
    return !!this.cfg<boolean>('manage_groups');
  }
  get manageRoles(): boolean {
    return !!this.cfg<boolean>('manage_roles');
  }
  get resetManagedRolesOnStartup(): boolean {
    return !!this.cfg<boolean>('reset_managed_roles_on_startup');
  }
  get enableAuthState(): boolean {
    return !!this.cfg<boolean>('enable_auth_state');
  }
  get autoLogin(): boolean {
    return !!this.cfg<boolean>('auto_login');
  }
  get authRefreshAge(): number {
    return Number(this.cfg<number>('auth_refresh_age') ?? 300);
  }
  get refreshPreSpawn(): boolean {
    return !!this.cfg<boolean>('refresh_pre_spawn');
  }
  get refreshPreStop(): boolean {
    return !!this.cfg<boolean>('refresh_pre_stop');
  }
  get requestOtp(): boolean {
    return !!this.cfg<boolean>('request_otp');
  }
  get otpPrompt(): string {
    return String(this.cfg<unknown>('otp_prompt') ?? 'OTP:');
  }
  /** Non-empty: the login page shows a "Sign in with <login_service>" button instead of a form. */
  get loginService(): string {
    return '';
  }
  /** Whether there is a login page at all (NullAuthenticator: no). */
  get hasLogin(): boolean {
    return true;
  }
  /** Extra HTML replacing the default login form (JupyterHub's custom_html). */
  customHtml(): string {
    return '';
  }

  /**
   * Check the configuration: throw ConfigError for what JupyterHub refuses at start-up,
   * log warnings for suspicious settings. Subclasses call super.
   */
  async init(): Promise<void> {
    const pattern = this.cfg<string>('username_pattern');
    if (pattern) {
      try {
        new RegExp(pattern);
      } catch (e) {
        throw new ConfigError(`Authenticator.username_pattern is not a valid regular expression: ${(e as Error).message}`);
      }
    }
    if (this.enableAuthState && !this.hub.crypt?.available)
      throw new ConfigError('auth_state is enabled, but encryption is not available: Encryption keys must be specified in JUPYTERHUB_CRYPT_KEY env (openssl rand -hex 32)');
    this.blockedUsers = this.cfgSet('blocked_users');
  }

  checkAllowConfig(): void {
    if (!this.cfg<boolean>('any_allow_config') && !this.hasOtherAllowConfig())
      log.warn(
        "No allow config found, it's possible that nobody can login to your Hub! " +
          'You can set `c.Authenticator.allow_all = True` to allow any user who can login to access the Hub, ' +
          'or e.g. `allowed_users` to a set of users who should have access. ' +
          'You may suppress this warning by setting c.Authenticator.any_allow_config = True.',
      );
  }
  /** Authenticator-specific allow rules (allowed_groups...) for the start-up warning. */
  protected hasOtherAllowConfig(): boolean {
    return false;
  }

  /** Lower-case, then username_map (or the configured normalize_username function). */
  normalizeUsername(username: string): string {
    const fn = this.cfg<unknown>('normalize_username');
    // `this`: a Python subclass's normalize_username (through the Python bridge) gets it as `self`
    if (typeof fn === 'function') return String((fn as (this: Authenticator, n: string) => unknown).call(this, username));
    const lower = username.toLowerCase();
    const map = this.cfg<Record<string, string>>('username_map') ?? {};
    return Object.prototype.hasOwnProperty.call(map, lower) ? String(map[lower]) : lower;
  }

  /** Normalization of a name that just authenticated (may consult the system: PAM). */
  async normalizeLoginName(username: string): Promise<string> {
    return this.normalizeUsername(username);
  }

  validateUsername(username: string): boolean {
    let unquoted = username;
    try {
      unquoted = decodeURIComponent(username);
    } catch {
      /* keep */
    }
    if (!username || username.includes('/')) return false;
    if (/^\.+$/.test(username) || /^\.+$/.test(unquoted)) return false;
    if (username !== username.trim()) return false;
    const pattern = this.cfg<string>('username_pattern');
    if (!pattern) return true;
    // Python's re.match: anchored at the start only
    const m = new RegExp(pattern).exec(username);
    return !!m && m.index === 0;
  }

  /** Override: turn login form data (or an OAuth callback) into a user name or model; null = failed. */
  async authenticate(_ctx: AuthContext | null, _data: Record<string, string>): Promise<AuthModel | string | null> {
    return null;
  }

  /**
   * The configured `authenticate` function (jhub extension: what a Python subclass overriding
   * `authenticate` becomes, or a function in a JS/TS config), called as a method; else this
   * class's `authenticate`.
   */
  protected runAuthenticate(ctx: AuthContext | null, data: Record<string, string>): Promise<AuthModel | string | null> {
    const fn = this.cfg<unknown>('authenticate');
    if (typeof fn === 'function') return callHook<AuthModel | string | null>((fn as (...a: unknown[]) => unknown).bind(this), ctx, data);
    return this.authenticate(ctx, data);
  }

  /**
   * Role definitions (load_roles format, may list users, groups and services) that the
   * authenticator manages, loaded at every start-up when manage_roles is on (JupyterHub 5's
   * `load_managed_roles`). Override in a subclass, or set the `load_managed_roles` option
   * (a Python subclass's `load_managed_roles` method becomes it).
   */
  async loadManagedRoles(): Promise<unknown> {
    if (!this.manageRoles) throw new ConfigError('Managed roles can only be loaded when Authenticator.manage_roles is True');
    const fn = this.cfg<unknown>('load_managed_roles');
    if (typeof fn === 'function') return callHook<unknown>((fn as (...a: unknown[]) => unknown).bind(this));
    if (this.resetManagedRolesOnStartup)
      throw new ConfigError(
        `Authenticator.reset_managed_roles_on_startup = True needs an authenticator that implements load_managed_roles() (${this.cls} does not): ` +
          'with the default (no roles) every managed role and role assignment would be removed at each start-up',
      );
    return [];
  }

  checkBlockedUsers(username: string, _model?: AuthModel): boolean | Promise<boolean> {
    return !this.blockedUsers.has(username);
  }

  checkAllowed(username: string, _model?: AuthModel): boolean | Promise<boolean> {
    if (this.allowAll) return true;
    return this.allowedUsers.has(username);
  }

  isAdmin(_ctx: AuthContext | null, model: AuthModel): boolean | null | Promise<boolean | null> {
    return this.adminUsers.has(model.name) ? true : null;
  }

  /**
   * JupyterHub's get_authenticated_user: authenticate → normalize → validate → blocked →
   * allowed → admin → post_auth_hook. Null when login must fail (reason logged).
   */
  async getAuthenticatedUser(ctx: AuthContext | null, data: Record<string, string>): Promise<AuthModel | null> {
    const got = await this.runAuthenticate(ctx, data);
    if (got === null || got === undefined) return null;
    const model: AuthModel = typeof got === 'string' ? { name: got } : { ...got };
    if (typeof model.name !== 'string') throw new Error('authenticator returned a user without a name');
    if (!('auth_state' in model)) model.auth_state = null;
    if (model.admin === undefined) model.admin = null;
    let username: string;
    try {
      username = model.name = await this.normalizeLoginName(model.name);
    } catch (e) {
      log.warn(`Disallowing username '${truncateName(model.name)}': ${(e as Error).message}`);
      return null;
    }
    if (!this.validateUsername(username)) {
      log.warn(`Disallowing invalid username '${truncateName(username)}'.`);
      return null;
    }
    if (!(await this.checkBlockedUsers(username, model))) {
      log.warn(`User '${truncateName(username)}' blocked. Stop authentication`);
      return null;
    }
    let allowed = this.allowAll;
    if (!allowed) allowed = await this.checkAllowed(username, model);
    if (!allowed) {
      log.warn(`User '${truncateName(username)}' not allowed.`);
      return null;
    }
    if (model.admin === null) model.admin = await this.isAdmin(ctx, model);
    return this.runPostAuthHook(ctx, model);
  }

  async runPostAuthHook(ctx: AuthContext | null, model: AuthModel): Promise<AuthModel> {
    const hook = this.cfg<unknown>('post_auth_hook');
    if (typeof hook !== 'function') return model;
    const out = await callHook<AuthModel>(hook, this, ctx, model);
    if (!out || typeof out !== 'object' || typeof out.name !== 'string') throw new Error('post_auth_hook must return the auth model');
    return out;
  }

  /** true: up to date; false: the user must log in again; a model: apply these changes. */
  async refreshUser(_user: UserRow, _ctx?: AuthContext | null): Promise<RefreshResult> {
    return true;
  }

  /**
   * JupyterHub's BaseHandler.refresh_auth: call refreshUser when auth_refresh_age has
   * passed (or `force`), apply the result. Returns the (updated) user, or null when the
   * user must log in again.
   */
  async refreshAuth(user: UserRow, opts: { force?: boolean; ctx?: AuthContext | null } = {}): Promise<UserRow | null> {
    const age = this.authRefreshAge;
    if (!age && !opts.force) return user;
    const now = performance.now();
    const last = this.refreshed.get(user.name);
    if (!opts.force && last !== undefined && now - last < age * 1000) return user;
    let result: RefreshResult;
    try {
      result = await this.refreshUser(user, opts.ctx ?? null);
    } catch (e) {
      log.error(`Error refreshing auth for ${user.name}: ${(e as Error).message}`);
      result = false;
    }
    if (!result) {
      log.warn(`User ${user.name} has stale auth info. Login is required to refresh.`);
      this.refreshed.delete(user.name);
      return null;
    }
    this.refreshed.set(user.name, performance.now());
    if (result === true) return user;
    const updated = await applyAuthModel(this.hub, { ...result, name: result.name ?? user.name }, user);
    return updated;
  }
  /** Record that a user has just authenticated (fresh auth info). */
  markRefreshed(name: string): void {
    this.refreshed.set(name, performance.now());
  }

  /** Before a server starts (PAM sessions; OAuth refresh_pre_spawn is done by refreshAuth). */
  async preSpawnStart(_user: UserRow, _spawner?: SpawnerRow | unknown): Promise<void> {}
  async postSpawnStop(_user: UserRow, _spawner?: SpawnerRow | unknown): Promise<void> {}

  /**
   * Called for every user added to the hub (login, start-up, API). Throws when the user is
   * not valid for this authenticator. Adds the user to allowed_users with allow_existing_users.
   */
  async addUser(user: Pick<UserRow, 'name'>): Promise<void> {
    if (!this.validateUsername(user.name)) throw new Error(`Invalid username: ${user.name}`);
    if (this.allowExistingUsers && !this.allowAll) this.allowedUsers.add(user.name);
  }

  async deleteUser(user: Pick<UserRow, 'name'>): Promise<void> {
    this.allowedUsers.delete(user.name);
    this.refreshed.delete(user.name);
  }

  loginUrl(hubPrefix: string): string {
    return hubPrefix + 'login';
  }
  logoutUrl(hubPrefix: string): string {
    return hubPrefix + 'logout';
  }
  /** Where to send the browser after hub logout (OAuth logout_redirect_url); '' = the default. */
  logoutRedirectUrl(): string {
    return '';
  }

  /** Register extra routes (e.g. {hub}oauth_login, {hub}oauth_callback). */
  async getHandlers(_app: FastifyInstance): Promise<void> {}

  // --- auth_state (config.md §6.2): Fernet with JUPYTERHUB_CRYPT_KEY in users.encrypted_auth_state

  async getAuthState(user: Pick<UserRow, 'id' | 'name'>): Promise<Record<string, unknown> | null> {
    const row = await this.hub.db.db.selectFrom('users').select('encrypted_auth_state').where('id', '=', user.id).executeTakeFirst();
    const enc = row?.encrypted_auth_state;
    if (!enc) return null;
    try {
      return this.hub.crypt.decrypt(enc) as Record<string, unknown>;
    } catch (e) {
      log.error(`Failed to retrieve encrypted auth_state for ${user.name} because ${e instanceof CryptError ? e.message : (e as Error).message}`);
      return null;
    }
  }

  async setAuthState(user: Pick<UserRow, 'id' | 'name'>, state: Record<string, unknown> | null): Promise<void> {
    let enc: string | null = null;
    if (state !== null && state !== undefined) {
      if (!this.hub.crypt?.available) {
        log.warn(`Not saving auth_state for ${user.name}: encryption is not available (set JUPYTERHUB_CRYPT_KEY)`);
        return;
      }
      enc = this.hub.crypt.encrypt(state);
    }
    await this.hub.db.db.updateTable('users').set({ encrypted_auth_state: enc }).where('id', '=', user.id).execute();
  }

  /** Look up a user row by (already normalized) name. */
  findUser(name: string): Promise<UserRow | null> {
    return findUser(this.hub, name);
  }
}
