/**
 * Who is making a request: API token (`Authorization: token|bearer X`) or the hub login
 * cookie; the session id cookie; XSRF tokens tied to the browser session (rest-api.md §1,
 * singleuser-and-services.md §6). Pages and API handlers all go through here.
 */
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Hub } from './app.js';
import type { ServiceRow, TokenRow, UserRow } from '../db/schema.js';
import { findApiToken } from './tokens.js';
import { hashToken, newToken, safeEqual, signValue, unsignValue } from '../util/crypto.js';
import { writeGeneration } from '../db/writes.js';
import { prepared } from '../db/prepared.js';

const userById = prepared((db, id: number) => db.selectFrom('users').selectAll().where('id', '=', id));
const serviceById = prepared((db, id: number) => db.selectFrom('services').selectAll().where('id', '=', id));

export interface Identity {
  kind: 'user' | 'service';
  user: UserRow | null;
  service: ServiceRow | null;
  /** The token used, or null for a cookie-authenticated request. */
  token: TokenRow | null;
  viaCookie: boolean;
}

const TOKEN_RE = /^(token|bearer)\s+(\S+)$/i;

export function loginCookieName(hub: Hub): string {
  return hub.config.get<boolean>('JupyterHub', 'cookie_host_prefix_enabled') ? '__Host-jupyterhub-hub-login' : 'jupyterhub-hub-login';
}
export const SESSION_COOKIE = 'jupyterhub-session-id';

function isSecure(hub: Hub, req: FastifyRequest): boolean {
  if (hub.publicUrl) return hub.publicUrl.startsWith('https:');
  return req.protocol === 'https' || hub.publicProto === 'https';
}

function cookieOptions(hub: Hub, req: FastifyRequest, path: string) {
  const extra = (hub.config.get<Record<string, unknown>>('JupyterHub', 'tornado_settings')?.cookie_options ?? {}) as Record<string, unknown>;
  return { path, httpOnly: true, secure: isSecure(hub, req), sameSite: 'lax' as const, ...extra };
}

/** Presented API token from the Authorization header (the hub ignores ?token=). */
export function presentedToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = TOKEN_RE.exec(h.trim());
  return m ? m[2] : null;
}

function isoLater(a: string | null, b: Date, seconds: number): boolean {
  return !a || b.getTime() - Date.parse(a) > seconds * 1000;
}

/**
 * Identities of recently used tokens, by the token's fast hash. An entry is used only while
 * no write to users, api_tokens, services or oauth_clients happened since it was read
 * (`writeGeneration`: revoking a token, deleting or changing its owner evicts it at once),
 * for at most IDENTITY_TTL_MS (writes by other processes), and never past the token's expiry.
 */
interface CachedIdentity {
  row: TokenRow;
  user: UserRow | null;
  service: ServiceRow | null;
  gen: number;
  at: number;
}
const IDENTITY_TTL_MS = 5000;
const identityCaches = new WeakMap<Hub, Map<string, CachedIdentity>>();

/** Forget cached token identities (the write generation makes this rarely necessary). */
export function clearIdentityCache(hub: Hub): void {
  identityCaches.get(hub)?.clear();
}

/** Identity from an API token, updating last_activity (rate-limited by activity_resolution). */
export async function tokenIdentity(hub: Hub, token: string): Promise<Identity | null> {
  if (!token || token.length < 8 || token.length > 4096) return null;
  let cache = identityCaches.get(hub);
  if (!cache) identityCaches.set(hub, (cache = new Map()));
  const key = hashToken(token);
  const gen = writeGeneration(hub.db.db);
  const hit = cache.get(key);
  if (hit) {
    const now = new Date();
    const t = now.getTime();
    if (
      hit.gen === gen &&
      t - hit.at < IDENTITY_TTL_MS &&
      !(hit.row.expires_at && hit.row.expires_at < now.toISOString()) &&
      !isoLater(hit.row.last_activity, now, hub.config.get<number>('JupyterHub', 'activity_resolution'))
    ) {
      const user = hit.user && { ...hit.user };
      const service = hit.service && { ...hit.service };
      return { kind: user ? 'user' : 'service', user, service, token: { ...hit.row }, viaCookie: false };
    }
    cache.delete(key);
  }
  const id = await tokenIdentityUncached(hub, token);
  if (id && id.token && Number.isFinite(gen)) {
    if (cache.size >= 10000) cache.clear();
    cache.set(key, { row: { ...id.token }, user: id.user && { ...id.user }, service: id.service && { ...id.service }, gen, at: Date.now() });
  }
  return id;
}

async function tokenIdentityUncached(hub: Hub, token: string): Promise<Identity | null> {
  const row = await findApiToken(hub.db.db, token);
  if (!row) return null;
  const db = hub.db.db;
  let user: UserRow | null = null;
  let service: ServiceRow | null = null;
  if (row.user_id != null) user = (await userById(db, row.user_id))[0] ?? null;
  else if (row.service_id != null) service = (await serviceById(db, row.service_id))[0] ?? null;
  if (!user && !service) return null;
  if (row.oauth_client_id !== 'jupyterhub') {
    const client = await db.selectFrom('oauth_clients').select('id').where('identifier', '=', row.oauth_client_id).executeTakeFirst();
    if (!client) {
      await db.deleteFrom('api_tokens').where('id', '=', row.id).execute();
      return null;
    }
  }
  const now = new Date();
  const res = hub.config.get<number>('JupyterHub', 'activity_resolution');
  if (isoLater(row.last_activity, now, res)) {
    const iso = now.toISOString();
    await db.updateTable('api_tokens').set({ last_activity: iso }).where('id', '=', row.id).execute();
    row.last_activity = iso;
    if (user && !row.note.startsWith('Server at ') && isoLater(user.last_activity, now, res)) {
      await db.updateTable('users').set({ last_activity: iso }).where('id', '=', user.id).execute();
      user.last_activity = iso;
    }
  }
  return { kind: user ? 'user' : 'service', user, service, token: row, viaCookie: false };
}

/**
 * The user named by a valid login cookie, or null. Unless `refresh: false`, the
 * authenticator's auth info is refreshed when auth_refresh_age has passed
 * (`hub.authenticator.refreshAuth`); a failed refresh means "log in again" (null).
 */
export async function cookieUser(hub: Hub, req: FastifyRequest, opts: { refresh?: boolean } = {}): Promise<UserRow | null> {
  const name = loginCookieName(hub);
  const raw = req.cookies?.[name];
  const cookieId = unsignValue(hub.cookieSecret, name, raw);
  if (!cookieId) return null;
  const user = (await hub.db.db.selectFrom('users').selectAll().where('cookie_id', '=', cookieId).executeTakeFirst()) ?? null;
  if (!user || opts.refresh === false || !hub.authenticator) return user;
  const cache = req as unknown as { jhubRefreshed?: Map<number, UserRow | null> };
  cache.jhubRefreshed ??= new Map();
  if (cache.jhubRefreshed.has(user.id)) return cache.jhubRefreshed.get(user.id)!;
  const refreshed = await hub.authenticator.refreshAuth(user);
  cache.jhubRefreshed.set(user.id, refreshed);
  return refreshed;
}

/** The browser session id (set at login), or null. */
export function sessionId(req: FastifyRequest): string | null {
  const v = req.cookies?.[SESSION_COOKIE];
  return v && /^[0-9a-f]{32}$/.test(v) ? v : null;
}

/** Log a user in: signed login cookie (path {hub}) and a fresh session id (path base_url). */
export function setLoginCookie(hub: Hub, req: FastifyRequest, reply: FastifyReply, user: UserRow): string {
  const name = loginCookieName(hub);
  const maxAgeDays = hub.config.get<number>('JupyterHub', 'cookie_max_age_days');
  const prefixed = name.startsWith('__Host-');
  reply.setCookie(name, signValue(hub.cookieSecret, name, user.cookie_id, maxAgeDays * 86400), {
    ...cookieOptions(hub, req, prefixed ? '/' : hub.hubPrefix),
    ...(prefixed ? { secure: true } : {}),
    maxAge: 30 * 86400,
  });
  const sid = sessionId(req) ?? newToken();
  reply.setCookie(SESSION_COOKIE, sid, cookieOptions(hub, req, hub.baseUrl));
  return sid;
}

export function clearLoginCookies(hub: Hub, req: FastifyRequest, reply: FastifyReply): void {
  const name = loginCookieName(hub);
  reply.clearCookie(name, { path: name.startsWith('__Host-') ? '/' : hub.hubPrefix });
  reply.clearCookie(SESSION_COOKIE, { path: hub.baseUrl });
  // legacy cookie of 3.x hubs
  reply.clearCookie('jupyterhub-services', { path: hub.baseUrl + 'services' });
}

/** The anonymous origin of a browser before login: hash of client IP and User-Agent. */
function anonymousId(req: FastifyRequest): string {
  const headers = (process.env.JUPYTERHUB_XSRF_ANONYMOUS_ID_HEADERS ?? 'User-Agent').split(';').filter(Boolean);
  const parts = [req.ip, ...headers.map((h) => String(req.headers[h.toLowerCase()] ?? ''))];
  return 'anon:' + crypto.createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** The XSRF token for this browser: HMAC of the session (or anonymous origin) with the cookie secret. */
export function xsrfToken(hub: Hub, req: FastifyRequest, user?: UserRow | null): string {
  const sid = sessionId(req);
  const basis = user ? `${sid ?? ''}:${user.cookie_id}` : anonymousId(req);
  return crypto.createHmac('sha256', hub.cookieSecret).update('xsrf|' + basis).digest('base64url');
}

/** Issue the _xsrf cookie on navigation requests (informational: checks recompute the value). */
export function issueXsrfCookie(hub: Hub, req: FastifyRequest, reply: FastifyReply, user?: UserRow | null): string {
  const tok = xsrfToken(hub, req, user);
  const mode = req.headers['sec-fetch-mode'];
  if (!mode || mode === 'navigate') {
    const kw = (hub.config.get<Record<string, unknown>>('JupyterHub', 'tornado_settings')?.xsrf_cookie_kwargs ?? {}) as Record<string, unknown>;
    reply.setCookie('_xsrf', tok, { path: hub.hubPrefix, secure: isSecure(hub, req), sameSite: 'lax', ...(user ? {} : { maxAge: 3600 }), ...kw });
  }
  return tok;
}

/** The XSRF value a request submitted (form/query `_xsrf`, or X-XSRFToken / X-CSRFToken header). */
export function submittedXsrf(req: FastifyRequest): string | null {
  const h = req.headers['x-xsrftoken'] ?? req.headers['x-csrftoken'];
  if (typeof h === 'string' && h) return h;
  const q = (req.query as Record<string, unknown> | undefined)?._xsrf;
  if (typeof q === 'string' && q) return q;
  const b = req.body as Record<string, unknown> | undefined;
  if (b && typeof b === 'object' && typeof b._xsrf === 'string') return b._xsrf;
  return null;
}

export function xsrfValid(hub: Hub, req: FastifyRequest, user?: UserRow | null): boolean {
  const got = submittedXsrf(req);
  return !!got && safeEqual(got, xsrfToken(hub, req, user));
}

/**
 * Whether a cookie-authenticated request must pass the XSRF check (rest-api.md §1.2).
 * Returns false when the request is exempt.
 */
export function xsrfRequired(req: FastifyRequest, identified: boolean, api: boolean): boolean {
  const m = req.method;
  if (m === 'HEAD' || m === 'OPTIONS') return false;
  if (!identified && !req.headers.origin) return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode === 'websocket') return false;
  const readOnly = m === 'GET';
  if (readOnly && (!mode || mode === 'navigate')) return false;
  if (readOnly && mode === 'no-cors' && req.headers['sec-fetch-site'] === 'same-origin') return false;
  if (!api && readOnly) return false;
  return true;
}
