/**
 * GenericOAuthenticator / LocalGenericOAuthenticator (config.md §8): log in through any
 * OAuth 2 / OpenID Connect provider, with oauthenticator 17's trait names and behaviour.
 *
 * The protocol (authorization URL, PKCE S256, callback checks, code exchange, refresh, ID
 * token validation) is done by `openid-client`. When `scope` contains `openid`, the
 * provider's OIDC discovery document is looked up (issuer candidates derived from
 * authorize_url); when found and its endpoints match, ID tokens are validated (issuer,
 * audience, expiry) by openid-client. Otherwise the endpoints are used as configured (plain
 * OAuth 2).
 *
 * Email rule: when the user name comes from the `email` claim and the provider sends
 * `email_verified`, login is refused unless it is true (true or "true"). Providers that
 * do not send `email_verified` are trusted as before.
 */
import http from 'node:http';
import https from 'node:https';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { ConfigError } from '../config/errors.js';
import { HttpError } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import { signValue, unsignValue, newToken } from '../util/crypto.js';
import { Authenticator, log, truncateName, type AuthContext, type AuthModel, type RefreshResult } from './base.js';
import { ensureSystemUser } from './local.js';
import { completeLogin } from './login.js';
import { isSecureRequest } from './util.js';

export const STATE_COOKIE = 'oauthenticator-state';

/** fetch() that can skip TLS verification (validate_server_cert = False). */
function insecureFetch(url: string, init: { method?: string; headers?: unknown; body?: unknown; signal?: AbortSignal | null }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(init.headers as HeadersInit | undefined).forEach((v, k) => (headers[k] = v));
    let body: Buffer | null = null;
    if (init.body !== undefined && init.body !== null) body = Buffer.from(typeof init.body === 'string' ? init.body : String(init.body));
    if (body && !headers['content-length']) headers['content-length'] = String(body.length);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method: init.method ?? 'GET', headers, rejectUnauthorized: false, signal: init.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        const status = res.statusCode ?? 500;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: h }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Follow a dotted path ('oauth_user.groups') into an object. */
function dig(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const parts = jwt.split('.');
  if (parts.length < 2) throw new Error('id_token is not a JWT');
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** Plain JSON copy of a token endpoint response (no helper methods). */
function plainTokenResponse(t: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (typeof v !== 'function') out[k] = v;
  return out;
}

function oauthErrorMessage(e: unknown): { status: number; message: string } {
  if (e instanceof oidc.ResponseBodyError || e instanceof oidc.AuthorizationResponseError) {
    const d = (e as { error_description?: string }).error_description;
    return { status: 400, message: `OAuth error: ${d ? `${e.error}: ${d}` : e.error}` };
  }
  if (e instanceof HttpError) return { status: e.status, message: e.message };
  const err = e as Error & { code?: string; cause?: unknown };
  if (err?.code && String(err.code).startsWith('OAUTH_')) return { status: 400, message: `OAuth error: ${err.message}` };
  return { status: 502, message: `Error talking to the OAuth provider: ${err?.message ?? String(e)}` };
}

export class GenericOAuthenticator extends Authenticator {
  private configuration: Promise<oidc.Configuration> | null = null;
  /** True when the provider's OIDC discovery matched (ID tokens are validated). */
  discovered = false;
  allowedGroups = new Set<string>();
  adminGroups = new Set<string>();

  override get loginService(): string {
    return this.cfg<string>('login_service') || 'OAuth 2.0';
  }

  override async init(): Promise<void> {
    await super.init();
    const c = this.cls;
    this.allowedGroups = this.cfgSet('allowed_groups');
    this.adminGroups = this.cfgSet('admin_groups');
    if (!this.manageGroups) {
      for (const t of ['allowed_groups', 'admin_groups', 'auth_state_groups_key', 'claim_groups_key']) {
        if (this.hub.config.isSet(c, t)) throw new ConfigError(`${c}.${t} requires ${c}.manage_groups = True (oauthenticator 17)`);
      }
    }
    const missing = ['client_id', 'authorize_url', 'token_url'].filter((t) => !this.cfg<string>(t));
    if (missing.length) throw new ConfigError(`${c} needs ${missing.map((m) => `${c}.${m}`).join(', ')} to be set`);
    if (!this.cfg<string>('userdata_url') && !this.cfg<boolean>('userdata_from_id_token') && !this.scopes().includes('openid'))
      throw new ConfigError(`${c}.userdata_url is not set (or set ${c}.userdata_from_id_token = True)`);
    const method = this.cfg<string>('userdata_token_method');
    if (method && !['header', 'url'].includes(method)) throw new ConfigError(`${c}.userdata_token_method must be 'header' or 'url', not '${method}'`);
  }

  protected override hasOtherAllowConfig(): boolean {
    return this.allowedGroups.size > 0 || this.adminGroups.size > 0 || (this.cfg<string[]>('allowed_scopes') ?? []).length > 0;
  }

  scopes(): string[] {
    const s = this.cfg<unknown>('scope');
    if (typeof s === 'string') return s.split(/\s+/).filter(Boolean);
    return Array.isArray(s) ? s.map(String) : [];
  }

  private fetchImpl(): oidc.CustomFetch | undefined {
    if (this.cfg<boolean>('validate_server_cert') === false || this.cfg<boolean>('tls_verify') === false)
      return insecureFetch as unknown as oidc.CustomFetch;
    return undefined;
  }

  private clientAuth(): oidc.ClientAuth {
    const secret = this.cfg<string>('client_secret');
    if (!secret) return oidc.None();
    return this.cfg<boolean>('basic_auth') ? oidc.ClientSecretBasic(secret) : oidc.ClientSecretPost(secret);
  }

  /** The openid-client Configuration: OIDC discovery when possible, else the configured endpoints. */
  getConfiguration(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      this.configuration = this.buildConfiguration().catch((e) => {
        this.configuration = null;
        throw e;
      });
    }
    return this.configuration;
  }

  private async buildConfiguration(): Promise<oidc.Configuration> {
    const authorizeUrl = this.cfg<string>('authorize_url');
    const tokenUrl = this.cfg<string>('token_url');
    const userdataUrl = this.cfg<string>('userdata_url');
    const clientId = this.cfg<string>('client_id');
    const f = this.fetchImpl();
    const insecureHttp = (u: string) => u.startsWith('http:');
    if (this.scopes().includes('openid')) {
      const u = new URL(authorizeUrl);
      const segs = u.pathname.split('/').filter(Boolean);
      for (let i = segs.length - 1; i >= 0 && i >= segs.length - 5; i--) {
        const issuer = u.origin + (i > 0 ? '/' + segs.slice(0, i).join('/') : '');
        try {
          const opts: oidc.DiscoveryRequestOptions = { timeout: 10 };
          if (f) (opts as Record<symbol, unknown>)[oidc.customFetch] = f;
          if (insecureHttp(issuer)) opts.execute = [oidc.allowInsecureRequests];
          const conf = await oidc.discovery(new URL(issuer), clientId, undefined, this.clientAuth(), opts);
          const md = conf.serverMetadata();
          if (md.authorization_endpoint === authorizeUrl && (!tokenUrl || md.token_endpoint === tokenUrl)) {
            this.discovered = true;
            log.info(`OAuth provider ${issuer}: using its OpenID Connect discovery document (ID tokens are validated)`);
            if (f) conf[oidc.customFetch] = f;
            return conf;
          }
        } catch {
          /* try the next candidate */
        }
      }
      log.info('OAuth provider offers no matching OpenID Connect discovery document; using the configured endpoints');
    }
    const conf = new oidc.Configuration(
      {
        issuer: new URL(authorizeUrl).origin,
        authorization_endpoint: authorizeUrl,
        token_endpoint: tokenUrl,
        ...(userdataUrl ? { userinfo_endpoint: userdataUrl } : {}),
      },
      clientId,
      undefined,
      this.clientAuth(),
    );
    if (f) conf[oidc.customFetch] = f;
    if (insecureHttp(authorizeUrl) || insecureHttp(tokenUrl)) oidc.allowInsecureRequests(conf);
    return conf;
  }

  callbackUrl(req: FastifyRequest): string {
    const configured = this.cfg<string>('oauth_callback_url');
    if (configured) return configured;
    const pub = this.hub.publicUrl;
    if (pub) return new URL(this.hub.hubPrefix + 'oauth_callback', pub).href;
    return `${req.protocol}://${req.host}${this.hub.hubPrefix}oauth_callback`;
  }

  override loginUrl(hubPrefix: string): string {
    return hubPrefix + 'oauth_login';
  }

  override logoutRedirectUrl(): string {
    return this.cfg<string>('logout_redirect_url') || '';
  }

  override async getHandlers(app: FastifyInstance): Promise<void> {
    const hub = this.hub;
    app.get(`${hub.hubPrefix}oauth_login`, async (req, reply) => this.handleLogin(req, reply));
    app.get(`${hub.hubPrefix}oauth_callback`, async (req, reply) => this.handleCallback(req, reply));
  }

  private stateCookieOptions(req: FastifyRequest) {
    return { path: '/', httpOnly: true, secure: isSecureRequest(this.hub, req), sameSite: 'lax' as const };
  }

  async handleLogin(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const q = req.query as Record<string, string | undefined>;
    const conf = await this.getConfiguration().catch((e) => {
      throw new HttpError(502, `Cannot reach the OAuth provider: ${(e as Error).message}`);
    });
    const stateId = newToken();
    const nextUrl = typeof q.next === 'string' ? q.next : '';
    // oauthenticator's state: base64url(JSON {state_id, next_url}); opaque to the provider
    const state = Buffer.from(JSON.stringify({ state_id: stateId, next_url: nextUrl })).toString('base64url');
    const params: Record<string, string> = {
      redirect_uri: this.callbackUrl(req),
      response_type: 'code',
      state,
    };
    const scope = this.scopes();
    if (scope.length) params.scope = scope.join(' ');
    let verifier = '';
    if (this.cfg<boolean>('enable_pkce') !== false) {
      verifier = oidc.randomPKCECodeVerifier();
      params.code_challenge = await oidc.calculatePKCECodeChallenge(verifier);
      params.code_challenge_method = 'S256';
    }
    for (const [k, v] of Object.entries(this.cfg<Record<string, unknown>>('extra_authorize_params') ?? {})) params[k] = String(v);
    const url = oidc.buildAuthorizationUrl(conf, params);
    const cookieValue = signValue(this.hub.cookieSecret, STATE_COOKIE, JSON.stringify({ state, verifier }), 86400);
    reply.setCookie(STATE_COOKIE, cookieValue, { ...this.stateCookieOptions(req), maxAge: 86400 });
    return reply.redirect(url.href, 302);
  }

  async handleCallback(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const q = req.query as Record<string, string | undefined>;
    if (q.error) throw new HttpError(400, `OAuth error: ${q.error_description || q.error}`);
    if (!q.code) throw new HttpError(400, 'OAuth callback made without a code');
    const raw = unsignValue(this.hub.cookieSecret, STATE_COOKIE, req.cookies?.[STATE_COOKIE]);
    reply.clearCookie(STATE_COOKIE, { path: '/' });
    let cookie: { state?: string; verifier?: string } = {};
    try {
      cookie = raw ? JSON.parse(raw) : {};
    } catch {
      cookie = {};
    }
    if (!cookie.state) throw new HttpError(400, 'OAuth state missing from cookies');
    if (!q.state) throw new HttpError(400, 'OAuth state missing from URL');
    if (q.state !== cookie.state) {
      log.warn('OAuth state mismatch');
      throw new HttpError(400, 'OAuth state mismatch');
    }
    let nextUrl = '';
    try {
      nextUrl = String(JSON.parse(Buffer.from(cookie.state, 'base64url').toString('utf8')).next_url ?? '');
    } catch {
      nextUrl = '';
    }
    const current = new URL(this.callbackUrl(req));
    current.search = new URLSearchParams(q as Record<string, string>).toString();
    const ctx: AuthContext = { hub: this.hub, request: req, reply };
    const model = await this.getAuthenticatedUser(ctx, { code_url: current.href, code_verifier: cookie.verifier ?? '', state: cookie.state });
    if (!model) throw new HttpError(403, this.cfg<string>('custom_403_message') || 'Sorry, you are not currently authorized to use this hub. Please contact the hub administrator.');
    return completeLogin(this.hub, req, reply, model, nextUrl);
  }

  /** Code exchange (the `data` comes from handleCallback), then user info → auth model. */
  override async authenticate(_ctx: AuthContext | null, data: Record<string, string>): Promise<AuthModel | null> {
    const conf = await this.getConfiguration();
    let tokens: Record<string, unknown>;
    try {
      const t = await oidc.authorizationCodeGrant(
        conf,
        new URL(data.code_url),
        { pkceCodeVerifier: data.code_verifier || undefined, expectedState: data.state, idTokenExpected: false },
        this.tokenParams(),
      );
      tokens = plainTokenResponse(t as unknown as Record<string, unknown>);
    } catch (e) {
      const { status, message } = oauthErrorMessage(e);
      log.warn(`OAuth token request failed: ${message}`);
      throw new HttpError(status, message);
    }
    return this.tokenToAuthModel(tokens);
  }

  private tokenParams(): Record<string, string> {
    const out: Record<string, string> = {};
    const legacy = this.hub.config.isSet(this.cls, 'extra_params') ? this.cfg<Record<string, unknown>>('extra_params') : {};
    for (const [k, v] of Object.entries({ ...(legacy ?? {}), ...(this.cfg<Record<string, unknown>>('token_params') ?? {}) })) out[k] = String(v);
    return out;
  }

  /** Fetch user info for a token response and build the auth model (oauthenticator's _token_to_auth_model). */
  async tokenToAuthModel(tokenResponse: Record<string, unknown>): Promise<AuthModel> {
    const token = { ...tokenResponse };
    if (typeof token.expires_in === 'number' && token.expires_at === undefined) token.expires_at = Math.floor(Date.now() / 1000) + token.expires_in;
    const userInfo = await this.tokenToUserInfo(token);
    const username = this.userInfoToUsername(userInfo);
    let authState: Record<string, unknown> = {
      access_token: token.access_token ?? null,
      refresh_token: token.refresh_token ?? null,
      id_token: token.id_token ?? null,
      scope: typeof token.scope === 'string' ? token.scope.split(/\s+/).filter(Boolean) : this.scopes(),
      token_response: token,
      oauth_user: userInfo,
    };
    const hook = this.cfg<unknown>('modify_auth_state_hook');
    if (typeof hook === 'function') authState = ((await (hook as (a: unknown, s: unknown) => unknown)(this, authState)) ?? authState) as Record<string, unknown>;
    const model: AuthModel = { name: username, admin: null, auth_state: authState };
    return this.updateAuthModel(model);
  }

  async tokenToUserInfo(token: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.cfg<boolean>('userdata_from_id_token')) {
      const idt = token.id_token;
      if (typeof idt !== 'string' || !idt) throw new HttpError(403, 'The OAuth provider returned no id_token (userdata_from_id_token is set)');
      // validated by openid-client during the code exchange when the provider was discovered
      return decodeJwtPayload(idt);
    }
    const conf = await this.getConfiguration();
    const url = new URL(this.cfg<string>('userdata_url') || conf.serverMetadata().userinfo_endpoint || '');
    for (const [k, v] of Object.entries(this.cfg<Record<string, unknown>>('userdata_params') ?? {})) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'JupyterHub' };
    const access = String(token.access_token ?? '');
    if ((this.cfg<string>('userdata_token_method') || 'header') === 'url') url.searchParams.set('access_token', access);
    else headers.Authorization = `${/^bearer$/i.test(String(token.token_type ?? 'Bearer')) ? 'Bearer' : String(token.token_type)} ${access}`;
    const f = this.fetchImpl() ?? (fetch as unknown as oidc.CustomFetch);
    let res: Response;
    try {
      res = await f(url.href, { method: 'GET', headers, body: undefined, redirect: 'manual', signal: AbortSignal.timeout(30000) } as never);
    } catch (e) {
      throw new HttpError(502, `Error fetching user info from the OAuth provider: ${(e as Error).message}`);
    }
    if (res.status === 401 || res.status === 403) throw new HttpError(403, `The OAuth provider refused the access token (${res.status})`);
    if (!res.ok) throw new HttpError(502, `Error fetching user info from the OAuth provider: ${res.status}`);
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      return body as Record<string, unknown>;
    } catch {
      throw new HttpError(502, 'The OAuth provider returned user info that is not a JSON object');
    }
  }

  /** username_claim (or the deprecated username_key); refuses unverified emails (module doc). */
  userInfoToUsername(userInfo: Record<string, unknown>): string {
    let claim = this.cfg<unknown>('username_claim');
    if (this.hub.config.isSet(this.cls, 'username_key') && !this.hub.config.isSet(this.cls, 'username_claim')) claim = this.cfg<unknown>('username_key');
    let username: unknown;
    if (typeof claim === 'function') username = (claim as (u: unknown) => unknown)(userInfo);
    else username = userInfo[String(claim || 'username')];
    if (typeof username !== 'string' || !username) {
      const what = typeof claim === 'function' ? 'username_claim function' : `claim '${String(claim)}'`;
      log.error(`No username found in the user info from the OAuth provider (${what})`);
      throw new HttpError(403, `No user name found in the information from the OAuth provider (${what})`);
    }
    if (claim === 'email' && 'email_verified' in userInfo) {
      const v = userInfo.email_verified;
      if (!(v === true || v === 'true')) {
        log.warn(`Refusing login with unverified email '${truncateName(username)}'`);
        throw new HttpError(403, `The email address ${username} is not verified by the identity provider`);
      }
    }
    return username;
  }

  /** Groups from auth_state (auth_state_groups_key, or the deprecated claim_groups_key). */
  getUserGroups(authState: Record<string, unknown>): Set<string> {
    const c = this.cls;
    let key: unknown = this.hub.config.isSet(c, 'auth_state_groups_key') ? this.cfg<unknown>('auth_state_groups_key') : null;
    if (key === null || key === undefined || key === '') {
      if (this.hub.config.isSet(c, 'claim_groups_key') || this.hub.env.OAUTH2_GROUPS_KEY) {
        const claimKey = this.cfg<unknown>('claim_groups_key');
        if (typeof claimKey === 'function') {
          const got = (claimKey as (u: unknown) => unknown)(authState.oauth_user);
          return new Set(Array.isArray(got) ? got.map(String) : []);
        }
        key = `oauth_user.${String(claimKey)}`;
      }
    }
    if (key === null || key === undefined || key === '') return new Set();
    const groups = typeof key === 'function' ? (key as (s: unknown) => unknown)(authState) : dig(authState, String(key));
    if (Array.isArray(groups)) return new Set(groups.map(String));
    if (typeof groups === 'string') return new Set([groups]);
    return new Set();
  }

  /** oauthenticator's update_auth_model: groups (manage_groups) and admin status. */
  updateAuthModel(model: AuthModel): AuthModel {
    const groups = this.getUserGroups(model.auth_state ?? {});
    if (this.manageGroups) model.groups = [...groups].sort();
    if (model.admin) return model;
    if (this.adminUsers.has(model.name)) model.admin = true;
    else if (this.adminGroups.size) model.admin = [...groups].some((g) => this.adminGroups.has(g));
    return model;
  }

  override async checkAllowed(username: string, model?: AuthModel): Promise<boolean> {
    if (!model) return true;
    if (this.allowAll) return true;
    const allowedScopes = this.cfg<string[]>('allowed_scopes') ?? [];
    if (allowedScopes.length) {
      const granted = new Set(((model.auth_state?.scope as string[] | undefined) ?? []).map(String));
      if (allowedScopes.every((s) => granted.has(s))) return true;
    }
    if (model.admin) return true;
    if (this.allowedUsers.has(username)) return true;
    if (this.manageGroups && this.allowedGroups.size && (model.groups ?? []).some((g) => this.allowedGroups.has(g))) return true;
    return false;
  }

  /**
   * Refresh (oauthenticator 17): with auth_state, use the refresh token when the access token
   * has expired, then fetch user info again (new groups/admin). False forces a new login.
   */
  override async refreshUser(user: UserRow): Promise<RefreshResult> {
    if (!this.enableAuthState) return true;
    const authState = await this.getAuthState(user);
    const hook = this.cfg<unknown>('refresh_user_hook');
    if (typeof hook === 'function') {
      const r = await (hook as (a: unknown, u: unknown, s: unknown) => unknown)(this, user, authState);
      if (r !== null && r !== undefined) return r as RefreshResult;
    }
    if (!authState) {
      log.info(`No auth_state found for user ${user.name} refresh, need full authentication`);
      return false;
    }
    let token = (authState.token_response as Record<string, unknown> | undefined) ?? { access_token: authState.access_token, token_type: 'Bearer' };
    const expiresAt = Number(token.expires_at ?? 0);
    const expired = !token.access_token || (expiresAt > 0 && Date.now() / 1000 >= expiresAt - 10);
    if (expired) {
      const refreshToken = String(authState.refresh_token ?? token.refresh_token ?? '');
      if (!refreshToken) {
        log.info(`Access token of ${user.name} expired and there is no refresh token: new login needed`);
        return false;
      }
      try {
        const conf = await this.getConfiguration();
        const t = plainTokenResponse((await oidc.refreshTokenGrant(conf, refreshToken, this.tokenParams())) as unknown as Record<string, unknown>);
        if (!t.refresh_token) t.refresh_token = refreshToken;
        token = t;
        log.info(`Refreshed the OAuth tokens of ${user.name}`);
      } catch (e) {
        log.warn(`Refreshing the OAuth tokens of ${user.name} failed: ${oauthErrorMessage(e).message}`);
        return false;
      }
    }
    try {
      const model = await this.tokenToAuthModel(token);
      if (model.name !== user.name && this.normalizeUsername(model.name) !== user.name) {
        log.warn(`OAuth refresh for ${user.name} returned another user (${truncateName(model.name)})`);
        return false;
      }
      model.name = user.name;
      return model;
    } catch (e) {
      log.warn(`Refreshing user info of ${user.name} failed: ${(e as Error).message}`);
      return false;
    }
  }
}

export class LocalGenericOAuthenticator extends GenericOAuthenticator {
  override async addUser(user: Pick<UserRow, 'name'>): Promise<void> {
    await ensureSystemUser(this, user.name);
    await super.addUser(user);
  }
}
