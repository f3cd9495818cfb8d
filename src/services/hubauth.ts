/**
 * Writing JupyterHub services in Node: the equivalent of Python's
 * `jupyterhub.services.auth.HubAuth` / `HubOAuth` (singleuser-and-services.md §5, §10.3).
 *
 *   const auth = new HubOAuth({ hubUsers: ['alice'] });     // reads JUPYTERHUB_* from the environment
 *   http.createServer(auth.nodeHandler((req, res, user) => res.end(JSON.stringify(user))));
 *   app.use(auth.express());                                  // Express / Connect: req.hubUser
 *   fastify.register(hubAuthPlugin, { auth });                // Fastify: request.hubUser
 *
 * Token requests (`Authorization: token|bearer <t>`) are checked with `GET {api}/user`;
 * browsers without a valid cookie are sent through the hub's OAuth flow (state cookie,
 * PKCE, `{prefix}oauth_callback`), after which a signed cookie holds their OAuth token.
 * Answers of the hub are cached for `cacheMaxAge` seconds. This module depends on nothing
 * but Node itself, so a service can copy it.
 */
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What `GET {api}/user` returns (rest-api.md §6.6). */
export interface HubUser {
  kind: 'user' | 'service';
  name: string;
  admin?: boolean;
  groups?: string[];
  scopes: string[];
  session_id?: string | null;
  token_id?: string | null;
  [key: string]: unknown;
}

export interface HubAuthOptions {
  /** The service's own token (JUPYTERHUB_API_TOKEN); also its OAuth client secret. */
  apiToken?: string;
  /** Hub API URL (JUPYTERHUB_API_URL, default http://127.0.0.1:8081/hub/api). */
  apiUrl?: string;
  /** The service's URL prefix (JUPYTERHUB_SERVICE_PREFIX, default '/'). */
  baseUrl?: string;
  /** The hub's public prefix (JUPYTERHUB_BASE_URL + 'hub/'). */
  hubPrefix?: string;
  /** Public origin of the hub for browser redirects (JUPYTERHUB_HOST, usually ''). */
  hubHost?: string;
  /** Seconds to cache the hub's answer for a token (default 300). */
  cacheMaxAge?: number;
  /** A visitor needs one of these scopes (JUPYTERHUB_OAUTH_ACCESS_SCOPES; `access:services!service=<name>` by default). */
  accessScopes?: string[];
  /** Allowed scopes; default: accessScopes. Empty list: any identified user passes the scope check. */
  hubScopes?: string[];
  /** Only these user names are allowed (in addition to the scope check). */
  hubUsers?: string[];
  /** Only members of these groups are allowed (in addition to the scope check). */
  hubGroups?: string[];
  /** Accept `?token=` on non-websocket requests (JUPYTERHUB_ALLOW_TOKEN_IN_URL, default false). */
  allowTokenInUrl?: boolean;
  /** Paths (under baseUrl) that do not require a user, e.g. (p) => p.startsWith('/services/x/static/'). */
  isPublic?: (path: string) => boolean;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface HubOAuthOptions extends HubAuthOptions {
  /** OAuth client id (JUPYTERHUB_CLIENT_ID). */
  clientId?: string;
  /** OAuth redirect URI (JUPYTERHUB_OAUTH_CALLBACK_URL, default <baseUrl>oauth_callback). */
  redirectUri?: string;
  /** Key for the service's own signed cookies (default: random at each start, so logins end with a restart). */
  cookieSecret?: string | Buffer;
  /** Lifetime of the OAuth state cookie in seconds (600). */
  stateMaxAge?: number;
  /** Use PKCE (S256) in the OAuth flow (default true; a hub without PKCE support ignores it). */
  pkce?: boolean;
}

export class HubAuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The result of authenticating one request. */
export interface AuthOutcome {
  /** The allowed user/service, when the request may proceed. */
  user: HubUser | null;
  /** When set, answer with this (redirect, 403, callback result) and stop. */
  response?: { status: number; headers: Record<string, string | string[]>; body: string };
  /** Set-Cookie headers to add to the eventual response. */
  setCookies: string[];
}

interface ReqLike {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
}

function urlJoin(...parts: string[]): string {
  let out = parts[0] ?? '';
  for (const p of parts.slice(1)) out = out.replace(/\/+$/, '') + '/' + p.replace(/^\/+/, '');
  return out;
}

function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const h = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    let v = part.slice(i + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    try {
      v = decodeURIComponent(v);
    } catch {
      /* keep raw */
    }
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

interface CookieOpts {
  path: string;
  maxAge?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: string;
}
function serializeCookie(name: string, value: string, o: CookieOpts): string {
  let s = `${name}=${encodeURIComponent(value)}; Path=${o.path}`;
  if (o.maxAge !== undefined) {
    s += `; Max-Age=${o.maxAge}`;
    s += `; Expires=${new Date(Date.now() + o.maxAge * 1000).toUTCString()}`;
  }
  if (o.httpOnly !== false) s += '; HttpOnly';
  if (o.secure) s += '; Secure';
  if (o.sameSite) s += `; SameSite=${o.sameSite}`;
  return s;
}

/** Does `have` grant `required` (filter-aware, without group resolution)? Returns the matched required scopes. */
export function checkScopes(required: Iterable<string>, have: Iterable<string>): string[] {
  const h = new Set(have);
  const out: string[] = [];
  for (const r of required) {
    const base = r.split('!')[0];
    if (h.has(r) || h.has(base)) out.push(r);
    else if (r.includes('!server=')) {
      // access:servers!server=alice/x is granted by access:servers!user=alice
      const m = /!server=([^/]*)\//.exec(r);
      if (m && h.has(`${base}!user=${m[1]}`)) out.push(r);
    }
  }
  return out;
}

/** Cache with a maximum age per entry. */
class ExpiringMap<V> {
  private m = new Map<string, { v: V; exp: number }>();
  private lastPurge = Date.now();
  constructor(private maxAgeMs: number) {}
  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (e.exp < Date.now()) {
      this.m.delete(k);
      return undefined;
    }
    return e.v;
  }
  has(k: string): boolean {
    return this.get(k) !== undefined || (this.m.has(k) && this.m.get(k)!.exp >= Date.now());
  }
  set(k: string, v: V): void {
    const now = Date.now();
    if (now - this.lastPurge > this.maxAgeMs) {
      for (const [key, e] of this.m) if (e.exp < now) this.m.delete(key);
      this.lastPurge = now;
    }
    this.m.set(k, { v, exp: now + this.maxAgeMs });
  }
  delete(k: string): void {
    this.m.delete(k);
  }
  clear(): void {
    this.m.clear();
  }
}

function envList(v: string | undefined): string[] | null {
  if (!v) return null;
  try {
    const x = JSON.parse(v);
    return Array.isArray(x) ? x.map(String) : null;
  } catch {
    return null;
  }
}

function envBool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  return !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
}

/** Token-only authentication against the hub (HubAuth). */
export class HubAuth {
  readonly apiToken: string;
  readonly apiUrl: string;
  readonly baseUrl: string;
  readonly hubPrefix: string;
  readonly hubHost: string;
  readonly cacheMaxAge: number;
  readonly accessScopes: string[];
  readonly hubScopes: string[];
  readonly hubUsers: Set<string> | null;
  readonly hubGroups: Set<string> | null;
  readonly allowTokenInUrl: boolean;
  readonly isPublic: (path: string) => boolean;
  protected readonly env: NodeJS.ProcessEnv;
  protected readonly cache: ExpiringMap<HubUser | null>;

  constructor(o: HubAuthOptions = {}) {
    const env = (this.env = o.env ?? process.env);
    this.apiToken = o.apiToken ?? env.JUPYTERHUB_API_TOKEN ?? '';
    this.apiUrl = (o.apiUrl ?? env.JUPYTERHUB_API_URL ?? 'http://127.0.0.1:8081/hub/api').replace(/\/+$/, '');
    let base = o.baseUrl ?? (env.JUPYTERHUB_SERVICE_PREFIX || '/');
    if (!base.endsWith('/')) base += '/';
    this.baseUrl = base;
    this.hubPrefix = o.hubPrefix ?? urlJoin(env.JUPYTERHUB_BASE_URL || '/', 'hub') + '/';
    this.hubHost = o.hubHost ?? env.JUPYTERHUB_HOST ?? '';
    this.cacheMaxAge = o.cacheMaxAge ?? 300;
    this.accessScopes =
      o.accessScopes ??
      envList(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES) ??
      envList(env.JUPYTERHUB_OAUTH_SCOPES) ??
      (env.JUPYTERHUB_SERVICE_NAME ? [`access:services!service=${env.JUPYTERHUB_SERVICE_NAME}`] : []);
    this.hubScopes = o.hubScopes ?? this.accessScopes;
    this.hubUsers = o.hubUsers ? new Set(o.hubUsers) : null;
    this.hubGroups = o.hubGroups ? new Set(o.hubGroups) : null;
    this.allowTokenInUrl = o.allowTokenInUrl ?? envBool(env.JUPYTERHUB_ALLOW_TOKEN_IN_URL, false);
    this.isPublic = o.isPublic ?? (() => false);
    this.cache = new ExpiringMap(this.cacheMaxAge * 1000);
  }

  /** Where browsers log in; HubAuth (token only) has none. */
  get loginUrl(): string {
    return '';
  }

  /** A request to the hub API with the service's token unless headers say otherwise. */
  async apiRequest(method: string, url: string, init: { headers?: Record<string, string>; body?: string; allow403?: boolean } = {}): Promise<unknown> {
    const headers: Record<string, string> = { Authorization: `token ${this.apiToken}`, ...init.headers };
    let r: Response;
    try {
      r = await fetch(url, { method, headers, body: init.body, redirect: 'manual' });
    } catch (e) {
      throw new HubAuthError(500, `Failed to connect to Hub API at ${this.apiUrl}: ${(e as Error).message}`);
    }
    const text = await r.text();
    if (r.status === 403 && init.allow403) return null;
    if (r.status === 403) throw new HubAuthError(500, 'Permission failure checking authorization, I may need a new token');
    if (r.status >= 500) throw new HubAuthError(502, 'Failed to check authorization (upstream problem)');
    if (r.status >= 400) {
      let msg = 'Failed to check authorization';
      try {
        const j = JSON.parse(text);
        msg += ': ' + (j.error_description ?? j.error ?? j.message ?? 'Unknown error');
      } catch {
        /* not JSON */
      }
      throw new HubAuthError(500, msg);
    }
    return text ? JSON.parse(text) : null;
  }

  /** Identify the owner of a token with the hub (cached for cacheMaxAge). Null: not a valid token. */
  async userForToken(token: string, opts: { useCache?: boolean; sessionId?: string } = {}): Promise<HubUser | null> {
    const key = `token:${opts.sessionId ?? ''}:${crypto.createHash('sha256').update(token).digest('hex')}`;
    if (opts.useCache !== false) {
      const hit = this.cache.get(key);
      if (hit !== undefined || this.cache.has(key)) return hit ?? null;
    }
    const data = (await this.apiRequest('GET', `${this.apiUrl}/user`, { headers: { Authorization: `token ${token}` }, allow403: true })) as HubUser | null;
    if (data && !data.kind) data.kind = 'user';
    this.cache.set(key, data);
    return data;
  }

  /** The token a request presents: Authorization header, or ?token= (websockets, or allowTokenInUrl). */
  getToken(req: ReqLike): string | null {
    const mode = String(req.headers['sec-fetch-mode'] ?? '');
    if (this.allowTokenInUrl || mode === 'websocket' || isUpgrade(req)) {
      const t = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
      if (t) return t;
    }
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    return m ? m[1] : null;
  }

  sessionId(req: ReqLike): string {
    return parseCookies(req.headers.cookie).get('jupyterhub-session-id') ?? '';
  }

  /** Which of the required scopes a user model holds. */
  checkScopes(required: Iterable<string>, user: HubUser): string[] {
    return checkScopes(required, user.scopes ?? []);
  }

  /** Whether an identified user/service may use this service (scopes, then hubUsers/hubGroups). */
  checkHubUser(user: HubUser): boolean {
    if (this.hubScopes.length && !this.checkScopes(this.hubScopes, user).length) return false;
    if (this.hubUsers || this.hubGroups) {
      if (user.kind === 'service') return false;
      if (this.hubUsers?.has(user.name)) return true;
      if (this.hubGroups && (user.groups ?? []).some((g) => this.hubGroups!.has(g))) return true;
      return false;
    }
    return true;
  }

  /** The identified user of a request (not yet checked against hubUsers etc.), or null. */
  async getUser(req: ReqLike): Promise<{ user: HubUser | null; via: 'token' | 'cookie' | null }> {
    const token = this.getToken(req);
    if (token) {
      const user = await this.userForToken(token, { sessionId: this.sessionId(req) });
      if (user) return { user, via: 'token' };
    }
    return { user: null, via: null };
  }

  protected pathOf(req: ReqLike): string {
    return new URL(req.url ?? '/', 'http://x').pathname;
  }

  /** What to do with a request: proceed with a user, or answer (redirect/403). */
  async authenticate(req: ReqLike): Promise<AuthOutcome> {
    const setCookies: string[] = [];
    const path = this.pathOf(req);
    if (this.isPublic(path)) {
      const { user } = await this.getUser(req).catch(() => ({ user: null }));
      return { user: user && this.checkHubUser(user) ? user : null, setCookies };
    }
    const { user } = await this.getUser(req);
    if (user) {
      if (this.checkHubUser(user)) return { user, setCookies };
      return { user: null, setCookies, response: textResponse(403, `${user.kind} ${user.name} is not allowed.`) };
    }
    return this.unauthenticated(req, setCookies);
  }

  protected async unauthenticated(_req: ReqLike, setCookies: string[]): Promise<AuthOutcome> {
    return { user: null, setCookies, response: textResponse(403, 'Forbidden: a JupyterHub token is required') };
  }

  // ------------------------------------------------------------ adapters

  /** Wrap a node:http handler: it runs only for allowed users (also handles the OAuth callback). */
  nodeHandler(handler: (req: IncomingMessage & { hubUser?: HubUser }, res: ServerResponse, user: HubUser | null) => unknown) {
    return (req: IncomingMessage & { hubUser?: HubUser }, res: ServerResponse) => {
      this.authenticate(req).then(
        (out) => {
          if (applyOutcome(out, res)) return;
          if (out.user) req.hubUser = out.user;
          return handler(req, res, out.user);
        },
        (e) => sendError(res, e),
      );
    };
  }

  /** Express/Connect middleware: sets `req.hubUser` and calls next(), or answers itself. */
  express() {
    return (req: IncomingMessage & { hubUser?: HubUser }, res: ServerResponse, next: (err?: unknown) => void) => {
      this.authenticate(req).then(
        (out) => {
          if (applyOutcome(out, res)) return;
          if (out.user) req.hubUser = out.user;
          next();
        },
        (e) => (e instanceof HubAuthError ? sendError(res, e) : next(e)),
      );
    };
  }
}

function isUpgrade(req: ReqLike): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function textResponse(status: number, body: string, headers: Record<string, string | string[]> = {}): NonNullable<AuthOutcome['response']> {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body };
}

/** Add Set-Cookie headers; send the outcome's response if any. Returns true when answered. */
function applyOutcome(out: AuthOutcome, res: ServerResponse): boolean {
  if (out.setCookies.length) {
    const prev = res.getHeader('Set-Cookie');
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
    res.setHeader('Set-Cookie', [...list, ...out.setCookies]);
  }
  if (!out.response) return false;
  const r = out.response;
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  res.statusCode = r.status;
  res.end(r.body);
  return true;
}

function sendError(res: ServerResponse, e: unknown): void {
  const status = e instanceof HubAuthError ? e.status : 500;
  if (!res.headersSent) {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  }
  res.end(e instanceof HubAuthError ? e.message : 'Internal Server Error');
}

interface OAuthState {
  nextUrl: string;
  codeVerifier?: string;
  cookieName: string;
}

/** HubAuth plus the browser login flow through the hub's OAuth provider (HubOAuth). */
export class HubOAuth extends HubAuth {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly stateMaxAge: number;
  readonly pkce: boolean;
  readonly cookieHostPrefix: boolean;
  readonly cookieOptions: Record<string, unknown>;
  private readonly secret: Buffer;
  private readonly states: ExpiringMap<OAuthState>;

  constructor(o: HubOAuthOptions = {}) {
    super(o);
    const env = this.env;
    this.clientId = o.clientId ?? env.JUPYTERHUB_CLIENT_ID ?? '';
    if (!this.clientId) throw new Error('HubOAuth: the OAuth client id cannot be empty (set JUPYTERHUB_CLIENT_ID or clientId)');
    if (!this.apiToken) throw new Error('HubOAuth: the API token cannot be empty (set JUPYTERHUB_API_TOKEN or apiToken)');
    this.redirectUri = o.redirectUri ?? (env.JUPYTERHUB_OAUTH_CALLBACK_URL || urlJoin(this.baseUrl, 'oauth_callback'));
    this.stateMaxAge = o.stateMaxAge ?? 600;
    this.pkce = o.pkce ?? true;
    this.cookieHostPrefix = envBool(env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, false);
    try {
      this.cookieOptions = env.JUPYTERHUB_COOKIE_OPTIONS ? JSON.parse(env.JUPYTERHUB_COOKIE_OPTIONS) : {};
    } catch {
      this.cookieOptions = {};
    }
    this.secret = o.cookieSecret ? Buffer.from(o.cookieSecret) : crypto.randomBytes(32);
    this.states = new ExpiringMap(this.stateMaxAge * 1000);
  }

  /** The login cookie: named after the client id (`__Host-` prefixed when enabled). */
  get cookieName(): string {
    return this.cookieHostPrefix ? `__Host-${this.clientId}` : this.clientId;
  }
  get stateCookieName(): string {
    return `${this.cookieName}-oauth-state`;
  }
  get cookiePath(): string {
    return this.cookieHostPrefix ? '/' : this.baseUrl;
  }
  get authorizeUrl(): string {
    return this.hubHost + urlJoin(this.hubPrefix, 'api/oauth2/authorize');
  }
  get tokenUrl(): string {
    return `${this.apiUrl}/oauth2/token`;
  }
  override get loginUrl(): string {
    const q = new URLSearchParams({ client_id: this.clientId, redirect_uri: this.redirectUri, response_type: 'code' });
    return `${this.authorizeUrl}?${q}`;
  }
  /** The callback path (where the hub sends browsers back). */
  get callbackPath(): string {
    return new URL(this.redirectUri, 'http://x').pathname;
  }

  // signed values: base64url(value).expiry.hmac, bound to the cookie name
  sign(name: string, value: string, maxAgeSeconds: number): string {
    const v = Buffer.from(value).toString('base64url');
    const exp = Math.floor(Date.now() / 1000 + maxAgeSeconds);
    const mac = crypto.createHmac('sha256', this.secret).update(`${name}|${v}|${exp}`).digest('base64url');
    return `${v}.${exp}.${mac}`;
  }
  unsign(name: string, signed: string | undefined): string | null {
    if (!signed) return null;
    const [v, exp, mac] = signed.split('.');
    if (!v || !exp || !mac) return null;
    const want = crypto.createHmac('sha256', this.secret).update(`${name}|${v}|${exp}`).digest('base64url');
    const a = Buffer.from(want);
    const b = Buffer.from(mac);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return null;
    if (Number(exp) < Date.now() / 1000) return null;
    return Buffer.from(v, 'base64url').toString();
  }

  private secure(req: ReqLike): boolean {
    const pub = this.env.JUPYTERHUB_PUBLIC_URL;
    if (pub) return pub.startsWith('https:');
    const xf = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim();
    return xf === 'https' || !!(req as { socket?: { encrypted?: boolean } }).socket?.encrypted;
  }

  private cookie(req: ReqLike, name: string, value: string, maxAge?: number): string {
    const extra = this.cookieOptions;
    const secure = this.secure(req) || this.cookieHostPrefix || extra.secure === true;
    const sameSite = typeof extra.samesite === 'string' ? extra.samesite : typeof extra.sameSite === 'string' ? extra.sameSite : undefined;
    return serializeCookie(name, value, { path: this.cookiePath, httpOnly: true, secure, maxAge, sameSite });
  }
  private clearCookie(name: string): string {
    return serializeCookie(name, '', { path: this.cookiePath, maxAge: 0, secure: name.startsWith('__Host-') });
  }

  /** PKCE verifier/challenge (S256). */
  generatePkce(): { verifier: string; challenge: string } {
    const verifier = crypto.randomBytes(32).toString('base64url');
    return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
  }

  /** Exchange an OAuth code for the user's access token. */
  async tokenForCode(code: string, codeVerifier?: string): Promise<string> {
    const params = new URLSearchParams({
      client_id: this.clientId,
      client_secret: this.apiToken,
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri,
    });
    if (codeVerifier) params.set('code_verifier', codeVerifier);
    const reply = (await this.apiRequest('POST', this.tokenUrl, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: params.toString() })) as { access_token?: string };
    if (!reply?.access_token) throw new HubAuthError(500, 'OAuth token exchange returned no access token');
    return reply.access_token;
  }

  override async getUser(req: ReqLike): Promise<{ user: HubUser | null; via: 'token' | 'cookie' | null }> {
    const byToken = await super.getUser(req);
    if (byToken.user) return byToken;
    const cookies = parseCookies(req.headers.cookie);
    const token = this.unsign(this.cookieName, cookies.get(this.cookieName));
    if (!token) return { user: null, via: null };
    if (isUpgrade(req) && !envBool(this.env.JUPYTERHUB_ALLOW_WEBSOCKET_COOKIE_AUTH, true)) return { user: null, via: null };
    if (!this.crossSiteSafe(req)) return { user: null, via: null };
    const user = await this.userForToken(token, { sessionId: this.sessionId(req) });
    return { user, via: user ? 'cookie' : null };
  }

  /**
   * Cookie authentication of state-changing requests only from the same site: methods other
   * than GET/HEAD/OPTIONS need `Sec-Fetch-Site: same-origin` (or no fetch metadata and an
   * Origin matching Host, or neither header).
   */
  private crossSiteSafe(req: ReqLike): boolean {
    const m = (req.method ?? 'GET').toUpperCase();
    if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') return true;
    const site = req.headers['sec-fetch-site'];
    if (site) return site === 'same-origin';
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return new URL(String(origin)).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /** Start the OAuth flow: state (+PKCE) in memory and in a signed cookie; the authorize URL to redirect to. */
  startLogin(req: ReqLike, nextUrl: string, setCookies: string[]): string {
    const cookies = parseCookies(req.headers.cookie);
    let cookieName = this.stateCookieName;
    if (cookies.has(cookieName)) cookieName += '-' + crypto.randomBytes(6).toString('base64url').replace(/[^A-Za-z]/g, 'x').slice(0, 8);
    const stateId = crypto.randomBytes(16).toString('base64url');
    const params: Record<string, string> = { state: stateId };
    let codeVerifier: string | undefined;
    if (this.pkce) {
      const p = this.generatePkce();
      codeVerifier = p.verifier;
      params.code_challenge = p.challenge;
      params.code_challenge_method = 'S256';
    }
    this.states.set(stateId, { nextUrl, codeVerifier, cookieName });
    setCookies.push(this.cookie(req, cookieName, this.sign(cookieName, stateId, this.stateMaxAge), this.stateMaxAge));
    return `${this.loginUrl}&${new URLSearchParams(params)}`;
  }

  /** Finish the OAuth flow at the callback URL. */
  async handleCallback(req: ReqLike, setCookies: string[]): Promise<AuthOutcome> {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const error = q.get('error');
    if (error) return { user: null, setCookies, response: textResponse(400, `Error in oauth: ${q.get('error_description') ?? error}`) };
    const code = q.get('code');
    if (!code) return { user: null, setCookies, response: textResponse(400, 'OAuth callback made without a token') };
    const stateId = q.get('state');
    if (!stateId) return { user: null, setCookies, response: textResponse(400, 'OAuth state is missing. Try logging in again.') };
    const cookies = parseCookies(req.headers.cookie);
    const state = this.states.get(stateId);
    const cookieName = state?.cookieName ?? this.stateCookieName;
    const cookieState = this.unsign(cookieName, cookies.get(cookieName));
    for (const name of cookies.keys()) if (name.startsWith(this.stateCookieName)) setCookies.push(this.clearCookie(name));
    if (!cookieState || cookieState !== stateId || !state) {
      return { user: null, setCookies, response: textResponse(403, 'oauth state does not match. Try logging in again.') };
    }
    this.states.delete(stateId);
    const token = await this.tokenForCode(code, state.codeVerifier);
    const user = await this.userForToken(token, { sessionId: this.sessionId(req) });
    if (!user) throw new HubAuthError(500, 'oauth callback failed to identify a user');
    setCookies.push(this.cookie(req, this.cookieName, this.sign(this.cookieName, token, 30 * 86400), 30 * 86400));
    const next = safeNext(state.nextUrl, this.baseUrl);
    return { user: null, setCookies, response: { status: 302, headers: { Location: next }, body: '' } };
  }

  /** Forget the login cookie (a logout handler of the service can send this). */
  logoutCookies(): string[] {
    return [this.clearCookie(this.cookieName)];
  }

  override async authenticate(req: ReqLike): Promise<AuthOutcome> {
    const setCookies: string[] = [];
    if (this.pathOf(req) === this.callbackPath && (req.method ?? 'GET').toUpperCase() === 'GET') return this.handleCallback(req, setCookies);
    const out = await super.authenticate(req);
    return out;
  }

  protected override async unauthenticated(req: ReqLike, setCookies: string[]): Promise<AuthOutcome> {
    const cookies = parseCookies(req.headers.cookie);
    // a stale login cookie (token expired/revoked): clear it
    if (cookies.has(this.cookieName)) setCookies.push(this.clearCookie(this.cookieName));
    const m = (req.method ?? 'GET').toUpperCase();
    const hasAuthHeader = !!req.headers.authorization;
    if ((m === 'GET' || m === 'HEAD') && !hasAuthHeader && !isUpgrade(req)) {
      const location = this.startLogin(req, req.url ?? this.baseUrl, setCookies);
      return { user: null, setCookies, response: { status: 302, headers: { Location: location }, body: '' } };
    }
    return { user: null, setCookies, response: textResponse(403, 'Forbidden') };
  }
}

/** Only same-site relative redirects after login. */
function safeNext(next: string, fallback: string): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}

/**
 * Fastify plugin: `fastify.register(hubAuthPlugin, { auth })`. Applies to the routes of the
 * registering scope (it is not encapsulated), sets `request.hubUser`, answers the OAuth
 * callback and login redirects itself.
 */
export function hubAuthPlugin(
  fastify: {
    addHook: (name: 'onRequest', fn: (req: { raw: IncomingMessage; hubUser?: HubUser | null }, reply: FastifyReplyLike) => Promise<unknown>) => unknown;
    decorateRequest?: (name: string, value: unknown) => unknown;
  },
  opts: { auth: HubAuth },
  done?: (err?: Error) => void,
): void {
  const auth = opts.auth;
  fastify.decorateRequest?.('hubUser', null);
  fastify.addHook('onRequest', async (req, reply) => {
    let out: AuthOutcome;
    try {
      out = await auth.authenticate(req.raw);
    } catch (e) {
      const status = e instanceof HubAuthError ? e.status : 500;
      return reply.code(status).type('text/plain; charset=utf-8').send(e instanceof HubAuthError ? e.message : 'Internal Server Error');
    }
    for (const c of out.setCookies) reply.header('Set-Cookie', c);
    if (out.response) {
      reply.code(out.response.status);
      for (const [k, v] of Object.entries(out.response.headers)) reply.header(k, v);
      return reply.send(out.response.body);
    }
    req.hubUser = out.user;
  });
  done?.();
}
(hubAuthPlugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(hubAuthPlugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'jhub-hubauth';

interface FastifyReplyLike {
  code(n: number): FastifyReplyLike;
  header(k: string, v: unknown): FastifyReplyLike;
  type(t: string): FastifyReplyLike;
  send(body?: unknown): unknown;
}
