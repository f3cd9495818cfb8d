/**
 * `JupyterHub.services` entries: parsing and validation (singleuser-and-services.md §10.1).
 * Mirrors jupyterhub.services.service.Service's input traits and
 * JupyterHub.service_from_spec: unknown keys and bad values stop the hub with a clear
 * message naming the service.
 */
import crypto from 'node:crypto';
import { ConfigError } from '../config/errors.js';
import { closest } from '../config/suggest.js';

export interface ServiceSpec {
  name: string;
  url: string;
  apiToken: string;
  admin: boolean;
  oauthClientId: string;
  oauthRedirectUri: string;
  oauthNoConfirm: boolean;
  oauthClientAllowedScopes: string[];
  oauthRoles: string[];
  command: string[];
  environment: Record<string, string>;
  user: string;
  cwd: string;
  display: boolean;
  info: Record<string, unknown>;
  /** Seconds to wait for a service with a URL to answer at start-up (JupyterHub 6 `timeout`). */
  timeout: number;
  /** Some OAuth field (oauth_client_id, oauth_redirect_uri, oauth_no_confirm) was given explicitly. */
  oauthSpecified: boolean;
}

/** Every key JupyterHub accepts in a service definition. */
export const SERVICE_FIELDS = [
  'name',
  'url',
  'api_token',
  'admin',
  'oauth_client_id',
  'oauth_redirect_uri',
  'oauth_no_confirm',
  'oauth_client_allowed_scopes',
  'oauth_roles',
  'command',
  'environment',
  'user',
  'cwd',
  'display',
  'info',
  'timeout',
] as const;

/** Default readiness timeout (JupyterHub 5.x waits 10 s; 6.x made it configurable, default 30). */
export const DEFAULT_SERVICE_TIMEOUT = 10;

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a dict';
  if (typeof v === 'string') return 'a str';
  if (typeof v === 'boolean') return 'a bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an int' : 'a float';
  return typeof v;
}

/** Why a service name is invalid, or null (jupyterhub Service._validate_service_name, plus URL-breaking characters). */
export function serviceNameProblem(name: string): string | null {
  if (!name) return 'Service names must not be empty';
  let unquoted = name;
  try {
    unquoted = decodeURIComponent(name);
  } catch {
    /* malformed escapes: not an escaped name */
  }
  if (unquoted !== name) return 'Services cannot have escaped names';
  if (name.includes('/')) return "Service names must not contain '/'";
  if (/^\.+$/.test(name)) return 'Service names must not be relative path components';
  if (name !== name.trim()) return 'Service names must not start or end with space';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f?#]/.test(name)) return "Service names must not contain control characters, '?' or '#'";
  return null;
}

/**
 * Parse one entry of `JupyterHub.services`. `where` names it in messages
 * (e.g. "JupyterHub.services[2]"). Throws ConfigError.
 */
export function parseServiceSpec(raw: unknown, where: string): ServiceSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where} must be a dict, not ${typeName(raw)}`);
  const o = raw as Record<string, unknown>;
  if (!('name' in o)) throw new ConfigError(`service spec must have a name: ${where} = ${safeJson(o)}`);
  if (typeof o.name !== 'string') throw new ConfigError(`${where}: 'name' must be a str, not ${typeName(o.name)}`);
  const name = o.name;
  const label = `service ${JSON.stringify(name)} (${where})`;
  const bad = serviceNameProblem(name);
  if (bad) throw new ConfigError(`${label}: ${bad}`);
  for (const key of Object.keys(o)) {
    if (!(SERVICE_FIELDS as readonly string[]).includes(key)) {
      const sugg = closest(key, SERVICE_FIELDS);
      throw new ConfigError(`${label}: No such service field: ${key}${sugg.length ? ` (did you mean ${sugg.map((s) => `'${s}'`).join(' or ')}?)` : ''}. Known fields: ${SERVICE_FIELDS.join(', ')}`);
    }
  }
  const str = (k: string): string => {
    const v = o[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new ConfigError(`${label}: '${k}' must be a str, not ${typeName(v)}`);
    return v;
  };
  const bool = (k: string, dflt: boolean): boolean => {
    const v = o[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') throw new ConfigError(`${label}: '${k}' must be True or False, not ${typeName(v)} (${safeJson(v)})`);
    return v;
  };
  const strList = (k: string): string[] => {
    const v = o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ConfigError(`${label}: '${k}' must be a list of str, not ${safeJson(v)}`);
    return v as string[];
  };
  const dict = (k: string): Record<string, unknown> => {
    const v = o[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${label}: '${k}' must be a dict, not ${typeName(v)}`);
    return v as Record<string, unknown>;
  };

  const url = str('url');
  if (url) {
    let u: URL | null = null;
    try {
      u = new URL(url);
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname)
      throw new ConfigError(`Unsupported scheme in URL for service ${name}: ${url}. Must be http[s] (e.g. 'http://127.0.0.1:10101')`);
  }

  // command: a list of str, or a single str (taken as one argument, as JupyterHub's Command trait does)
  let command: string[] = [];
  if (o.command !== undefined && o.command !== null) {
    if (typeof o.command === 'string') command = [o.command];
    else if (Array.isArray(o.command) && o.command.every((x) => typeof x === 'string')) command = o.command as string[];
    else throw new ConfigError(`${label}: 'command' must be a list of str (or a single str), not ${safeJson(o.command)}`);
  }

  const envRaw = dict('environment');
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(envRaw)) {
    if (typeof v === 'string') environment[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') environment[k] = String(v);
    else throw new ConfigError(`${label}: environment['${k}'] must be a str, not ${typeName(v)}`);
  }

  const oauthClientId = str('oauth_client_id') || `service-${name}`;
  if (!oauthClientId.startsWith('service-'))
    throw new ConfigError(`service ${name} has oauth_client_id='${oauthClientId}'. Service oauth client ids must start with 'service-'`);

  let timeout = DEFAULT_SERVICE_TIMEOUT;
  if (o.timeout !== undefined && o.timeout !== null) {
    if (typeof o.timeout !== 'number' || !(o.timeout > 0)) throw new ConfigError(`${label}: 'timeout' must be a positive number of seconds, not ${safeJson(o.timeout)}`);
    timeout = o.timeout;
  }

  // JupyterHub records an OAuth field as "specified" unless it is '' or None.
  const specified = (k: string) => k in o && o[k] !== '' && o[k] !== null && o[k] !== undefined;

  return {
    name,
    url,
    apiToken: str('api_token'),
    admin: bool('admin', false),
    oauthClientId,
    oauthRedirectUri: str('oauth_redirect_uri'),
    oauthNoConfirm: bool('oauth_no_confirm', false),
    oauthClientAllowedScopes: strList('oauth_client_allowed_scopes'),
    oauthRoles: strList('oauth_roles'),
    command,
    environment,
    user: str('user'),
    cwd: str('cwd'),
    display: bool('display', true),
    info: dict('info'),
    timeout,
    oauthSpecified: specified('oauth_client_id') || specified('oauth_redirect_uri') || specified('oauth_no_confirm'),
  };
}

/** Parse the whole list; duplicate names are refused. */
export function parseServiceSpecs(raw: unknown, where = 'JupyterHub.services'): ServiceSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${where} must be a list of dicts, not ${typeName(raw)}`);
  const out: ServiceSpec[] = [];
  const seen = new Map<string, number>();
  const clientIds = new Map<string, string>();
  raw.forEach((entry, i) => {
    const spec = parseServiceSpec(entry, `${where}[${i}]`);
    const prev = seen.get(spec.name);
    if (prev !== undefined) throw new ConfigError(`Duplicate service name ${JSON.stringify(spec.name)}: ${where}[${prev}] and ${where}[${i}] both define it; service names must be unique`);
    seen.set(spec.name, i);
    const other = clientIds.get(spec.oauthClientId);
    if (other !== undefined) throw new ConfigError(`services ${JSON.stringify(other)} and ${JSON.stringify(spec.name)} both use oauth_client_id '${spec.oauthClientId}'; OAuth client ids must be unique`);
    clientIds.set(spec.oauthClientId, spec.name);
    out.push(spec);
  });
  return out;
}

/** The spec as persisted in the services row (`state.spec`): no secrets. */
export function specToStored(s: ServiceSpec): Record<string, unknown> {
  return {
    url: s.url,
    admin: s.admin,
    oauth_client_id: s.oauthClientId,
    oauth_redirect_uri: s.oauthRedirectUri,
    oauth_no_confirm: s.oauthNoConfirm,
    oauth_client_allowed_scopes: s.oauthClientAllowedScopes,
    oauth_roles: s.oauthRoles,
    command: s.command,
    environment: s.environment,
    user: s.user,
    cwd: s.cwd,
    display: s.display,
    info: s.info,
    timeout: s.timeout,
    oauth_specified: s.oauthSpecified,
  };
}

/** Rebuild a spec from a stored row (runtime-created services). */
export function specFromStored(name: string, stored: Record<string, unknown>): ServiceSpec {
  const g = <T>(k: string, d: T): T => (stored[k] === undefined || stored[k] === null ? d : (stored[k] as T));
  return {
    name,
    url: g('url', ''),
    apiToken: '',
    admin: g('admin', false),
    oauthClientId: g('oauth_client_id', `service-${name}`),
    oauthRedirectUri: g('oauth_redirect_uri', ''),
    oauthNoConfirm: g('oauth_no_confirm', false),
    oauthClientAllowedScopes: g('oauth_client_allowed_scopes', [] as string[]),
    oauthRoles: g('oauth_roles', [] as string[]),
    command: g('command', [] as string[]),
    environment: g('environment', {} as Record<string, string>),
    user: g('user', ''),
    cwd: g('cwd', ''),
    display: g('display', true),
    info: g('info', {} as Record<string, unknown>),
    timeout: g('timeout', DEFAULT_SERVICE_TIMEOUT),
    oauthSpecified: g('oauth_specified', false),
  };
}

function safeJson(v: unknown): string {
  try {
    // never echo tokens back into logs
    return JSON.stringify(v, (k, val) => (k === 'api_token' && typeof val === 'string' ? '[secret]' : val));
  } catch {
    return String(v);
  }
}

/** Subdomain label of a name (singleuser-and-services.md §1; the IDNA step is approximated by the fallback). */
export function dnsLabel(name: string): string {
  const safe = (s: string) => /^[a-z0-9-]{1,63}$/.test(s) && !/^[0-9]+$/.test(s) && !s.startsWith('-') && !s.endsWith('-');
  if (!name.includes('--') && safe(name)) return name;
  const label = (name.toLowerCase().match(/[a-z0-9]/g) ?? []).slice(0, 8).join('') || 'x';
  const hash = crypto.createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 7);
  return `u-${label}--${hash}`;
}
