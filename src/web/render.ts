/**
 * Page rendering with Nunjucks (Jinja-like): operators override templates as with
 * JupyterHub: `JupyterHub.template_paths` are searched first, the built-in templates last,
 * and the built-ins stay reachable under the `templates/` prefix (JupyterHub's
 * `PrefixLoader({'templates': ...})`), so a custom `page.html` can
 * `{% extends "templates/page.html" %}` and override single blocks. `template_vars` are added
 * to every page (a value may be a function of the user), per-page announcements
 * (`announcement_login`, `announcement_home`, ...) override `announcement`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Nunjucks from 'nunjucks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Hub } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import { cookieUser, issueXsrfCookie } from '../hub/identity.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Built-in templates and static files live in the source tree (dist/src/web → src/web). */
export const TEMPLATES_DIR = path.resolve(here, '../../../src/web/templates');
export const STATIC_DIR = path.resolve(here, '../../../src/web/static');

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const BUILTIN_PREFIX = 'templates/';

// Nunjucks is loaded on the first page render (the API alone never needs it).
let nunjucks: typeof Nunjucks;
let BuiltinPrefixLoader: new (dir: string, opts: { noCache: boolean }) => Nunjucks.FileSystemLoader;
async function loadNunjucks(): Promise<void> {
  if (nunjucks) return;
  const nj = ((await import('nunjucks')) as unknown as { default: typeof Nunjucks }).default;
  /** Serves only names starting with `templates/`, from the built-in directory. */
  BuiltinPrefixLoader = class extends nj.FileSystemLoader {
    override getSource(name: string): Nunjucks.LoaderSource {
      return (name.startsWith(BUILTIN_PREFIX) ? super.getSource(name.slice(BUILTIN_PREFIX.length)) : null) as Nunjucks.LoaderSource;
    }
  };
  nunjucks = nj;
}

const envs = new WeakMap<Hub, Nunjucks.Environment>();

/** Directories searched for templates, custom ones first. */
export function templateSearchPath(hub: Hub): string[] {
  const extra = hub.config.get<string[]>('JupyterHub', 'template_paths') ?? [];
  const dirs = extra.map((p: string) => path.resolve(hub.cwd, p));
  if (!dirs.includes(TEMPLATES_DIR)) dirs.push(TEMPLATES_DIR);
  return dirs;
}

/** The page templates' environment (`renderTemplate`/`renderError` load Nunjucks first). */
export function templateEnv(hub: Hub): Nunjucks.Environment {
  if (!nunjucks) throw new Error('templateEnv() before Nunjucks was loaded');
  let env = envs.get(hub);
  if (!env) {
    const opts = { ...(hub.config.get<Record<string, unknown>>('JupyterHub', 'jinja_environment_options') ?? {}) };
    // Jinja options that mean nothing to Nunjucks (or would break it) are dropped.
    for (const k of ['extensions', 'loader', 'enable_async', 'undefined', 'bytecode_cache', 'auto_reload', 'cache_size', 'finalize']) delete opts[k];
    const noCache = false;
    env = new nunjucks.Environment(
      [new BuiltinPrefixLoader(TEMPLATES_DIR, { noCache }), new nunjucks.FileSystemLoader(templateSearchPath(hub), { noCache })],
      {
        autoescape: true,
        throwOnUndefined: false,
        ...(opts as object),
      },
    );
    envs.set(hub, env);
  }
  return env;
}

/** Directories served under {hub}static/, extra_static_paths first. */
export function staticSearchPath(hub: Hub): string[] {
  const extra = (hub.config.get<string[]>('JupyterHub', 'extra_static_paths' as never) ?? []) as string[];
  return [...extra.map((p) => path.resolve(hub.cwd, p)), STATIC_DIR];
}

const staticHashes = new WeakMap<Hub, Map<string, string>>();
/** `{hub}static/<p>?v=<content hash>` (tornado's static_url): cacheable for long. */
export function staticUrl(hub: Hub, p: string, includeVersion = true): string {
  const clean = String(p).replace(/^\/+/, '');
  const base = `${hub.hubPrefix}static/${clean}`;
  if (!includeVersion) return base;
  let cache = staticHashes.get(hub);
  if (!cache) staticHashes.set(hub, (cache = new Map()));
  let v = cache.get(clean);
  if (v === undefined) {
    v = '';
    for (const dir of staticSearchPath(hub)) {
      const f = path.resolve(dir, clean);
      if (!f.startsWith(dir + path.sep)) break;
      try {
        v = crypto.createHash('md5').update(fs.readFileSync(f)).digest('hex').slice(0, 12);
        break;
      } catch {
        /* next directory */
      }
    }
    cache.set(clean, v);
  }
  return v ? `${base}?v=${v}` : base;
}

/** Expanded scopes of a user, from the RBAC module (the one place that resolves roles). */
export async function userRawScopes(hub: Hub, user: UserRow): Promise<string[]> {
  return [...(await hub.rbac.userScopes(user)).all];
}

/** {scope: true | [filters]} like JupyterHub's `parsed_scopes` (raw, unexpanded). */
function parseRaw(scopes: string[]): Record<string, true | string[]> {
  const out: Record<string, true | string[]> = {};
  for (const s of scopes) {
    const i = s.indexOf('!');
    const base = i < 0 ? s : s.slice(0, i);
    if (i < 0) out[base] = true;
    else if (out[base] !== true) (out[base] = (out[base] as string[] | undefined) ?? []).push(s.slice(i + 1));
  }
  return out;
}

/** Whether the user may open the admin page (`admin-ui`, rbac.md §6.4). */
export async function hasAdminUi(hub: Hub, user: UserRow | null | undefined): Promise<boolean> {
  if (!user) return false;
  if (user.admin) return true;
  return (await userRawScopes(hub, user)).some((s) => s === 'admin-ui' || s.startsWith('admin-ui!'));
}

export interface RenderContext {
  user?: UserRow | null;
  [k: string]: unknown;
}

/** Pages with their own announcement variable in JupyterHub (`announcement_<page>`). */
const PAGE_ANNOUNCEMENTS: Record<string, string> = {
  'login.html': 'announcement_login',
  'home.html': 'announcement_home',
  'spawn.html': 'announcement_spawn',
  'token.html': 'announcement_token',
  'logout.html': 'announcement_logout',
};

function operatorHeader(hub: Hub, name: string): string | undefined {
  const headers = (hub.config.get<Record<string, unknown>>('JupyterHub', 'tornado_settings')?.headers ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name.toLowerCase()) return String(v);
  return undefined;
}

/**
 * The pages' Content-Security-Policy: JupyterHub's `frame-ancestors 'none'; report-uri ...`
 * plus `script-src 'self' 'nonce-…'` (scripts only from {hub}static/ or carrying the page's
 * `csp_nonce`), no plugins, no <base> hijacking. An operator header in
 * `tornado_settings["headers"]` replaces it.
 */
export function pageCsp(hub: Hub, nonce: string): string {
  return `frame-ancestors 'none'; report-uri ${hub.hubPrefix}security/csp-report; script-src 'self' 'nonce-${nonce}'; object-src 'none'; base-uri 'self'`;
}

/** Render `name` with the variables every hub page has (JupyterHub's template namespace). */
export async function renderTemplate(hub: Hub, req: FastifyRequest, reply: FastifyReply, name: string, ctx: RenderContext = {}): Promise<{ html: string; nonce: string }> {
  await loadNunjucks();
  const user = ctx.user ?? null;
  const xsrf = issueXsrfCookie(hub, req, reply, user);
  const templateVars = hub.config.get<Record<string, unknown>>('JupyterHub', 'template_vars') ?? {};
  const vars: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(templateVars)) vars[k] = typeof v === 'function' ? await (v as (u: unknown) => unknown)(user) : v;
  const perPage = PAGE_ANNOUNCEMENTS[name];
  if (perPage && typeof vars[perPage] === 'string' && vars[perPage]) vars.announcement = vars[perPage];
  const raw = user ? await userRawScopes(hub, user) : [];
  const parsed = parseRaw(raw);
  const nonce = crypto.randomBytes(16).toString('base64');
  // Services with a URL and display=True that this user may access (nav bar and home page).
  const services: unknown[] = [];
  const registry = (hub as unknown as { services?: { displayed(): { name: string }[] } }).services;
  if (user && registry?.displayed && hub.rbac) {
    for (const s of registry.displayed()) if (await hub.rbac.can(new Set(raw), 'access:services', { service: s.name })) services.push(s);
  }
  const html = templateEnv(hub).render(name, {
    services,
    // JupyterHub: base_url is the hub's prefix, prefix the public base URL.
    base_url: hub.hubPrefix,
    prefix: hub.baseUrl,
    hub_prefix: hub.hubPrefix,
    static_url: (p: string, includeVersion = true) => staticUrl(hub, p, includeVersion),
    login_url: `${hub.hubPrefix}login`,
    logout_url: `${hub.hubPrefix}logout`,
    xsrf,
    xsrf_token: xsrf,
    xsrf_form_html: () => new nunjucks.runtime.SafeString(`<input type="hidden" name="_xsrf" value="${escapeHtml(xsrf)}"/>`),
    csp_nonce: nonce,
    version: hub.version,
    version_hash: '',
    parsed_scopes: parsed,
    expanded_scopes: raw,
    admin_access: !!user && (!!user.admin || 'admin-ui' in parsed),
    announcement: '',
    ...vars,
    ...ctx,
    user,
  });
  return { html, nonce };
}

/** Render `name` and send it with the page headers. */
export async function renderPage(hub: Hub, req: FastifyRequest, reply: FastifyReply, name: string, ctx: RenderContext = {}, status = 200): Promise<FastifyReply> {
  const { html, nonce } = await renderTemplate(hub, req, reply, name, ctx);
  reply.status(status).header('Content-Type', 'text/html; charset=utf-8');
  reply.header('Content-Security-Policy', operatorHeader(hub, 'Content-Security-Policy') ?? pageCsp(hub, nonce));
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Cache-Control', 'no-store');
  return reply.send(html);
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  413: 'Payload Too Large', 424: 'Failed Dependency', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};
export function reason(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** An HTML error page: `<status>.html` if a template exists (custom or built-in), else `error.html`. */
export async function renderError(hub: Hub, req: FastifyRequest, reply: FastifyReply, status: number, message?: string, user?: UserRow | null, extra: Record<string, unknown> = {}): Promise<FastifyReply> {
  const name = `${status}.html`;
  let template = 'error.html';
  await loadNunjucks();
  try {
    templateEnv(hub).getTemplate(name);
    template = name;
  } catch {
    /* no specific template */
  }
  if (user === undefined) user = await cookieUser(hub, req).catch(() => null);
  const ctx = { user: user ?? null, status_code: status, status_message: reason(status), message: message ?? '', message_html: '', exception: null, ...extra };
  try {
    return await renderPage(hub, req, reply, template, ctx, status);
  } catch (e) {
    // A broken custom template must not hide the error: fall back to the built-in page.
    if (template === 'error.html' && !templateSearchPath(hub).some((d) => d !== TEMPLATES_DIR)) throw e;
    try {
      return await renderPage(hub, req, reply, `${BUILTIN_PREFIX}error.html`, ctx, status);
    } catch {
      return reply.status(status).header('Content-Type', 'text/plain; charset=utf-8').send(`${status} ${reason(status)}${message ? `: ${message}` : ''}`);
    }
  }
}
