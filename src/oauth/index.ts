/**
 * The hub as OAuth2 provider for single-user servers and services (rest-api.md §8.20,
 * singleuser-and-services.md §5, rbac.md §7):
 *
 *   GET/POST {hub}api/oauth2/authorize   login-cookie page handler → code (or confirmation page)
 *   POST     {hub}api/oauth2/token       authorization_code grant → access token
 *
 * Codes are 30 random characters, stored hashed, single-use, valid 5 minutes, bound to the
 * client, redirect URI, user, granted scopes and browser session. Access tokens are
 * `api_tokens` rows with `oauth_client_id` and `session_id` (so `GET {hub}api/user` and
 * logout treat them like any token).
 */
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Hub } from '../hub/app.js';
import type { HubModule } from '../hub/modules.js';
import type { OAuthClientRow, UserRow } from '../db/schema.js';
import { cookieUser, sessionId, SESSION_COOKIE, xsrfValid } from '../hub/identity.js';
import { createApiToken } from '../hub/tokens.js';
import { hashToken, newToken, safeEqual } from '../util/crypto.js';
import { renderError, renderPage } from '../web/render.js';
import { getLogger } from '../util/log.js';
import { accessScopes, hasScope, intersectScopes, parseScopes, type ClientTarget, type Owner, type Resource } from '../rbac/scopes.js';
import { isNoConfirm } from './clients.js';

export { registerOAuthClient, deleteOAuthClient, type OAuthClientSpec } from './clients.js';

const log = getLogger('JupyterHub', 'oauth');
const CODE_LIFETIME_S = 300;
const CODE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomCode(n = 30): string {
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += CODE_CHARS[bytes[i] % CODE_CHARS.length];
  return s;
}

function addQuery(uri: string, params: Record<string, string | undefined>): string {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v!)}`)
    .join('&');
  if (!q) return uri;
  const [base, hash] = uri.split('#');
  return base + (base.includes('?') ? '&' : '?') + q + (hash !== undefined ? '#' + hash : '');
}

function resourceOf(scope: string): Resource | null {
  const i = scope.indexOf('!');
  if (i < 0) return null;
  const f = scope.slice(i + 1);
  const j = f.indexOf('=');
  const kind = f.slice(0, j);
  const value = f.slice(j + 1);
  if (kind === 'user') return { user: value };
  if (kind === 'server') return { server: value };
  if (kind === 'group') return { group: value };
  if (kind === 'service') return { service: value };
  return null;
}

const IDENTIFY_RAW = ['read:users:name!user', 'read:users:groups!user'];

/**
 * rbac.md §7.2 resolution: keep `requested ∩ have` literally; otherwise expand and keep
 * the raw scope when fully covered by `have`, the covered part when partly, else drop.
 */
export function resolveScopes(hub: Hub, requested: string[], have: string[], owner: Owner, client: ClientTarget | null): { granted: string[]; denied: string[] } {
  const haveSet = new Set(have);
  const scopeSet = hub.rbac.scopeSet;
  const expHave = scopeSet.expand(have, owner, client);
  const granted: string[] = [];
  const denied: string[] = [];
  for (const r of requested) {
    if (haveSet.has(r)) {
      granted.push(r);
      continue;
    }
    if (r === 'inherit') {
      denied.push(r);
      continue;
    }
    const exp = scopeSet.expand([r], owner, client);
    if (!exp.size) {
      denied.push(r);
      continue;
    }
    const inter = intersectScopes(exp, expHave);
    const parsed = parseScopes(inter);
    if ([...exp].every((x) => hasScope(parsed, x.split('!')[0], resourceOf(x)))) granted.push(r);
    else if (inter.size) {
      granted.push(...inter);
      denied.push(r);
    } else denied.push(r);
  }
  return { granted: [...new Set(granted)], denied };
}

/** Raw role scopes of a user (own roles and their groups' roles). */
async function userRawScopes(hub: Hub, user: UserRow): Promise<string[]> {
  const db = hub.db.db;
  const own = await db.selectFrom('user_role_map').innerJoin('roles', 'roles.id', 'user_role_map.role_id').select('roles.scopes').where('user_role_map.user_id', '=', user.id).execute();
  const viaGroups = await db
    .selectFrom('group_role_map')
    .innerJoin('user_group_map', 'user_group_map.group_id', 'group_role_map.group_id')
    .innerJoin('roles', 'roles.id', 'group_role_map.role_id')
    .select('roles.scopes')
    .where('user_group_map.user_id', '=', user.id)
    .execute();
  const out: string[] = [];
  for (const r of [...own, ...viaGroups]) out.push(...(JSON.parse(r.scopes || '[]') as string[]));
  return out;
}

/** Human descriptions of scopes for the confirmation page. */
function describe(hub: Hub, scopes: string[]): { scope: string; description: string; filter: string }[] {
  const out: { scope: string; description: string; filter: string }[] = [];
  for (const s of scopes) {
    const [base, filter] = s.split('!');
    if (base === 'inherit') {
      out.push({ scope: s, description: 'Anything you have access to', filter: '' });
      continue;
    }
    if (IDENTIFY_RAW.includes(s) || base === 'read:users:name' || base === 'read:users:groups' || base.startsWith('access:')) continue;
    const def = hub.rbac.scopeSet.defs[base] as { description?: string } | undefined;
    out.push({ scope: s, description: def?.description ?? base, filter: filter ? `Applies to ${filter.replace('=', ' ')}.` : '' });
  }
  if (!out.length) out.push({ scope: 'identify', description: 'Identify the owner of the requesting entity.', filter: '' });
  return out;
}

interface AuthorizeQuery {
  client_id?: string;
  redirect_uri?: string;
  response_type?: string;
  state?: string;
  scope?: string;
  code_challenge?: string;
  code_challenge_method?: string;
}

async function authorize(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const q = (req.query ?? {}) as AuthorizeQuery;
  const user = await cookieUser(hub, req);
  if (!user) return reply.redirect(`${hub.hubPrefix}login?next=${encodeURIComponent(req.url)}`);
  const db = hub.db.db;
  const clientId = String(q.client_id ?? '');
  const client = clientId ? ((await db.selectFrom('oauth_clients').selectAll().where('identifier', '=', clientId).executeTakeFirst()) as OAuthClientRow | undefined) : undefined;
  if (!client || !client.secret) return renderError(hub, req, reply, 400, clientId ? `Invalid client_id ${clientId}` : 'Missing client_id parameter.', user);
  const redirectUri = q.redirect_uri === undefined || q.redirect_uri === '' ? client.redirect_uri : String(q.redirect_uri);
  if (redirectUri !== client.redirect_uri) return renderError(hub, req, reply, 400, 'Mismatching redirect URI.', user);
  const state = q.state === undefined ? undefined : String(q.state);
  if (q.response_type !== 'code') return reply.redirect(addQuery(redirectUri, { error: 'unsupported_response_type', state }));
  const challenge = q.code_challenge ? String(q.code_challenge) : null;
  const challengeMethod = challenge ? String(q.code_challenge_method || 'plain') : null;
  if (challengeMethod && challengeMethod !== 'S256' && challengeMethod !== 'plain') return reply.redirect(addQuery(redirectUri, { error: 'invalid_request', error_description: 'Transform algorithm not supported.', state }));

  const target = await hub.rbac.clientTarget(clientId);
  const access = accessScopes(target);
  const owner: Owner = { kind: 'user', name: user.name };
  const allowed = [...(JSON.parse(client.allowed_scopes || '[]') as string[]), ...IDENTIFY_RAW, ...access];
  // Requested scopes (rbac.md §7.2 step 1).
  let requested = String(q.scope ?? '')
    .split(/\s+/)
    .filter((s) => s && s !== 'identify');
  if (requested.length && requested.every((s) => !hub.rbac.scopeSet.exists(s.split('!')[0]))) {
    const roles = await db.selectFrom('roles').select(['name', 'scopes']).where('name', 'in', requested).execute();
    if (roles.length === requested.length) requested = roles.flatMap((r) => JSON.parse(r.scopes || '[]') as string[]);
  }
  if (!requested.length) {
    requested = [...(JSON.parse(client.allowed_scopes || '[]') as string[])];
    if (!requested.includes('inherit')) requested.push(...access);
  }
  for (const s of [...IDENTIFY_RAW, ...access]) if (!requested.includes(s) && !requested.includes('inherit')) requested.push(s);
  // Against the client's allowed scopes: anything not fully allowed fails the request.
  const vsClient = resolveScopes(hub, requested, allowed, owner, target);
  if (vsClient.denied.length) {
    log.warn(`OAuth client ${clientId} requested scopes outside its allowed scopes: ${vsClient.denied.join(', ')}`);
    return reply.redirect(addQuery(redirectUri, { error: 'invalid_scope', state }));
  }
  // The user must be allowed to access the target at all.
  const userScopes = (await hub.rbac.userScopes(user)).all;
  const parsed = parseScopes(userScopes);
  const res: Resource | null = target?.server ? { server: target.server } : target?.service ? { service: target.service } : null;
  if (res) {
    const base = res.server !== undefined ? 'access:servers' : 'access:services';
    const groups = (await hub.rbac.groupsOfUsers([user.name, ...(res.server ? [res.server.split('/')[0]] : [])])).get(res.server ? res.server.split('/')[0] : user.name);
    if (!hasScope(parsed, base, { ...res, groups })) {
      const what = res.server !== undefined ? `server ${res.server}` : `service ${res.service}`;
      log.warn(`User ${user.name} not allowed to access ${what}`);
      return renderError(hub, req, reply, 403, `You do not have permission to access ${what === `server ${user.name}/` ? `${user.name}'s server` : what}. Contact the owner or an administrator if you believe you should.`, user);
    }
  }
  // What the user can actually grant (unheld scopes dropped).
  const have = [...(await userRawScopes(hub, user)), 'inherit', ...IDENTIFY_RAW, ...access];
  let granted = resolveScopes(hub, requested, have, owner, target).granted;

  if (req.method === 'POST') {
    if (!xsrfValid(hub, req, user)) return renderError(hub, req, reply, 403, "XSRF cookie does not match POST argument", user);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const submitted = body.scopes === undefined ? [] : Array.isArray(body.scopes) ? body.scopes.map(String) : [String(body.scopes)];
    const check = resolveScopes(hub, submitted, allowed, owner, target);
    if (check.denied.length) return reply.redirect(addQuery(redirectUri, { error: 'invalid_scope', state }));
    granted = [...new Set([...submitted, ...IDENTIFY_RAW, ...access])];
  } else if (!(await skipConfirm(hub, user, client, granted))) {
    return renderPage(hub, req, reply, 'oauth.html', {
      user,
      oauth_client: { client_id: clientId, description: client.description, redirect_uri: redirectUri },
      scope_descriptions: describe(hub, granted),
      scopes: granted,
      action: req.url,
    });
  }
  // Issue the code.
  let sid = sessionId(req);
  if (!sid) {
    sid = newToken();
    reply.setCookie(SESSION_COOKIE, sid, { path: hub.baseUrl, httpOnly: true, sameSite: 'lax', secure: hub.publicUrl.startsWith('https:') || req.protocol === 'https' });
  }
  const code = randomCode();
  await db
    .insertInto('oauth_codes')
    .values({
      client_id: clientId,
      code: hashToken(code),
      expires_at: new Date(Date.now() + CODE_LIFETIME_S * 1000).toISOString(),
      redirect_uri: redirectUri,
      session_id: sid,
      user_id: user.id,
      scopes: JSON.stringify(granted),
      code_challenge: challenge,
      code_challenge_method: challengeMethod,
    })
    .execute();
  log.info(`Issued OAuth code for ${user.name} to ${clientId}`);
  return reply.redirect(addQuery(redirectUri, { code, state }));
}

/** rbac.md §7.3: own server, no-confirm clients, or already-granted scopes skip the page. */
async function skipConfirm(hub: Hub, user: UserRow, client: OAuthClientRow, granted: string[]): Promise<boolean> {
  if (client.user_id === user.id && client.spawner_id !== null) return true;
  if (isNoConfirm(hub, client.identifier)) return true;
  const tokens = await hub.db.db.selectFrom('api_tokens').select('scopes').where('user_id', '=', user.id).where('oauth_client_id', '=', client.identifier).execute();
  for (const t of tokens) {
    const have = new Set(JSON.parse(t.scopes || '[]') as string[]);
    if (granted.every((g) => have.has(g))) return true;
  }
  return false;
}

function tokenError(reply: FastifyReply, status: number, error: string, description?: string): FastifyReply {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer error="invalid_client"');
  return reply
    .status(status)
    .header('Content-Type', 'application/json')
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .send(JSON.stringify(description ? { error, error_description: description } : { error }));
}

async function token(hub: Hub, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let body = req.body as Record<string, unknown> | string | undefined;
  if (typeof body === 'string') body = Object.fromEntries(new URLSearchParams(body));
  const b = (body ?? {}) as Record<string, unknown>;
  const str = (k: string) => (b[k] === undefined ? '' : String(b[k]));
  let clientId = str('client_id');
  let secret = str('client_secret');
  // client_secret_basic is accepted too.
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic && !secret) {
    const dec = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i > 0) {
      clientId = clientId || decodeURIComponent(dec.slice(0, i));
      secret = decodeURIComponent(dec.slice(i + 1));
    }
  }
  const grant = str('grant_type');
  if (!grant) return tokenError(reply, 400, 'invalid_request', 'Request is missing grant type.');
  if (grant !== 'authorization_code') return tokenError(reply, 400, 'unsupported_grant_type');
  const db = hub.db.db;
  const client = clientId ? await db.selectFrom('oauth_clients').selectAll().where('identifier', '=', clientId).executeTakeFirst() : undefined;
  if (!client || !client.secret || !secret || !safeEqual(hashToken(secret), client.secret)) return tokenError(reply, 401, 'invalid_client');
  const code = str('code');
  if (!code) return tokenError(reply, 400, 'invalid_request', 'Missing code parameter.');
  const hashed = hashToken(code);
  const row = await db.selectFrom('oauth_codes').selectAll().where('code', '=', hashed).executeTakeFirst();
  if (!row) return tokenError(reply, 400, 'invalid_grant');
  // Single use: whoever deletes the row first wins.
  const del = await db.deleteFrom('oauth_codes').where('id', '=', row.id).executeTakeFirst();
  if (Number(del.numDeletedRows) !== 1) return tokenError(reply, 400, 'invalid_grant');
  const redirectUri = str('redirect_uri');
  if (row.client_id !== clientId || row.expires_at < new Date().toISOString() || (redirectUri && redirectUri !== row.redirect_uri)) return tokenError(reply, 400, 'invalid_grant');
  if (row.code_challenge) {
    const verifier = str('code_verifier');
    if (!verifier) return tokenError(reply, 400, 'invalid_request', 'Code verifier required.');
    const computed = row.code_challenge_method === 'S256' ? crypto.createHash('sha256').update(verifier).digest('base64url') : verifier;
    if (!safeEqual(computed, row.code_challenge)) return tokenError(reply, 400, 'invalid_grant');
  }
  const c = hub.config;
  const expiresIn = c.get<number>('JupyterHub', 'oauth_token_expires_in') || c.get<number>('JupyterHub', 'cookie_max_age_days') * 86400;
  const scopes = JSON.parse(row.scopes || '[]') as string[];
  const accessToken = await createApiToken(db, { userId: row.user_id, oauthClientId: clientId, sessionId: row.session_id, scopes, expiresIn, note: '' });
  return reply
    .status(200)
    .header('Content-Type', 'application/json')
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .send(JSON.stringify({ access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', scope: scopes.join(' ') }));
}

export const oauthModule: HubModule = {
  name: 'oauth',
  routes(app, hub) {
    const p = `${hub.hubPrefix}api/oauth2/`;
    app.get(p + 'authorize', (req, reply) => authorize(hub, req, reply));
    app.post(p + 'authorize', (req, reply) => authorize(hub, req, reply));
    app.post(p + 'token', (req, reply) => token(hub, req, reply));
  },
  start(hub) {
    // Expired codes are useless: clean them up now and then.
    hub.every(600, async () => {
      await hub.db.db.deleteFrom('oauth_codes').where('expires_at', '<', new Date().toISOString()).execute();
    });
  },
};
