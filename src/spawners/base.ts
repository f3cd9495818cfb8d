/**
 * The Spawner extension point, as JupyterHub's `jupyterhub.spawner.Spawner`: one instance per
 * (user, server name), created by the spawn machinery (`manager.ts`). A spawner starts the
 * single-user server and returns its URL, polls it, stops it, and keeps what it needs to find
 * it again in `getState()` (stored as JSON in the `spawners` table).
 *
 * Traits are read through `this.trait(name)`: the most specific configuration class wins
 * (`LocalProcessSpawner.cmd` sees `c.Spawner.cmd`), then per-instance overrides
 * (`apply_user_options` dict, `group_overrides`) take precedence.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { Hub } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import type { ProgressEvent } from '../hub/servers.js';

export interface SpawnerInit {
  hub: Hub;
  user: UserRow;
  /** Server name ('' for the default server). */
  name: string;
  /** Primary key of the `spawners` row. */
  id: number;
  /** Configuration class name used for trait look-ups (e.g. 'LocalProcessSpawner'). */
  configClass: string;
}

/** Thrown by spawners for a failure that should reach the user as-is. */
export class SpawnError extends Error {
  constructor(message: string, readonly status = 500) {
    super(message);
  }
}

/** Parse a ByteSpecification ('1G', '512M', 1024) into bytes. */
export function parseBytes(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return Math.floor(v);
  const m = /^\s*([0-9.]+)\s*([KMGT]?)B?\s*$/i.exec(String(v));
  if (!m) return null;
  const mult: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
  return Math.floor(Number(m[1]) * mult[m[2].toUpperCase()]);
}

/** A free TCP port on `ip` (bound then released). */
export function randomPort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, ip || '0.0.0.0', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A port kept bound (listening, so that nothing else is given it) until released. */
export interface PortReservation {
  readonly port: number;
  /** Free the port (idempotent); do it right before starting the process that binds it. */
  release(): void;
}

/** Ports released recently: their servers may still be starting, so they are not given again for a while. */
const recentPorts = new Map<number, number>();
const RECENT_MS = 60_000;

/** Local ports this machine does not use for outgoing connections, from its sysctls; null if unknown or too few. */
let portRangeCache: { at: number; range: { lo: number; hi: number; reserved: Set<number> } | null } | null = null;
async function serverPortRange(): Promise<{ lo: number; hi: number; reserved: Set<number> } | null> {
  if (portRangeCache && Date.now() - portRangeCache.at < 60_000) return portRangeCache.range;
  let range: { lo: number; hi: number; reserved: Set<number> } | null = null;
  try {
    const [eph, res] = await Promise.all([
      fs.promises.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
      fs.promises.readFile('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8').catch(() => ''),
    ]);
    const hi = Number(eph.trim().split(/\s+/)[1]);
    const reserved = new Set<number>();
    for (const part of res.trim().split(',').filter(Boolean)) {
      const [a, b] = part.split('-').map(Number);
      for (let p = a; p <= (b || a) && p - a < 65536; p++) reserved.add(p);
    }
    if (Number.isInteger(hi) && 65535 - hi >= 1000) range = { lo: hi + 1, hi: 65535, reserved };
  } catch {
    /* not Linux */
  }
  portRangeCache = { at: Date.now(), range };
  return range;
}

function listenOn(port: number, host: string): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', (e: NodeJS.ErrnoException) => (port && (e.code === 'EADDRINUSE' || e.code === 'EACCES') ? resolve(null) : reject(e)));
    s.listen({ port, host, backlog: 1 }, () => resolve(s));
  });
}

/**
 * A free TCP port on `ip` for a server, held (listening) until `release()`, which should come
 * right before the server starts: meanwhile neither a concurrent spawn nor anything else can
 * be given it. The port is random, and taken above the range the kernel uses for the local
 * side of outgoing connections when there is room: an outgoing connection made from the
 * server's port between its release and the server's bind, or the TIME_WAIT it leaves for a
 * minute afterwards, would make the server's bind fail with "address in use". Otherwise (and
 * when that range is full) any free port, as JupyterHub's random_port.
 */
export async function reservePort(ip = '127.0.0.1', within?: [number, number]): Promise<PortReservation> {
  const host = ip || '0.0.0.0';
  const now = Date.now();
  for (const [p, until] of recentPorts) if (until < now) recentPorts.delete(p);
  if (within?.length === 2) return hold(await portWithin(host, within[0], within[1]));
  const range = await serverPortRange();
  let server: net.Server | null = null;
  for (let i = 0; range && !server && i < 20; i++) {
    const p = range.lo + Math.floor(Math.random() * (range.hi - range.lo + 1));
    if (!recentPorts.has(p) && !range.reserved.has(p)) server = await listenOn(p, host);
  }
  for (let i = 0; !server && i < 20; i++) {
    const s = (await listenOn(0, host))!;
    if (!recentPorts.has((s.address() as net.AddressInfo).port)) server = s;
    else s.close();
  }
  if (!server) server = (await listenOn(0, host))!;
  return hold(server);
}

/** A free port in [lo, hi] (Spawner.port_range): random tries, then every port in turn. */
async function portWithin(host: string, lo: number, hi: number): Promise<net.Server> {
  for (let i = 0; i < 20; i++) {
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    const s = recentPorts.has(p) ? null : await listenOn(p, host);
    if (s) return s;
  }
  for (const skipRecent of [true, false])
    for (let p = lo; p <= hi; p++) {
      if (skipRecent && recentPorts.has(p)) continue;
      const s = await listenOn(p, host);
      if (s) return s;
    }
  throw new Error(`no free port in Spawner.port_range [${lo}, ${hi}] on ${host}`);
}

function hold(s: net.Server): PortReservation {
  const port = (s.address() as net.AddressInfo).port;
  let open = true;
  return {
    port,
    release() {
      if (!open) return;
      open = false;
      // The socket is closed synchronously; only the callback comes later.
      s.close();
      recentPorts.set(port, Date.now() + RECENT_MS);
    },
  };
}

/** str() of a Python float: 2 → '2.0', 1.5 → '1.5'. */
export function pyFloat(v: unknown): string {
  const n = Number(v);
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Python-style `str.format` with named fields only: '{username}' → value; '{{' → '{'. Unknown fields are left as they are. */
export function formatNamed(s: string, ns: Record<string, string>): string {
  return s.replace(/\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, k: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    return k !== undefined && k in ns ? ns[k] : m;
  });
}

export class Spawner {
  readonly hub: Hub;
  readonly user: UserRow;
  readonly name: string;
  readonly id: number;
  readonly configClass: string;
  /** Per-instance trait values, over the configuration (apply_user_options, group_overrides). */
  readonly overrides: Record<string, unknown> = {};
  /** The server's API token (also its OAuth client secret); set by the hub before start(). */
  apiToken = '';
  /** OAuth client id of the server (jupyterhub-user-<name>[-<server>]). */
  oauthClientId = '';
  /** The server's base URL path, e.g. /user/alice/ (named: /user/alice/gpu/). */
  serverPrefix = '';
  /** Options given for this spawn (from the form, the API body or the query). */
  userOptions: Record<string, unknown> = {};
  /** Where start() finally bound; filled by start(). */
  ip = '';
  port = 0;
  /** Scopes the server's OAuth client may grant, as resolved at spawn time. */
  oauthAccessScopes: string[] = [];
  /** Keep the server's API token and OAuth client after stop (resumable spawners). */
  willResume = false;
  /** The hub's variables for this server (§3.1), computed from ip/port once start() chose them. */
  hubEnv: ((s: Spawner) => Record<string, string>) | null = null;
  /** Called for each progress event (set by the spawn machinery). */
  onProgress: ((e: ProgressEvent) => void) | null = null;

  constructor(init: SpawnerInit) {
    this.hub = init.hub;
    this.user = init.user;
    this.name = init.name;
    this.id = init.id;
    this.configClass = init.configClass;
  }

  /** A trait value: instance override, else configuration (most specific class wins). */
  trait<T>(name: string): T {
    if (Object.prototype.hasOwnProperty.call(this.overrides, name)) return this.overrides[name] as T;
    return this.hub.config.get<T>(this.configClass, name);
  }

  /** "alice" or "alice:gpu", as JupyterHub names servers in logs and messages. */
  get logName(): string {
    return this.name ? `${this.user.name}:${this.name}` : this.user.name;
  }

  // ---- common traits -------------------------------------------------------------------
  get cmd(): string[] {
    const c = this.trait<string[] | string>('cmd');
    return Array.isArray(c) ? c.map(String) : String(c || 'jupyterhub-singleuser').split(/\s+/).filter(Boolean);
  }
  get args(): string[] {
    return (this.trait<string[]>('args') ?? []).map(String);
  }
  get startTimeout(): number {
    return Number(this.trait<number>('start_timeout') ?? 60);
  }
  get httpTimeout(): number {
    return Number(this.trait<number>('http_timeout') ?? 30);
  }
  get pollInterval(): number {
    return Number(this.trait<number>('poll_interval') ?? 30);
  }
  get pollJitter(): number {
    return Number(this.trait<number>('poll_jitter') ?? 0.1);
  }

  /** Namespace of format strings (default_url, notebook_dir, home_dir_template...). */
  templateNamespace(): Record<string, string> {
    const ns: Record<string, string> = { username: this.user.name };
    if (this.serverPrefix) ns.base_url = this.serverPrefix;
    return ns;
  }
  formatString(s: string): string {
    return formatNamed(s, this.templateNamespace());
  }

  /** Call a value that may be a function of the spawner (JS configs), awaiting promises. */
  protected async resolve<T>(v: unknown, ...args: unknown[]): Promise<T> {
    return (typeof v === 'function' ? await (v as (...a: unknown[]) => unknown)(this, ...args) : v) as T;
  }

  /**
   * The environment of the server: env_keep from the hub's environment, then the hub's
   * variables (singleuser-and-services.md §3.1, prepared by the manager in `hubEnv`), then
   * `Spawner.environment` (values may be functions of the spawner) last.
   */
  async getEnv(): Promise<Record<string, string>> {
    const hubEnv = this.hubEnv ? this.hubEnv(this) : {};
    const env: Record<string, string> = {};
    for (const k of this.trait<string[]>('env_keep') ?? []) {
      const v = this.hub.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, hubEnv);
    const mem = parseBytes(this.trait('mem_limit'));
    if (mem !== null) env.MEM_LIMIT = String(mem);
    const memg = parseBytes(this.trait('mem_guarantee'));
    if (memg !== null) env.MEM_GUARANTEE = String(memg);
    const cpu = this.trait<number | null>('cpu_limit');
    if (cpu !== null && cpu !== undefined) env.CPU_LIMIT = pyFloat(cpu);
    const cpug = this.trait<number | null>('cpu_guarantee');
    if (cpug !== null && cpug !== undefined) env.CPU_GUARANTEE = pyFloat(cpug);
    const du = this.trait<string>('default_url');
    if (du) env.JUPYTERHUB_DEFAULT_URL = this.formatString(du);
    const nd = this.trait<string>('notebook_dir');
    if (nd) env.JUPYTERHUB_ROOT_DIR = this.formatString(nd);
    if (this.trait<boolean>('debug')) env.JUPYTERHUB_DEBUG = '1';
    if (this.trait<boolean>('disable_user_config')) env.JUPYTERHUB_DISABLE_USER_CONFIG = '1';
    const extra = this.trait<Record<string, unknown>>('environment') ?? {};
    for (const [k, v] of Object.entries(extra)) {
      const val = await this.resolve<unknown>(v);
      if (val !== null && val !== undefined) env[k] = String(val);
    }
    return env;
  }

  // ---- options form --------------------------------------------------------------------
  async getOptionsForm(): Promise<string> {
    const f = this.trait<unknown>('options_form');
    const v = await this.resolve<unknown>(f);
    return typeof v === 'string' ? v : '';
  }
  /** Form data (lists of strings) → user_options. */
  async optionsFromForm(form: Record<string, string[]>): Promise<Record<string, unknown>> {
    const fn = this.trait<unknown>('options_from_form');
    if (typeof fn === 'function') return ((await (fn as (f: unknown, s: unknown) => unknown)(form, this)) ?? {}) as Record<string, unknown>;
    return form;
  }
  /** Query arguments → user_options (default: as options_from_form). */
  async optionsFromQuery(query: Record<string, string[]>): Promise<Record<string, unknown>> {
    return this.optionsFromForm(query);
  }
  /** Apply user_options: a function (spawner, options) or a dict {option: trait}. */
  async applyUserOptions(): Promise<void> {
    const a = this.trait<unknown>('apply_user_options');
    if (typeof a === 'function') await (a as (s: unknown, o: unknown) => unknown)(this, this.userOptions);
    else if (a && typeof a === 'object') {
      for (const [opt, traitName] of Object.entries(a as Record<string, string>)) {
        if (opt in this.userOptions) this.overrides[traitName] = this.userOptions[opt];
      }
    }
  }
  /** group_overrides: {key: {groups: [...], spawner_override: {...}}} in key order. */
  async applyGroupOverrides(groups: string[]): Promise<void> {
    const g = await this.resolve<Record<string, { groups?: string[]; spawner_override?: Record<string, unknown> }>>(this.trait('group_overrides'));
    if (!g || typeof g !== 'object') return;
    for (const key of Object.keys(g).sort()) {
      const o = g[key];
      if (o?.groups?.some((x) => groups.includes(x))) Object.assign(this.overrides, o.spawner_override ?? {});
    }
  }

  async runPreSpawnHook(): Promise<void> {
    const h = this.trait<unknown>('pre_spawn_hook');
    if (typeof h === 'function') await (h as (s: unknown) => unknown)(this);
  }
  async runPostStopHook(): Promise<void> {
    const h = this.trait<unknown>('post_stop_hook');
    if (typeof h === 'function') await (h as (s: unknown) => unknown)(this);
  }
  async runAuthStateHook(authState: unknown): Promise<void> {
    const h = this.trait<unknown>('auth_state_hook');
    if (typeof h === 'function') await (h as (s: unknown, a: unknown) => unknown)(this, authState);
  }

  // ---- the life cycle subclasses implement -------------------------------------------------
  /** Start the server; returns its URL (`http://ip:port`). */
  async start(): Promise<string> {
    throw new SpawnError('This spawner cannot start servers');
  }
  /** null while running, else an exit status (0 if unknown). */
  async poll(): Promise<number | null> {
    return 0;
  }
  async stop(_now = false): Promise<void> {}
  /**
   * Progress events while starting (beyond 'Server requested'). Default: one
   * "Spawning server..." event, as JupyterHub's. Subclasses may emit more with emitProgress().
   */
  defaultProgress(): ProgressEvent[] {
    return [{ progress: 50, message: 'Spawning server...' }];
  }
  emitProgress(e: ProgressEvent): void {
    const { ready: _r, ...rest } = e;
    this.onProgress?.(rest);
  }

  getState(): Record<string, unknown> {
    return {};
  }
  loadState(_state: Record<string, unknown>): void {}
  clearState(): void {
    this.apiToken = '';
  }
}

export type SpawnerClass = new (init: SpawnerInit) => Spawner;
