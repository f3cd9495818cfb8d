/**
 * The hub's services (singleuser-and-services.md §4, §10; rest-api.md §6.5, §8.15):
 * database rows, API tokens and OAuth clients at init; managed processes, readiness,
 * proxy routes and health checks at start; shutdown with the hub.
 */
import { HttpError, type Hub } from '../hub/app.js';
import type { ServiceRow } from '../db/schema.js';
import { ConfigError } from '../config/errors.js';
import { createApiToken, findApiToken } from '../hub/tokens.js';
import { registerOAuthClient, deleteOAuthClient } from '../oauth/clients.js';
import { getLogger } from '../util/log.js';
import { dnsLabel, parseServiceSpecs, specFromStored, specToStored, type ServiceSpec } from './spec.js';
import { ManagedProcess, ServiceStartError, lookupUser } from './process.js';

const log = getLogger('JupyterHub', 'services');

/** LocalProcessSpawner's default env_keep: what a managed service inherits from the hub's environment. */
export const SERVICE_ENV_KEEP = ['CONDA_DEFAULT_ENV', 'CONDA_ROOT', 'JUPYTERHUB_SINGLEUSER_APP', 'LANG', 'LC_ALL', 'LD_LIBRARY_PATH', 'PATH', 'PYTHONPATH', 'VIRTUAL_ENV'];

/** Service model of the REST API (rest-api.md §6.5), unfiltered. */
export interface ServiceModel {
  kind: 'service';
  name: string;
  admin: boolean;
  roles: string[];
  url: string;
  prefix: string;
  command: string[];
  pid: number;
  info: Record<string, unknown>;
  display: boolean;
}

/** What the home page needs to link a service. */
export interface ServiceLink {
  name: string;
  /** Link target: the prefix, or //<domain><prefix> with subdomains. */
  href: string;
  url: string;
  info: Record<string, unknown>;
}

/** Percent-escape a name for a URL path (only @ and ~ kept besides unreserved characters). */
export function escapeName(name: string): string {
  return encodeURIComponent(name).replace(/%40/g, '@').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export class Service {
  proc: ManagedProcess | null = null;
  /** The service's API token (configured, or generated at this start for managed services), in memory only. */
  apiToken = '';
  constructor(
    readonly registry: ServiceRegistry,
    public spec: ServiceSpec,
    public row: ServiceRow,
  ) {}

  get hub(): Hub {
    return this.registry.hub;
  }
  get name(): string {
    return this.spec.name;
  }
  get id(): number {
    return this.row.id;
  }
  get fromConfig(): boolean {
    return !!this.row.from_config;
  }
  get managed(): boolean {
    return this.spec.command.length > 0;
  }
  get kind(): 'managed' | 'external' {
    return this.managed ? 'managed' : 'external';
  }
  get hasUrl(): boolean {
    return !!this.spec.url;
  }
  /** URL path prefix, e.g. /services/whoami/ */
  get prefix(): string {
    return `${this.hub.baseUrl}services/${escapeName(this.name)}/`;
  }
  /** Subdomain of the service ('' without subdomain_host). */
  get domain(): string {
    const sub = this.hub.config.get<string>('JupyterHub', 'subdomain_host');
    if (!sub) return '';
    const u = new URL(sub.includes('://') ? sub : `https://${sub}`);
    const hook = this.hub.config.get<unknown>('JupyterHub', 'subdomain_hook');
    if (hook === 'legacy') return `services.${u.hostname}`;
    return `${dnsLabel(this.name)}--service.${u.hostname}`;
  }
  /** proto://domain[:port] with subdomains, else ''. */
  get host(): string {
    const sub = this.hub.config.get<string>('JupyterHub', 'subdomain_host');
    if (!sub) return '';
    const u = new URL(sub.includes('://') ? sub : `https://${sub}`);
    return `${u.protocol}//${this.domain}${u.port ? ':' + u.port : ''}`;
  }
  get href(): string {
    return this.domain ? `//${this.domain}${this.prefix}` : this.prefix;
  }
  get routespec(): string {
    return this.domain ? `${this.domain}${this.prefix}` : this.prefix;
  }
  /** proto://host:port of the configured URL (the proxy target; path ignored). */
  get origin(): string {
    const u = new URL(this.spec.url);
    let host = u.hostname;
    if (host === '0.0.0.0') host = '127.0.0.1';
    if (host === '[::]') host = '[::1]';
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return `${u.protocol}//${host}:${port}`;
  }
  /** Readiness/health URL: origin + prefix (what JupyterHub probes). */
  get checkUrl(): string {
    return this.origin + this.prefix;
  }
  get oauthAvailable(): boolean {
    return this.hasUrl || this.spec.oauthSpecified;
  }
  get redirectUri(): string {
    if (this.spec.oauthRedirectUri) return this.spec.oauthRedirectUri;
    return this.hasUrl ? `${this.host}${this.prefix}oauth_callback` : '';
  }
  get accessScopes(): string[] {
    return ['access:services', `access:services!service=${this.name}`];
  }
  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** Environment of the managed process (singleuser-and-services.md §4). */
  env(): NodeJS.ProcessEnv {
    const hub = this.hub;
    const env: NodeJS.ProcessEnv = {};
    for (const k of SERVICE_ENV_KEEP) if (hub.env[k] !== undefined) env[k] = hub.env[k];
    const c = hub.config;
    env.JUPYTERHUB_API_TOKEN = this.apiToken;
    env.JPY_API_TOKEN = this.apiToken;
    env.JUPYTERHUB_CLIENT_ID = this.spec.oauthClientId;
    const cookieOptions = (c.get<Record<string, unknown>>('JupyterHub', 'tornado_settings')?.cookie_options ?? {}) as Record<string, unknown>;
    if (Object.keys(cookieOptions).length) env.JUPYTERHUB_COOKIE_OPTIONS = JSON.stringify(cookieOptions);
    env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED = c.get<boolean>('JupyterHub', 'cookie_host_prefix_enabled') ? '1' : '0';
    env.JUPYTERHUB_HOST = this.registry.publicHost;
    env.JUPYTERHUB_OAUTH_CALLBACK_URL = `${this.host}${this.prefix}oauth_callback`;
    env.JUPYTERHUB_OAUTH_SCOPES = JSON.stringify(this.accessScopes);
    env.JUPYTERHUB_OAUTH_ACCESS_SCOPES = JSON.stringify(this.accessScopes);
    env.JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES = '[]';
    env.JUPYTERHUB_USER = this.spec.user;
    env.JUPYTERHUB_SERVER_NAME = '';
    env.JUPYTERHUB_API_URL = hub.hubApiUrl;
    env.JUPYTERHUB_BASE_URL = hub.baseUrl;
    env.JUPYTERHUB_SERVICE_NAME = this.name;
    const publicOrigin = this.registry.publicOrigin;
    env.JUPYTERHUB_PUBLIC_URL = '';
    env.JUPYTERHUB_PUBLIC_HUB_URL = publicOrigin ? `${publicOrigin}${hub.hubPrefix}` : '';
    if (this.hasUrl) {
      env.JUPYTERHUB_SERVICE_URL = this.spec.url;
      env.JUPYTERHUB_SERVICE_PREFIX = this.prefix;
      const pub = this.host || publicOrigin;
      if (pub) env.JUPYTERHUB_PUBLIC_URL = `${pub}${this.prefix}`;
    }
    for (const [k, v] of Object.entries(this.spec.environment)) env[k] = v;
    return env;
  }

  async model(): Promise<ServiceModel> {
    const roles = await this.hub.db.db
      .selectFrom('service_role_map')
      .innerJoin('roles', 'roles.id', 'service_role_map.role_id')
      .select('roles.name')
      .where('service_role_map.service_id', '=', this.id)
      .orderBy('roles.name')
      .execute();
    return {
      kind: 'service',
      name: this.name,
      admin: this.spec.admin,
      roles: roles.map((r) => r.name),
      url: this.spec.url,
      prefix: this.hasUrl ? this.prefix : '',
      command: this.spec.command,
      pid: this.pid,
      info: this.spec.info,
      display: this.spec.display,
    };
  }
}

/** Options of registerOAuthClient, as the OAuth provider module takes them. */
interface ClientRegistration {
  clientId: string;
  secret: string;
  redirectUri: string;
  description: string;
  allowedScopes: string[];
  serviceId: number;
  noConfirm: boolean;
}

export class ServiceRegistry {
  private readonly map = new Map<string, Service>();
  private started = false;
  private stopping = false;
  constructor(readonly hub: Hub) {}

  /** JUPYTERHUB_HOST: origin of public_url or subdomain_host, else ''. */
  get publicHost(): string {
    const sub = this.hub.config.get<string>('JupyterHub', 'subdomain_host');
    if (sub) return new URL(sub.includes('://') ? sub : `https://${sub}`).origin;
    return this.publicOrigin;
  }
  get publicOrigin(): string {
    if (this.hub.publicUrl) return new URL(this.hub.publicUrl).origin;
    const sub = this.hub.config.get<string>('JupyterHub', 'subdomain_host');
    if (sub) return new URL(sub.includes('://') ? sub : `https://${sub}`).origin;
    return '';
  }

  get(name: string): Service | undefined {
    return this.map.get(name);
  }
  /** All services, by name. */
  all(): Service[] {
    return [...this.map.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  /** Service owning an OAuth client id. */
  byClientId(clientId: string): Service | undefined {
    for (const s of this.map.values()) if (s.spec.oauthClientId === clientId && s.oauthAvailable) return s;
    return undefined;
  }
  /** Whether the OAuth confirmation page is skipped for this client (oauth_no_confirm). */
  isNoConfirm(clientId: string): boolean {
    return !!this.byClientId(clientId)?.spec.oauthNoConfirm;
  }
  /** Services the home page may list (URL and display); the page still checks access:services per user. */
  displayed(): ServiceLink[] {
    return this.all()
      .filter((s) => s.hasUrl && s.spec.display)
      .map((s) => ({ name: s.name, href: s.href, url: s.spec.url, info: s.spec.info }));
  }
  async models(): Promise<ServiceModel[]> {
    return Promise.all(this.all().map((s) => s.model()));
  }
  async model(name: string): Promise<ServiceModel | null> {
    const s = this.map.get(name);
    return s ? s.model() : null;
  }

  // ---------------------------------------------------------------- init

  /**
   * Validate `JupyterHub.services`, make the database agree with it (rows, tokens, OAuth
   * clients) and load runtime-created services. Idempotent; runs before roles are loaded.
   */
  async init(): Promise<void> {
    const hub = this.hub;
    const db = hub.db.db;
    const specs = parseServiceSpecs(hub.config.get<unknown>('JupyterHub', 'services'));
    for (const spec of specs) if (spec.user && !lookupUser(spec.user)) throw new ConfigError(`service ${spec.name}: no such system user: ${spec.user}`);
    this.map.clear();
    for (const spec of specs) await this.addFromSpec(spec, true);
    // service_tokens: {token: service name}
    const serviceTokens = hub.config.get<Record<string, string>>('JupyterHub', 'service_tokens') ?? {};
    for (const [token, name] of Object.entries(serviceTokens)) {
      let svc = this.map.get(name);
      if (!svc) {
        log.warn(`service ${name} not in services, creating implicitly. It is recommended to register services using services list.`);
        svc = await this.addFromSpec(parseServiceSpecs([{ name }])[0], true);
      }
      await this.addConfigToken(svc, token);
    }
    // config services no longer in config: delete with their tokens and OAuth clients
    const rows = await db.selectFrom('services').selectAll().execute();
    for (const row of rows) {
      if (this.map.has(row.name)) continue;
      if (row.from_config) {
        log.info(`Deleting service ${row.name}: no longer in JupyterHub.services`);
        await this.deleteRow(row);
      } else {
        const stored = parseState(row.state).spec as Record<string, unknown> | undefined;
        const spec = specFromStored(row.name, stored ?? { url: row.url ?? '' });
        this.map.set(row.name, new Service(this, spec, row));
      }
    }
  }

  private async addFromSpec(spec: ServiceSpec, fromConfig: boolean): Promise<Service> {
    const hub = this.hub;
    const db = hub.db.db;
    let row = await db.selectFrom('services').selectAll().where('name', '=', spec.name).executeTakeFirst();
    if (row && !!row.from_config !== fromConfig) {
      if (fromConfig) {
        // JupyterHub logs and keeps the runtime one; we refuse to start instead of silently ignoring config.
        throw new ConfigError(`The service ${spec.name} from the config file has the name of a service created at runtime through the API; delete that one first (DELETE /hub/api/services/${spec.name}) or rename the service`);
      }
      throw new ServiceConflict(`Service ${spec.name} already exists`);
    }
    const values = {
      admin: spec.admin ? 1 : 0,
      url: spec.url || null,
      oauth_client_id: spec.oauthClientId,
      from_config: fromConfig ? 1 : 0,
    };
    if (!row) {
      if (spec.admin)
        log.warn(
          `Service ${spec.name} sets \`admin: True\`, which is deprecated in JupyterHub 2.0. You can assign now assign roles via \`JupyterHub.load_roles\` configuration. If you specify services in the admin role configuration, the Service admin flag will be ignored.`,
        );
      row = await db
        .insertInto('services')
        .values({ name: spec.name, ...values, state: JSON.stringify({ spec: specToStored(spec) }) })
        .returningAll()
        .executeTakeFirstOrThrow();
    } else {
      const state = parseState(row.state);
      state.spec = specToStored(spec);
      await db.updateTable('services').set({ ...values, state: JSON.stringify(state) }).where('id', '=', row.id).execute();
      row = { ...row, ...values, state: JSON.stringify(state) };
    }
    const svc = new Service(this, spec, row);
    this.map.set(spec.name, svc);
    if (spec.apiToken) {
      svc.apiToken = spec.apiToken;
      await this.addConfigToken(svc, spec.apiToken);
    } else if (spec.command.length) {
      svc.apiToken = await createApiToken(db, { serviceId: row.id, note: 'generated at startup' });
    }
    await this.syncOAuthClient(svc);
    return svc;
  }

  private async addConfigToken(svc: Service, token: string): Promise<void> {
    const db = this.hub.db.db;
    const existing = await findApiToken(db, token);
    if (existing) {
      if (existing.service_id !== svc.id) log.warn(`The api_token of service ${svc.name} is already registered to another owner; not adding it again`);
      else log.debug(`Not duplicating token of service ${svc.name}`);
      return;
    }
    log.info(`Adding API token for service: ${svc.name}`);
    await createApiToken(db, {
      serviceId: svc.id,
      token,
      trusted: this.hub.config.get<boolean>('JupyterHub', 'trust_user_provided_tokens'),
      note: 'from config',
    });
  }

  /** Create/update (or delete) the service's OAuth client (singleuser-and-services.md §5.1). */
  private async syncOAuthClient(svc: Service): Promise<void> {
    const db = this.hub.db.db;
    const spec = svc.spec;
    if (!svc.oauthAvailable) {
      log.info(`Creating service ${svc.name} without oauth.`);
      const stale = await db.selectFrom('oauth_clients').select(['id', 'identifier']).where('service_id', '=', svc.id).execute();
      for (const c of stale) {
        log.warn(`Deleting unused oauth client for service ${svc.name} with client_id=${c.identifier}`);
        await deleteClient(this.hub, c.identifier);
      }
      return;
    }
    log.info(`Creating service ${svc.name} with oauth_client_id=${spec.oauthClientId}`);
    const redirectUri = svc.redirectUri;
    if (!redirectUri) throw new ConfigError(`Service ${svc.name} has oauth configured, but is missing required oauth_redirect_uri.`);
    const allowed = new Set<string>(spec.oauthClientAllowedScopes);
    if (spec.oauthRoles.length) {
      if (allowed.size) log.warn(`Ignoring oauth_roles for ${svc.name}: ${JSON.stringify(spec.oauthRoles)}, using oauth_client_allowed_scopes=${JSON.stringify([...allowed])}.`);
      else {
        const roles = await db.selectFrom('roles').select(['name', 'scopes']).where('name', 'in', spec.oauthRoles).execute();
        for (const r of roles) for (const s of JSON.parse(r.scopes || '[]') as string[]) allowed.add(s);
        const missing = spec.oauthRoles.filter((n) => !roles.some((r) => r.name === n));
        if (missing.length) log.warn(`oauth_roles of service ${svc.name} name roles that do not exist (yet): ${missing.join(', ')}`);
      }
    }
    allowed.add(`access:services!service=${svc.name}`);
    // another service's client with the same id (renamed services) is replaced
    await db.deleteFrom('oauth_clients').where('identifier', '=', spec.oauthClientId).where((eb) => eb.or([eb('service_id', '!=', svc.id), eb('service_id', 'is', null)])).execute();
    // the service's previous client under another id
    const old = await db.selectFrom('oauth_clients').select('identifier').where('service_id', '=', svc.id).where('identifier', '!=', spec.oauthClientId).execute();
    for (const c of old) await deleteClient(this.hub, c.identifier);
    await registerClient(this.hub, {
      clientId: spec.oauthClientId,
      secret: svc.apiToken,
      redirectUri,
      description: `JupyterHub service ${svc.name}`,
      allowedScopes: [...allowed].sort(),
      serviceId: svc.id,
      noConfirm: spec.oauthNoConfirm,
    });
  }

  private async deleteRow(row: ServiceRow): Promise<void> {
    const db = this.hub.db.db;
    const clients = await db.selectFrom('oauth_clients').select('identifier').where('service_id', '=', row.id).execute();
    const ids = new Set(clients.map((c) => c.identifier));
    if (row.oauth_client_id) ids.add(row.oauth_client_id);
    for (const id of ids) await deleteClient(this.hub, id);
    await db.deleteFrom('api_tokens').where('service_id', '=', row.id).execute();
    await db.deleteFrom('service_role_map').where('service_id', '=', row.id).execute();
    await db.deleteFrom('services').where('id', '=', row.id).execute();
    this.hub.rbac?.invalidate?.();
  }

  // ---------------------------------------------------------------- runtime (API)

  /**
   * Create an external service at runtime (POST /services/:name). The caller checks
   * permissions; this validates the body keys/types and refuses managed services (400),
   * existing names (409). Adds the proxy route before returning.
   */
  async create(name: string, body: Record<string, unknown>): Promise<Service> {
    if (this.map.has(name)) throw new HttpError(409, `Service ${name} already exists`);
    let spec: ServiceSpec;
    try {
      spec = parseServiceSpecs([{ ...body, name }])[0];
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    if (spec.command.length) throw new HttpError(400, `Can not create managed service ${name} at runtime`);
    let svc: Service;
    try {
      svc = await this.addFromSpec(spec, false);
    } catch (e) {
      if (e instanceof ServiceConflict) throw new HttpError(409, e.message);
      if (e instanceof ConfigError) throw new HttpError(400, e.message);
      throw e;
    }
    if (this.started && svc.hasUrl) await this.addRoute(svc);
    this.hub.rbac?.invalidate?.();
    return svc;
  }

  /** Delete a runtime-created service (DELETE /services/:name): 404 unknown, 405 from config. */
  async remove(name: string): Promise<void> {
    const svc = this.map.get(name);
    if (!svc) throw new HttpError(404, `No such service: ${name}`);
    if (svc.fromConfig) throw new HttpError(405, `Service ${name} is not modifiable at runtime`);
    if (svc.hasUrl) await this.hub.proxy.deleteRoute(svc.routespec).catch((e) => log.warn(`Could not delete the route of service ${name}: ${(e as Error).message}`));
    this.map.delete(name);
    await this.deleteRow(svc.row);
  }

  // ---------------------------------------------------------------- start / stop

  private async addRoute(svc: Service): Promise<void> {
    log.info(`Adding service ${svc.name} to proxy ${svc.routespec} => ${svc.origin}`);
    await this.hub.proxy.addRoute(svc.routespec, svc.origin, { service: svc.name });
  }

  async addRoutes(): Promise<void> {
    for (const s of this.all()) if (s.hasUrl) await this.addRoute(s);
  }

  /** Start managed services, wait for services with a URL, add routes. Throws ServiceStartError for fatal failures. */
  async start(): Promise<void> {
    for (const svc of this.all()) {
      if (this.stopping) return;
      const msg = svc.hasUrl ? `${svc.name} at ${svc.spec.url}` : svc.name;
      if (svc.managed) {
        log.info(`Starting managed service ${msg}`);
        await this.startProcess(svc);
      } else {
        log.info(`Adding external service ${msg}`);
      }
      if (svc.hasUrl) {
        const up = await this.waitUp(svc, svc.spec.timeout * 1000);
        if (this.stopping) return;
        if (up !== 'up') {
          if (svc.managed) {
            const why = up === 'exited' ? `exited before it answered at ${svc.checkUrl}` : `did not answer at ${svc.checkUrl} within ${svc.spec.timeout} s`;
            throw new ServiceStartError(`Managed service ${svc.name} ${why}; stopping the hub (see the [service ${svc.name}] lines above)`);
          }
          log.warn(`Cannot connect to external service ${svc.name} at ${svc.spec.url}. Is it running?`);
        }
      }
    }
    await this.addRoutes();
    this.started = true;
    this.hub.routeRestorers.push(() => this.addRoutes());
    const every = this.hub.config.get<number>('JupyterHub', 'service_check_interval');
    this.hub.every(every, () => this.checkHealth());
  }

  private async startProcess(svc: Service): Promise<void> {
    const user = svc.spec.user ? lookupUser(svc.spec.user) : null;
    const env = svc.env();
    if (user) {
      env.USER = user.name;
      env.HOME = user.home;
      env.SHELL = user.shell;
    }
    svc.proc = new ManagedProcess({ name: svc.name, command: svc.spec.command, env, cwd: svc.spec.cwd ? svc.spec.cwd : this.hub.cwd, user });
    await svc.proc.start();
  }

  /** Poll origin+prefix until it answers (< 500), the process exits, or the deadline passes. */
  private async waitUp(svc: Service, timeoutMs: number): Promise<'up' | 'exited' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      if (this.stopping) return 'timeout';
      if (svc.managed && !svc.proc?.running) return 'exited';
      if (await probe(svc.checkUrl)) return 'up';
      if (Date.now() > deadline) return 'timeout';
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }

  async checkHealth(): Promise<void> {
    for (const svc of this.all()) {
      if (!svc.hasUrl) continue;
      if (await probe(svc.checkUrl)) log.debug(`${svc.kind === 'managed' ? 'Managed' : 'External'} service ${svc.name} running at ${svc.spec.url}`);
      else log.warn(`Cannot connect to ${svc.kind} service ${svc.name} at ${svc.spec.url}`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.all()
        .filter((s) => s.proc)
        .map((s) => s.proc!.stop().catch((e) => log.error(`Error stopping service ${s.name}: ${(e as Error).message}`))),
    );
  }
}

class ServiceConflict extends Error {}

function parseState(s: string | null | undefined): Record<string, unknown> {
  try {
    const v = JSON.parse(s || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** One readiness/health probe: any HTTP answer below 500 within 1 s. */
async function probe(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(1000) });
    await r.body?.cancel().catch(() => {});
    return r.status < 500;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- OAuth client storage

/** Register (create or update) a service's OAuth client through the OAuth provider module. */
async function registerClient(hub: Hub, o: ClientRegistration): Promise<void> {
  await registerOAuthClient(hub, {
    identifier: o.clientId,
    secret: o.secret,
    redirect_uri: o.redirectUri,
    description: o.description,
    allowed_scopes: o.allowedScopes,
    service_id: o.serviceId,
    user_id: null,
    spawner_id: null,
    no_confirm: o.noConfirm,
  });
}

/** Delete an OAuth client and the tokens and codes it issued. */
async function deleteClient(hub: Hub, clientId: string): Promise<void> {
  await deleteOAuthClient(hub, clientId);
}
