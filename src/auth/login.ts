/**
 * Login and logout pages: `GET/POST {hub}login`, `GET {hub}logout`, `GET {hub}`
 * (singleuser-and-services.md §5.3, §9.3), with XSRF on the form, safe `next` handling and
 * a failed-login rate limit.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Hub } from '../hub/app.js';
import { HttpError } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import type { ServerManager } from '../hub/servers.js';
import { clearLoginCookies, cookieUser, sessionId, setLoginCookie, xsrfValid } from '../hub/identity.js';
import { renderPage } from '../web/render.js';
import { log, truncateName, type AuthContext, type AuthModel } from './base.js';
import { applyAuthModel } from './users.js';
import { makeLoginLimiters, validateNextUrl } from './util.js';

function servers(hub: Hub): ServerManager | undefined {
  return (hub as unknown as { servers?: ServerManager }).servers;
}

/** Whether the user's default server is running or starting. */
async function serverActive(hub: Hub, user: UserRow): Promise<boolean> {
  const sm = servers(hub);
  if (sm?.pending(user.id, '')) return true;
  const row = await hub.db.db.selectFrom('spawners').select('url').where('user_id', '=', user.id).where('name', '=', '').executeTakeFirst();
  return !!row?.url;
}

/**
 * Where to go after login (JupyterHub's get_next_url): a safe `next`, else
 * JupyterHub.default_url, else (redirect_to_server) the user's server or {hub}spawn,
 * else {hub}home.
 */
export async function nextUrlFor(hub: Hub, req: FastifyRequest, reply: FastifyReply, user: UserRow | null, next: unknown): Promise<string> {
  const safe = validateNextUrl(hub, req, next);
  if (safe) return safe;
  if (typeof next === 'string' && next) log.warn(`Disallowing redirect outside JupyterHub: ${JSON.stringify(next.slice(0, 200))}`);
  const dflt = hub.config.get<unknown>('JupyterHub', 'default_url');
  if (typeof dflt === 'function') {
    const v = await (dflt as (h: unknown) => unknown)({ hub, request: req, reply, current_user: user });
    if (v) return String(v);
  } else if (typeof dflt === 'string' && dflt) return dflt;
  if (user && hub.config.get<boolean>('JupyterHub', 'redirect_to_server') !== false) {
    if (await serverActive(hub, user)) return `${hub.baseUrl}user/${encodeURIComponent(user.name)}/`;
    return `${hub.hubPrefix}spawn`;
  }
  return `${hub.hubPrefix}home`;
}

/** Persist a successful authentication, set the login cookie and redirect to `next`. */
export async function completeLogin(hub: Hub, req: FastifyRequest, reply: FastifyReply, model: AuthModel, next: unknown): Promise<FastifyReply> {
  const user = await applyAuthModel(hub, model);
  setLoginCookie(hub, req, reply, user);
  hub.authenticator.markRefreshed(user.name);
  (req as unknown as { identityName?: string }).identityName = user.name;
  log.info(`User logged in: ${user.name}`);
  return reply.redirect(await nextUrlFor(hub, req, reply, user, next), 302);
}

function loginContext(hub: Hub, req: FastifyRequest): Record<string, unknown> {
  const auth = hub.authenticator;
  const q = req.query as Record<string, unknown>;
  const next = typeof q.next === 'string' ? q.next : '';
  const loginUrl = auth.loginUrl(hub.hubPrefix);
  return {
    next,
    login_service: auth.loginService,
    authenticator_login_url: loginUrl + (next ? `?next=${encodeURIComponent(next)}` : ''),
    login_form_action: `${hub.hubPrefix}login` + (next ? `?next=${encodeURIComponent(next)}` : ''),
    custom_html: auth.customHtml(),
    request_otp: auth.requestOtp,
    otp_prompt: auth.otpPrompt,
    authenticator: { login_service: auth.loginService },
  };
}

async function renderLogin(hub: Hub, req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> {
  return renderPage(hub, req, reply, 'login.html', { user: null, ...loginContext(hub, req), ...extra }, status);
}

export async function loginRoutes(app: FastifyInstance, hub: Hub): Promise<void> {
  const auth = hub.authenticator;
  const limits = makeLoginLimiters();
  const loginPath = `${hub.hubPrefix}login`;

  app.get(loginPath, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const user = await cookieUser(hub, req);
    if (user) {
      setLoginCookie(hub, req, reply, user);
      return reply.redirect(await nextUrlFor(hub, req, reply, user, q.next), 302);
    }
    if (auth.autoLogin) {
      const url = auth.loginUrl(hub.hubPrefix);
      if (url === loginPath) {
        // auth info is in the request itself (e.g. a REMOTE_USER header)
        const ctx: AuthContext = { hub, request: req, reply };
        const model = await auth.getAuthenticatedUser(ctx, {});
        if (!model) throw new HttpError(403, '');
        return completeLogin(hub, req, reply, model, q.next);
      }
      // JupyterHub: with a `next` argument, pass on get_next_url() (a safe next, else the
      // default after-login URL); without one, go to the authenticator's login URL as is
      if (typeof q.next === 'string' && q.next) {
        const next = await nextUrlFor(hub, req, reply, null, q.next);
        return reply.redirect(`${url}${url.includes('?') ? '&' : '?'}next=${encodeURIComponent(next)}`, 302);
      }
      return reply.redirect(url, 302);
    }
    const username = typeof q.username === 'string' ? q.username : '';
    return renderLogin(hub, req, reply, { username });
  });

  app.post(loginPath, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === '_xsrf') continue;
      const s = Array.isArray(v) ? String(v[v.length - 1] ?? '') : String(v ?? '');
      data[k] = k === 'username' ? s.trim() : s;
    }
    const username = data.username ?? '';
    const shown = truncateName(username);
    if (!xsrfValid(hub, req)) {
      const current = await cookieUser(hub, req, { refresh: false });
      if (!current || !xsrfValid(hub, req, current)) {
        log.error(`XSRF error on login form from ${req.ip}`);
        return renderLogin(hub, req, reply, { login_error: 'Login form invalid or expired. Try again.', username: shown }, 403);
      }
    }
    if (!auth.hasLogin) throw new HttpError(403, '');
    const userKey = username.toLowerCase().slice(0, 256);
    const wait = Math.max(limits.perIp.blockedFor(req.ip), userKey ? limits.perUser.blockedFor(userKey) : 0);
    if (wait > 0) {
      log.warn(`Login rate limit reached for '${shown}'@${req.ip}`);
      reply.header('Retry-After', String(wait));
      return renderLogin(hub, req, reply, { login_error: `Too many failed login attempts. Try again in ${wait} seconds.`, username: shown }, 429);
    }
    const ctx: AuthContext = { hub, request: req, reply };
    let model: AuthModel | null;
    try {
      model = await auth.getAuthenticatedUser(ctx, data);
    } catch (e) {
      if (e instanceof HttpError && e.status < 500) {
        limits.perIp.record(req.ip);
        if (userKey) limits.perUser.record(userKey);
        log.warn(`Failed login for '${shown}'@${req.ip}: ${e.message}`);
        return renderLogin(hub, req, reply, { login_error: e.message || 'Invalid username or password', username: shown }, e.status);
      }
      throw e;
    }
    if (!model) {
      limits.perIp.record(req.ip);
      if (userKey) limits.perUser.record(userKey);
      log.warn(`Failed login for '${shown}'@${req.ip}`);
      return renderLogin(hub, req, reply, { login_error: 'Invalid username or password', username: shown }, 403);
    }
    if (userKey) limits.perUser.clear(userKey);
    return completeLogin(hub, req, reply, model, q.next);
  });

  app.get(`${hub.hubPrefix}logout`, async (req, reply) => {
    const user = await cookieUser(hub, req, { refresh: false });
    if (user) {
      if (hub.config.get<boolean>('JupyterHub', 'shutdown_on_logout')) {
        const sm = servers(hub);
        if (sm) {
          log.info(`Shutting down ${user.name}'s servers`);
          await sm.stopAll(user).catch((e: Error) => log.error(`Error stopping ${user.name}'s servers at logout: ${e.message}`));
        }
      }
      const sid = sessionId(req);
      if (sid) {
        // the OAuth tokens of this browser session: the user's servers' cookies stop working
        const r = await hub.db.db.deleteFrom('api_tokens').where('user_id', '=', user.id).where('session_id', '=', sid).executeTakeFirst();
        await hub.db.db.deleteFrom('oauth_codes').where('user_id', '=', user.id).where('session_id', '=', sid).execute();
        const n = Number(r.numDeletedRows ?? 0);
        if (n) log.debug(`Deleted ${n} access tokens for ${user.name}`);
      }
      log.info(`User logged out: ${user.name}`);
    }
    clearLoginCookies(hub, req, reply);
    reply.clearCookie('_xsrf', { path: hub.hubPrefix });
    const redirect = auth.logoutRedirectUrl();
    if (redirect) return reply.redirect(redirect, 302);
    if (auth.autoLogin) return renderPage(hub, req, reply, 'logout.html', { user: null, login_service: auth.loginService });
    return reply.redirect(`${hub.hubPrefix}login`, 302);
  });

  app.get(hub.hubPrefix, async (req, reply) => {
    const user = await cookieUser(hub, req);
    const dflt = hub.config.get<unknown>('JupyterHub', 'default_url');
    if (dflt) return reply.redirect(await nextUrlFor(hub, req, reply, user, ''), 302);
    if (user) return reply.redirect(await nextUrlFor(hub, req, reply, user, ''), 302);
    return reply.redirect(`${hub.hubPrefix}login?next=${encodeURIComponent(req.url)}`, 302);
  });

  await auth.getHandlers(app);
}
