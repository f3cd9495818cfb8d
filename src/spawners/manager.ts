/**
 * The spawn machinery (`hub.servers`, the `ServerManager` contract of src/hub/servers.ts):
 * server records, API token and OAuth client per server, the environment of
 * singleuser-and-services.md §3, readiness check (§7.1), proxy routes (§9.1), progress
 * events (rest-api.md §8.10), liveness polling, throttling, restart recovery and the
 * periodic route/activity reconciliation.
 *
 * In-memory state per server (pending action, readiness, progress history) lives in
 * `entries`; everything a restarted hub needs is in the `spawners` table (url, state).
 */
import { metrics } from '../metrics/index.js';
import { HttpError, type Hub } from '../hub/app.js';
import type { SpawnerRow, UserRow } from '../db/schema.js';
import type { PendingAction, ProgressEvent, ServerManager, ServerModel, StartResult, StopResult } from '../hub/servers.js';
import { createApiToken } from '../hub/tokens.js';
import { getLogger } from '../util/log.js';
import { resolveClassAlias } from '../config/schema.js';
import { Spawner, SpawnError, sleep, type SpawnerClass } from './base.js';
import { LocalProcessSpawner, SimpleLocalProcessSpawner, SudoSpawner } from './localprocess.js';
import { deleteOAuthClient, deleteOAuthClientRows, oauthClientChanged, writeOAuthClient } from '../oauth/clients.js';
import { newToken } from '../util/crypto.js';
import { parseScopes, type Resource } from '../rbac/scopes.js';
import { probeStatus } from '../util/http.js';

const log = getLogger('JupyterHub', 'spawn');

/** Built-in spawner classes by configuration class name. */
export const SPAWNER_CLASSES: Record<string, SpawnerClass> = {
  Spawner: LocalProcessSpawner,
  LocalProcessSpawner,
  SimpleLocalProcessSpawner,
  SudoSpawner,
};

/** Percent-escape a name for URLs (only unreserved characters plus @ and ~ stay). */
export function escapeName(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%40/g, '@');
}
/** Percent-escape with nothing safe beyond unreserved characters (client ids: a@b → a%40b). */
function quoteAll(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
/** Python's json.dumps of a list of strings (", " separators). */
function pyJsonList(l: string[]): string {
  return '[' + l.map((x) => JSON.stringify(x)).join(', ') + ']';
}

interface AuthenticatorLike {
  cls?: string;
  preSpawnStart?(user: UserRow, spawner?: unknown): Promise<void>;
  postSpawnStop?(user: UserRow, spawner?: unknown): Promise<void>;
  refreshAuth?(user: UserRow, opts?: { force?: boolean }): Promise<UserRow | null>;
  getAuthState?(user: Pick<UserRow, 'id' | 'name'>): Promise<Record<string, unknown> | null>;
}

export interface Entry {
  key: string;
  userId: number;
  userName: string;
  name: string;
  spawnerId: number;
  spawner: Spawner;
  pending: PendingAction;
  ready: boolean;
  /** Progress of the current or last spawn; ends with the final event when `finished`. */
  events: ProgressEvent[];
  finished: boolean;
  failed: boolean;
  cancelled: boolean;
  listeners: Set<() => void>;
  spawnPromise: Promise<void> | null;
  stopPromise: Promise<void> | null;
  pollTimer: NodeJS.Timeout | null;
  /** Route target while ready. */
  url: string | null;
}

/** What `p` resolves to, or `late` after `ms` (the timer does not outlive `p`). */
function orAfter<T, U>(p: Promise<T>, ms: number, late: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<U>((r) => (timer = setTimeout(() => r(late), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function keyOf(userId: number, name: string): string {
  return `${userId}/${name}`;
}

export class SpawnManager implements ServerManager {
  readonly entries = new Map<string, Entry>();
  private spawnerClass: SpawnerClass;
  private configClass: string;
  private closed = false;

  constructor(readonly hub: Hub) {
    const v = hub.config.get<unknown>('JupyterHub', 'spawner_class');
    if (typeof v === 'function') {
      this.spawnerClass = v as SpawnerClass;
      this.configClass = (v as { configClass?: string }).configClass ?? (v as { name: string }).name;
    } else {
      const def = resolveClassAlias('spawner', String(v || 'LocalProcessSpawner'));
      const cls = SPAWNER_CLASSES[def.name];
      if (!cls) throw new HttpError(500, `Spawner class ${def.name} is not available in jhub yet`);
      this.spawnerClass = cls;
      this.configClass = def.name;
    }
  }

  private get auth(): AuthenticatorLike | undefined {
    return (this.hub as unknown as { authenticator?: AuthenticatorLike }).authenticator;
  }

  // ---- URLs -------------------------------------------------------------------------
  serverPrefix(userName: string, name: string): string {
    return `${this.hub.baseUrl}user/${escapeName(userName)}/${name ? escapeName(name) + '/' : ''}`;
  }
  clientId(userName: string, name: string): string {
    return `jupyterhub-user-${quoteAll(userName)}${name ? '-' + quoteAll(name) : ''}`;
  }
  progressUrl(userName: string, name: string): string {
    return `${this.hub.hubPrefix}api/users/${escapeName(userName)}/${name ? `servers/${escapeName(name)}` : 'server'}/progress`;
  }
  private publicOrigin(): string {
    if (!this.hub.publicUrl) return '';
    const u = new URL(this.hub.publicUrl);
    return `${u.protocol}//${u.host}`;
  }
  logName(userName: string, name: string): string {
    return name ? `${userName}:${name}` : userName;
  }

  // ---- entries ----------------------------------------------------------------------
  private newSpawner(user: UserRow, row: SpawnerRow): Spawner {
    const sp = new this.spawnerClass({ hub: this.hub, user, name: row.name, id: row.id, configClass: this.configClass });
    sp.serverPrefix = this.serverPrefix(user.name, row.name);
    sp.oauthClientId = this.clientId(user.name, row.name);
    try {
      sp.loadState(JSON.parse(row.state || '{}'));
    } catch {
      /* bad state: ignore */
    }
    try {
      sp.userOptions = JSON.parse(row.user_options || '{}');
    } catch {
      sp.userOptions = {};
    }
    return sp;
  }

  private entryFor(user: UserRow, row: SpawnerRow): Entry {
    const key = keyOf(user.id, row.name);
    let e = this.entries.get(key);
    if (!e) {
      e = {
        key, userId: user.id, userName: user.name, name: row.name, spawnerId: row.id,
        spawner: this.newSpawner(user, row),
        pending: null, ready: false, events: [], finished: false, failed: false, cancelled: false,
        listeners: new Set(), spawnPromise: null, stopPromise: null, pollTimer: null, url: null,
      };
      this.entries.set(key, e);
    }
    return e;
  }

  private emit(e: Entry, ev: ProgressEvent, final = false): void {
    e.events.push(ev);
    if (final) e.finished = true;
    for (const l of [...e.listeners]) l();
  }

  private async row(userId: number, name: string): Promise<SpawnerRow | undefined> {
    return this.hub.db.db.selectFrom('spawners').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  }

  private tornado<T>(k: string, dflt: T): T {
    const t = this.hub.config.get<Record<string, unknown>>('JupyterHub', 'tornado_settings') ?? {};
    return (t[k] as T) ?? dflt;
  }

  private countPendingSpawns(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.pending === 'spawn') n++;
    return n;
  }
  private countActive(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.ready || e.pending) n++;
    return n;
  }

  // ---- ServerManager ------------------------------------------------------------------
  pending(userId: number, serverName: string): PendingAction {
    return this.entries.get(keyOf(userId, serverName))?.pending ?? null;
  }
  ready(userId: number, serverName: string): boolean {
    const e = this.entries.get(keyOf(userId, serverName));
    return !!e && e.ready && !e.pending;
  }
  /** Whether the last spawn of this server failed (and no new spawn happened since). */
  failed(userId: number, serverName: string): boolean {
    const e = this.entries.get(keyOf(userId, serverName));
    return !!e && e.failed && !e.pending && !e.ready;
  }
  /** A spawner for a server without a record yet (options form before the first start). */
  transientSpawner(user: UserRow, name: string): Spawner {
    return this.newSpawner(user, { id: 0, user_id: user.id, name, state: '{}', url: null, started: null, last_activity: null, user_options: '{}' });
  }
  /** The spawner object of a server (pages: options form), creating the record's entry. */
  spawnerFor(user: UserRow, row: SpawnerRow): Spawner {
    return this.entryFor(user, row).spawner;
  }

  model(user: UserRow, row: SpawnerRow, opts: { includeState?: boolean } = {}): ServerModel {
    const e = this.entries.get(keyOf(user.id, row.name));
    const prefix = this.serverPrefix(user.name, row.name);
    const pending = e?.pending ?? null;
    const ready = !!e && e.ready && !pending;
    const origin = this.publicOrigin();
    let userOptions: Record<string, unknown> | null = null;
    try {
      userOptions = JSON.parse(row.user_options || '{}');
    } catch {
      userOptions = {};
    }
    const progressUrl = this.progressUrl(user.name, row.name);
    const m: ServerModel = {
      name: row.name,
      full_name: `${user.name}/${row.name}`,
      last_activity: row.last_activity,
      started: row.started,
      pending,
      ready,
      stopped: !ready && !pending,
      url: prefix,
      user_options: userOptions,
      progress_url: progressUrl,
      full_url: origin ? origin + prefix : null,
      full_progress_url: origin ? origin + progressUrl : null,
    };
    if (opts.includeState) {
      try {
        m.state = JSON.parse(row.state || '{}');
      } catch {
        m.state = {};
      }
    }
    return m;
  }

  async start(user: UserRow, serverName: string, options: Record<string, unknown> | undefined): Promise<StartResult> {
    const hub = this.hub;
    const c = hub.config;
    const logName = this.logName(user.name, serverName);
    if (serverName && !c.get<boolean>('JupyterHub', 'allow_named_servers')) throw new HttpError(400, 'Named servers are not enabled.');
    if (serverName.includes('/')) throw new HttpError(400, `Invalid server_name (may not contain '/'): ${serverName}`);
    let row = await this.row(user.id, serverName);
    if (!row && serverName) {
      let limit = c.get<unknown>('JupyterHub', 'named_server_limit_per_user');
      if (typeof limit === 'function') limit = await (limit as (h: unknown) => unknown)({ current_user: user, user });
      const n = Number(limit) || 0;
      if (n > 0) {
        const count = await hub.db.db.selectFrom('spawners').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', user.id).where('name', '!=', '').executeTakeFirst();
        if (Number(count?.n ?? 0) >= n) throw new HttpError(400, `User ${user.name} already has the maximum of ${n} named servers.  One must be deleted before a new server can be created`);
      }
    }
    const existing = this.entries.get(keyOf(user.id, serverName));
    if (existing?.pending === 'spawn') return { status: 'pending' };
    if (existing?.pending) throw new HttpError(400, `${logName} is pending ${existing.pending}`);
    if (existing?.ready) {
      if ((await existing.spawner.poll()) === null) throw new HttpError(400, `${logName} is already running`);
      await this.handleDeath(existing, 0);
    }
    const spawnLimit = c.get<number>('JupyterHub', 'concurrent_spawn_limit');
    const activeLimit = c.get<number>('JupyterHub', 'active_server_limit');
    if (spawnLimit && this.countPendingSpawns() >= spawnLimit) {
      const [lo, hi] = (c.get<number[]>('JupyterHub', 'spawn_throttle_retry_range') ?? [30, 60]).map(Number);
      const retry = Math.floor(lo + Math.random() * (hi - lo + 1));
      log.warn(`${this.countPendingSpawns()} pending spawns, throttling. Suggested retry in ${retry} seconds.`);
      throw new HttpError(429, `Too many users trying to log in right now. Try again in ${retry} seconds.`, { 'Retry-After': String(retry) });
    }
    if (activeLimit && this.countActive() >= activeLimit) {
      log.info(`${this.countActive()} servers active; limit is ${activeLimit}`);
      throw new HttpError(429, 'Active user limit exceeded. Try again in a few minutes.');
    }
    // Authenticator: refresh before spawn (refresh_pre_spawn).
    const auth = this.auth;
    if (auth?.refreshAuth && auth.cls) {
      let pre = false;
      try {
        pre = !!c.get<boolean>(auth.cls, 'refresh_pre_spawn');
      } catch {
        pre = false;
      }
      if (pre && !(await auth.refreshAuth(user, { force: true }))) throw new HttpError(403, `auth has expired for ${user.name}, login again`);
    }
    const db = hub.db.db;
    if (!row) {
      await db.insertInto('spawners').values({ user_id: user.id, name: serverName, state: '{}', url: null, started: null, last_activity: null, user_options: JSON.stringify(options ?? {}) }).onConflict((oc) => oc.doNothing()).execute();
      row = (await this.row(user.id, serverName))!;
    } else if (options !== undefined) {
      await db.updateTable('spawners').set({ user_options: JSON.stringify(options) }).where('id', '=', row.id).execute();
      row.user_options = JSON.stringify(options);
    }
    const e = this.entryFor(user, row);
    // A fresh spawner object for each spawn (overrides from the last spawn do not leak).
    e.spawner = this.newSpawner(user, row);
    e.pending = 'spawn';
    e.ready = false;
    e.failed = false;
    e.cancelled = false;
    e.finished = false;
    e.events = [];
    this.emit(e, { progress: 0, message: 'Server requested' });
    const p = this.doSpawn(e, user);
    e.spawnPromise = p;
    p.catch(() => {}).finally(() => {
      if (e.spawnPromise === p) e.spawnPromise = null;
    });
    const slow = Number(this.tornado('slow_spawn_timeout', 10));
    const outcome = await orAfter(p.then(() => 'ready' as const), slow * 1000, 'pending' as const).catch((err: Error) => {
      const status = err instanceof SpawnError || err instanceof HttpError ? err.status : 500;
      throw new HttpError(status, err.message);
    });
    return { status: outcome };
  }

  /** The environment the hub gives the server (singleuser-and-services.md §3.1). */
  private hubEnv(sp: Spawner, user: UserRow, allowed: string[]): Record<string, string> {
    const hub = this.hub;
    const c = hub.config;
    let apiUrl = hub.hubApiUrl;
    const connect = sp.trait<string | null>('hub_connect_url');
    if (connect) apiUrl = connect.replace(/\/+$/, '') + new URL(hub.hubApiUrl).pathname;
    const prefix = sp.serverPrefix;
    const ip = sp.ip;
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const origin = this.publicOrigin();
    const env: Record<string, string> = {
      JUPYTERHUB_API_TOKEN: sp.apiToken,
      JPY_API_TOKEN: sp.apiToken,
      JUPYTERHUB_CLIENT_ID: sp.oauthClientId,
      JUPYTERHUB_API_URL: apiUrl,
      JUPYTERHUB_ACTIVITY_URL: `${apiUrl}/users/${escapeName(user.name)}/activity`,
      JUPYTERHUB_BASE_URL: hub.baseUrl,
      JUPYTERHUB_HOST: origin,
      JUPYTERHUB_SERVICE_PREFIX: prefix,
      JUPYTERHUB_SERVICE_URL: `http://${host}:${sp.port}${prefix}`,
      JUPYTERHUB_USER: user.name,
      JUPYTERHUB_SERVER_NAME: sp.name,
      JUPYTERHUB_OAUTH_CALLBACK_URL: `${origin}${prefix}oauth_callback`,
      JUPYTERHUB_OAUTH_ACCESS_SCOPES: pyJsonList(sp.oauthAccessScopes),
      JUPYTERHUB_OAUTH_SCOPES: pyJsonList(sp.oauthAccessScopes),
      JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: pyJsonList(allowed),
      JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED: c.get<boolean>('JupyterHub', 'cookie_host_prefix_enabled') ? '1' : '0',
      JUPYTERHUB_PUBLIC_URL: origin ? origin + prefix : '',
      JUPYTERHUB_PUBLIC_HUB_URL: origin ? origin + hub.hubPrefix : '',
    };
    const cookieOptions = (c.get<Record<string, unknown>>('JupyterHub', 'tornado_settings')?.cookie_options ?? {}) as Record<string, unknown>;
    if (Object.keys(cookieOptions).length) env.JUPYTERHUB_COOKIE_OPTIONS = JSON.stringify(cookieOptions);
    try {
      if (c.get<boolean>('JupyterHub', 'admin_access')) env.JUPYTERHUB_ADMIN_ACCESS = '1';
    } catch {
      /* trait absent */
    }
    return env;
  }

  /** Scopes for the server's API token (rbac.md §5.3), resolved against the owner's permissions. */
  private async serverTokenScopes(sp: Spawner, user: UserRow): Promise<string[]> {
    const server = `${user.name}/${sp.name}`;
    let raw = await (async () => {
      const v = sp.trait<unknown>('server_token_scopes');
      if (typeof v === 'function') return (await (v as (s: unknown) => unknown)(sp)) as string[];
      return v as string[] | null;
    })();
    if (!raw) {
      const role = this.hub.rbac ? await this.hub.rbac.roleByName('server') : undefined;
      raw = role?.scopes ?? ['users:activity!user', 'access:servers!server'];
    }
    let scopes = raw.map((s) => (s.endsWith('!server') ? `${s}=${server}` : s.endsWith('!user') ? `${s}=${user.name}` : s));
    if (!scopes.some((s) => s === `users:activity!user=${user.name}` || s === 'users:activity' || s === 'inherit')) {
      log.warn(`Server token for ${sp.logName} does not include users:activity; adding it so activity can be reported`);
      scopes.push(`users:activity!user=${user.name}`);
    }
    // Keep only what the owner holds (silently dropped otherwise).
    const rbac = this.hub.rbac;
    if (rbac && !scopes.includes('inherit')) {
      const have = (await rbac.userScopes(user)).forTokens;
      const kept: string[] = [];
      const parsed = parseHave(have);
      for (const s of scopes) {
        const exp = rbac.scopeSet.expand([s], { kind: 'user', name: user.name });
        if ([...exp].every((x) => rbac.canSync(parsed, x.split('!')[0], resourceOf(x)))) kept.push(s);
        else log.info(`Not granting ${s} to the server token of ${sp.logName}: not held by ${user.name}`);
      }
      scopes = kept;
    }
    return scopes;
  }

  private async doSpawn(e: Entry, user: UserRow): Promise<void> {
    const hub = this.hub;
    const db = hub.db.db;
    const sp = e.spawner;
    const logName = sp.logName;
    const t0 = performance.now();
    const checkCancel = () => {
      if (e.cancelled) throw new SpawnError('Spawn cancelled');
    };
    try {
      sp.onProgress = (ev) => {
        if (!e.finished && e.pending === 'spawn') this.emit(e, ev);
      };
      // Per-spawn hooks: authenticator, groups, user options.
      await this.auth?.preSpawnStart?.(user, sp);
      const groups = await db.selectFrom('user_group_map').innerJoin('groups', 'groups.id', 'user_group_map.group_id').select('groups.name').where('user_group_map.user_id', '=', user.id).execute();
      await sp.applyGroupOverrides(groups.map((g) => g.name));
      if (this.auth?.getAuthState && sp.trait('auth_state_hook')) await sp.runAuthStateHook(await this.auth.getAuthState(user).catch(() => null));
      await sp.applyUserOptions();
      checkCancel();
      // API token + OAuth client: the token's value first (hooks may look at it), then every
      // write in one transaction (the server's previous token goes, the new one and the client's
      // secret come in together).
      const prefix = sp.serverPrefix;
      const note = `Server at ${prefix}`;
      const scopes = await this.serverTokenScopes(sp, user);
      const token = newToken();
      sp.apiToken = token;
      const accessScope = `access:servers!server=${user.name}/${sp.name}`;
      sp.oauthAccessScopes = [accessScope, `access:servers!user=${user.name}`];
      let allowed = sp.trait<unknown>('oauth_client_allowed_scopes');
      if (typeof allowed === 'function') allowed = await (allowed as (s: unknown) => unknown)(sp);
      const allowedList = Array.isArray(allowed) ? (allowed as string[]).map(String) : [];
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('api_tokens').where('user_id', '=', user.id).where('note', '=', note).execute();
        await createApiToken(trx, { userId: user.id, note, scopes, token, trusted: true });
        await writeOAuthClient(trx, {
          identifier: sp.oauthClientId,
          secret: token,
          redirect_uri: `${this.publicOrigin()}${prefix}oauth_callback`,
          description: note,
          allowed_scopes: [...allowedList, accessScope],
          user_id: user.id,
          spawner_id: e.spawnerId,
        });
      });
      oauthClientChanged(hub, sp.oauthClientId, false);
      sp.hubEnv = (s) => this.hubEnv(s, user, allowedList);
      await sp.runPreSpawnHook();
      checkCancel();
      for (const ev of sp.defaultProgress()) sp.emitProgress(ev);
      // start() within start_timeout
      const startTimeout = sp.startTimeout;
      let timer: NodeJS.Timeout | undefined;
      const url = await Promise.race([
        sp.start(),
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new SpawnError(`Spawner failed to start ${logName} within ${startTimeout} seconds`)), startTimeout * 1000);
        }),
      ]).finally(() => clearTimeout(timer));
      const started = new Date().toISOString();
      await db.updateTable('spawners').set({ url, started, state: JSON.stringify(sp.getState()), last_activity: started }).where('id', '=', e.spawnerId).execute();
      checkCancel();
      // Readiness: GET <url><prefix>api until it answers (status < 500), within http_timeout.
      await this.waitUp(e, url + prefix + 'api', sp.httpTimeout);
      checkCancel();
      await hub.proxy.addRoute(prefix, url, { user: user.name, server_name: sp.name });
      e.url = url;
      e.ready = true;
      e.pending = null;
      const ready: ProgressEvent = { progress: 100, ready: true, message: `Server ready at ${prefix}`, html_message: `Server ready at <a href="${prefix}">${prefix}</a>`, url: prefix };
      const hook = sp.trait<unknown>('progress_ready_hook');
      const final = typeof hook === 'function' ? (((await (hook as (s: unknown, ev: unknown) => unknown)(sp, ready)) as ProgressEvent) ?? ready) : ready;
      this.emit(e, final, true);
      this.schedulePoll(e);
      log.info(`User ${logName} took ${((performance.now() - t0) / 1000).toFixed(3)} seconds to start`);
      metrics.serverSpawnDuration.observe({ status: 'success' }, (performance.now() - t0) / 1000);
      metrics.runningServers.inc();
    } catch (err) {
      const msg = (err as Error).message || String(err);
      const cancelled = e.cancelled;
      log.error(`Failed to start ${logName}: ${msg}`);
      metrics.serverSpawnDuration.observe({ status: 'failure' }, (performance.now() - t0) / 1000);
      e.failed = !cancelled;
      e.ready = false;
      // Clean up before reporting, so that nothing stale is left when the failure is seen.
      await this.teardown(e, user, { now: true }).catch((x) => log.error(`Cleaning up after failed spawn of ${logName}: ${(x as Error).message}`));
      e.pending = null;
      this.emit(e, cancelled ? { progress: 100, failed: true, message: 'Spawn cancelled' } : { progress: 100, failed: true, message: `Spawn failed: ${msg}` }, true);
      throw err instanceof SpawnError || err instanceof HttpError ? err : new SpawnError(msg);
    } finally {
      sp.onProgress = null;
    }
  }

  /**
   * Readiness (singleuser-and-services.md §7.1): GET <url> until any answer below 500.
   * Attempts start 5 ms apart (a refused connection costs next to nothing, and a server that
   * binds within milliseconds is seen at once), growing ×1.5 to at most 250 ms apart.
   */
  private async waitUp(e: Entry, url: string, timeout: number): Promise<void> {
    const deadline = Date.now() + timeout * 1000;
    const target = new URL(url);
    let delay = 5;
    for (;;) {
      if (e.cancelled) throw new SpawnError('Spawn cancelled');
      const status = await e.spawner.poll();
      if (status !== null) throw new SpawnError(`Spawner failed to start [status=${status}]. The logs for ${e.spawner.logName} may contain details.`);
      try {
        const code = await probeStatus(target, Math.max(1000, Math.min(10000, deadline - Date.now())));
        if (code < 500) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() >= deadline) throw new SpawnError(`Server at ${url.replace(/api$/, '')} didn't respond in ${timeout} seconds`);
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
      delay = Math.min(delay * 1.5, 250);
    }
  }

  /** Remove route, stop the process, clear the record, revoke token and OAuth client. */
  private async teardown(e: Entry, user: Pick<UserRow, 'id' | 'name'>, opts: { now?: boolean } = {}): Promise<void> {
    const sp = e.spawner;
    const db = this.hub.db.db;
    if (e.pollTimer) clearTimeout(e.pollTimer);
    e.pollTimer = null;
    e.ready = false;
    e.url = null;
    await this.hub.proxy.deleteRoute(sp.serverPrefix).catch((x) => log.warn(`Removing route ${sp.serverPrefix}: ${(x as Error).message}`));
    await sp.stop(opts.now);
    sp.clearState();
    const revoke = !sp.willResume;
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('spawners').set({ url: null, state: JSON.stringify(sp.getState()) }).where('id', '=', e.spawnerId).execute();
      if (revoke) {
        await trx.deleteFrom('api_tokens').where('user_id', '=', user.id).where('note', '=', `Server at ${sp.serverPrefix}`).execute();
        await deleteOAuthClientRows(trx, sp.oauthClientId);
      }
    });
    if (revoke) oauthClientChanged(this.hub, sp.oauthClientId, false);
  }

  private schedulePoll(e: Entry): void {
    const sp = e.spawner;
    const interval = sp.pollInterval;
    if (!(interval > 0) || this.closed) return;
    const jitter = sp.pollJitter;
    const ms = interval * 1000 * (1 + jitter * (Math.random() - 0.5));
    e.pollTimer = setTimeout(() => {
      e.pollTimer = null;
      if (!e.ready || e.pending || this.closed) return;
      sp.poll()
        .then(async (status) => {
          if (status === null) return this.schedulePoll(e);
          if (!e.ready || e.pending) return;
          await this.handleDeath(e, status);
        })
        .catch((err) => {
          log.error(`Error polling ${sp.logName}: ${(err as Error).message}`);
          this.schedulePoll(e);
        });
    }, ms);
    e.pollTimer.unref();
  }

  /** A server found dead: route removed, record cleared, token and client revoked. */
  private async handleDeath(e: Entry, status: number): Promise<void> {
    log.warn(`User ${e.spawner.logName} server stopped with exit code: ${status}`);
    e.ready = false;
    e.events = [];
    e.finished = false;
    await this.teardown(e, { id: e.userId, name: e.userName }, { now: true });
    await this.auth?.postSpawnStop?.({ id: e.userId, name: e.userName } as UserRow, e.spawner);
    await e.spawner.runPostStopHook().catch((x) => log.error(`post_stop_hook failed: ${(x as Error).message}`));
  }

  async stop(user: UserRow, serverName: string, opts: { remove?: boolean } = {}): Promise<StopResult> {
    const row = await this.row(user.id, serverName);
    if (!row) {
      if (serverName) throw new HttpError(404, `${user.name} has no server named '${serverName}'`);
      return { status: 'stopped' };
    }
    if (opts.remove && !serverName) throw new HttpError(400, 'Cannot delete the default server');
    const e = this.entries.get(keyOf(user.id, serverName));
    if (e?.pending === 'stop') return { status: 'pending' };
    const active = !!e && (e.ready || e.pending === 'spawn');
    if (!active) {
      if (row.url) {
        // Recorded as running but unknown to us (e.g. init timed out): stop through a spawner.
        const ent = this.entryFor(user, row);
        ent.pending = 'stop';
        await this.teardown(ent, user).finally(() => (ent.pending = null));
      }
      if (opts.remove) await this.removeRecord(user, row);
      return { status: 'stopped' };
    }
    if (e.pending === 'spawn') e.cancelled = true;
    const p = this.doStop(e, user, row, !!opts.remove);
    e.stopPromise = p;
    const slow = Number(this.tornado('slow_stop_timeout', 10));
    const outcome = await orAfter(p.then(() => 'stopped' as const), slow * 1000, 'pending' as const);
    return { status: outcome };
  }

  private async doStop(e: Entry, user: UserRow, row: SpawnerRow, remove: boolean): Promise<void> {
    const t0 = performance.now();
    if (e.spawnPromise) await e.spawnPromise.catch(() => {});
    const wasReady = e.ready;
    e.pending = 'stop';
    try {
      await this.teardown(e, user);
      await this.auth?.postSpawnStop?.(user, e.spawner);
      await e.spawner.runPostStopHook().catch((x) => log.error(`post_stop_hook failed: ${(x as Error).message}`));
      log.info(`User ${e.spawner.logName} server took ${((performance.now() - t0) / 1000).toFixed(3)} seconds to stop`);
      metrics.serverStopDuration.observe({ status: 'success' }, (performance.now() - t0) / 1000);
      if (wasReady) metrics.runningServers.dec();
    } catch (err) {
      metrics.serverStopDuration.observe({ status: 'failure' }, (performance.now() - t0) / 1000);
      log.error(`Error stopping ${e.spawner.logName}: ${(err as Error).message}`);
    } finally {
      e.pending = null;
      e.stopPromise = null;
      e.events = [];
      e.finished = false;
      e.failed = false;
      for (const l of [...e.listeners]) l();
    }
    if (remove) await this.removeRecord(user, row);
  }

  private async removeRecord(user: UserRow, row: SpawnerRow): Promise<void> {
    this.entries.delete(keyOf(user.id, row.name));
    await deleteOAuthClient(this.hub, this.clientId(user.name, row.name));
    await this.hub.db.db.deleteFrom('spawners').where('id', '=', row.id).execute();
  }

  progress(user: UserRow, serverName: string): AsyncIterable<ProgressEvent> | null {
    const e = this.entries.get(keyOf(user.id, serverName));
    if (!e) return null;
    if (e.ready && !e.pending) {
      const prefix = e.spawner.serverPrefix;
      const last = e.events[e.events.length - 1];
      const ev: ProgressEvent = last?.ready ? last : { progress: 100, ready: true, message: `Server ready at ${prefix}`, html_message: `Server ready at <a href="${prefix}">${prefix}</a>`, url: prefix };
      return (async function* () {
        yield ev;
      })();
    }
    if (e.pending !== 'spawn' && !(e.failed && e.finished)) return null;
    return (async function* () {
      let i = 0;
      for (;;) {
        while (i < e.events.length) {
          const ev = e.events[i++];
          yield ev;
          if (ev.ready || ev.failed) return;
        }
        if (e.finished && i >= e.events.length) return;
        await new Promise<void>((resolve) => {
          const l = () => {
            e.listeners.delete(l);
            resolve();
          };
          e.listeners.add(l);
        });
      }
    })();
  }

  async stopAll(user: UserRow): Promise<void> {
    const rows = await this.hub.db.db.selectFrom('spawners').selectAll().where('user_id', '=', user.id).execute();
    await Promise.all(
      rows.map(async (row) => {
        const r = await this.stop(user, row.name).catch((err) => log.error(`stopping ${user.name}/${row.name}: ${(err as Error).message}`));
        const e = this.entries.get(keyOf(user.id, row.name));
        if (r && r.status === 'pending' && e?.stopPromise) await e.stopPromise;
      }),
    );
    for (const row of rows) this.entries.delete(keyOf(user.id, row.name));
  }

  // ---- hub life cycle --------------------------------------------------------------------
  /** At start-up: servers recorded as running are polled; alive ones keep their route. */
  async restore(): Promise<void> {
    const db = this.hub.db.db;
    const rows = await db.selectFrom('spawners').innerJoin('users', 'users.id', 'spawners.user_id').selectAll('spawners').select(['users.name as uname', 'users.admin as uadmin', 'users.created as ucreated', 'users.last_activity as ulast', 'users.cookie_id as ucookie', 'users.encrypted_auth_state as uauth']).where('spawners.url', 'is not', null).execute();
    if (!rows.length) return;
    log.info(`Checking ${rows.length} server(s) recorded as running`);
    const check = async (r: (typeof rows)[number]) => {
      const user: UserRow = { id: r.user_id, name: r.uname, admin: r.uadmin, created: r.ucreated, last_activity: r.ulast, cookie_id: r.ucookie, encrypted_auth_state: r.uauth };
      const row: SpawnerRow = { id: r.id, user_id: r.user_id, name: r.name, state: r.state, url: r.url, started: r.started, last_activity: r.last_activity, user_options: r.user_options };
      const e = this.entryFor(user, row);
      const status = await e.spawner.poll().catch(() => 0);
      if (status === null) {
        e.ready = true;
        e.url = row.url;
        const prefix = e.spawner.serverPrefix;
        await this.hub.proxy.addRoute(prefix, row.url!, { user: user.name, server_name: row.name });
        this.emit(e, { progress: 100, ready: true, message: `Server ready at ${prefix}`, html_message: `Server ready at <a href="${prefix}">${prefix}</a>`, url: prefix }, true);
        this.schedulePoll(e);
        log.info(`${e.spawner.logName} still running at ${row.url}`);
      } else {
        log.warn(`${e.spawner.logName} appears to have stopped while the Hub was down`);
        await this.teardown(e, user, { now: true }).catch((x) => log.error(`cleaning up ${e.spawner.logName}: ${(x as Error).message}`));
        this.entries.delete(e.key);
      }
    };
    const all = Promise.all(rows.map((r) => check(r).catch((x) => log.error(`Checking server ${r.uname}/${r.name}: ${(x as Error).message}`))));
    const timeout = this.hub.config.get<number>('JupyterHub', 'init_spawners_timeout');
    if (timeout < 0) await all;
    else await Promise.race([all, sleep(timeout * 1000).then(() => log.warn(`init_spawners_timeout (${timeout}s) reached; remaining server checks continue in the background`))]);
  }

  /** Put every ready server's route back (proxy restart). */
  async restoreRoutes(): Promise<void> {
    for (const e of this.entries.values()) {
      if (e.ready && e.url) await this.hub.proxy.addRoute(e.spawner.serverPrefix, e.url, { user: e.userName, server_name: e.name });
    }
  }

  /**
   * Every last_activity_interval: routes of servers that are not ready are removed, missing
   * ones added; last_activity of routes raises the users' and servers' last_activity.
   */
  async reconcile(): Promise<void> {
    const routes = await this.hub.proxy.getAllRoutes();
    const byPrefix = new Map<string, Entry>();
    for (const e of this.entries.values()) if (e.ready && e.url) byPrefix.set(e.spawner.serverPrefix, e);
    const db = this.hub.db.db;
    for (const [spec, route] of Object.entries(routes)) {
      if (route.data.user === undefined) continue;
      const e = byPrefix.get(spec);
      if (!e) {
        const pending = [...this.entries.values()].some((x) => x.spawner.serverPrefix === spec && x.pending);
        if (!pending) {
          log.warn(`Deleting stale route ${spec}`);
          await this.hub.proxy.deleteRoute(spec);
        }
        continue;
      }
      const la = route.data.last_activity;
      if (typeof la === 'string' && !Number.isNaN(Date.parse(la))) {
        const iso = new Date(la).toISOString();
        await db.updateTable('spawners').set({ last_activity: iso }).where('id', '=', e.spawnerId).where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', iso)])).execute();
        await db.updateTable('users').set({ last_activity: iso }).where('id', '=', e.userId).where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', iso)])).execute();
      }
    }
    for (const [spec, e] of byPrefix) {
      const r = routes[spec];
      if (!r || r.target !== e.url) {
        log.warn(`Adding missing route for ${e.spawner.logName}`);
        await this.hub.proxy.addRoute(spec, e.url!, { user: e.userName, server_name: e.name });
      }
    }
  }

  /** Hub shutdown: stop every server when cleanup_servers (JupyterHub 5 default: True; POST /shutdown may override it). */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const e of this.entries.values()) if (e.pollTimer) clearTimeout(e.pollTimer);
    if (!this.hub.cleanupServers) {
      log.info('Leaving single-user servers running');
      return;
    }
    const active = [...this.entries.values()].filter((e) => e.ready || e.pending);
    if (active.length) log.info(`Cleaning up ${active.length} single-user server(s)`);
    await Promise.all(
      active.map(async (e) => {
        e.cancelled = true;
        if (e.spawnPromise) await e.spawnPromise.catch(() => {});
        if (e.stopPromise) return e.stopPromise;
        if (!e.ready) return;
        e.pending = 'stop';
        await this.teardown(e, { id: e.userId, name: e.userName }).catch((x) => log.error(`stopping ${e.spawner.logName}: ${(x as Error).message}`));
        e.pending = null;
      }),
    );
  }
}

// Small adapters to the rbac module's matching helpers.
function parseHave(have: Set<string>) {
  return parseScopes(have);
}
function resourceOf(scope: string): Resource | null {
  const i = scope.indexOf('!');
  if (i < 0) return null;
  const [kind, value] = scope.slice(i + 1).split('=');
  if (kind === 'user') return { user: value };
  if (kind === 'server') return { server: value };
  if (kind === 'group') return { group: value };
  if (kind === 'service') return { service: value };
  return null;
}
