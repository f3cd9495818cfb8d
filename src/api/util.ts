/** Request helpers shared by the API handlers: JSON bodies, model checks, pagination. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type Hub } from '../hub/app.js';

export const PAGINATION_MEDIA_TYPE = 'application/jupyterhub-pagination+json';

/** The JSON body (null when empty); text bodies of any content type are parsed as JSON too. */
export function jsonBody(req: FastifyRequest): unknown {
  const b = req.body as unknown;
  if (b === undefined || b === null) return null;
  if (typeof b === 'string') {
    if (!b.trim()) return null;
    try {
      return JSON.parse(b);
    } catch {
      throw new HttpError(400, 'Invalid JSON in body of request');
    }
  }
  if (Buffer.isBuffer(b)) return jsonBody({ body: b.toString('utf8') } as FastifyRequest);
  return b;
}

export function isDict(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

type TypeName = 'str' | 'bool' | 'list' | 'dict' | 'int';
const PY: Record<TypeName, string> = { str: "<class 'str'>", bool: "<class 'bool'>", list: "<class 'list'>", dict: "<class 'dict'>", int: "<class 'int'>" };

export function pyType(v: unknown): string {
  if (v === null) return "<class 'NoneType'>";
  if (typeof v === 'string') return PY.str;
  if (typeof v === 'boolean') return PY.bool;
  if (typeof v === 'number') return Number.isInteger(v) ? PY.int : "<class 'float'>";
  if (Array.isArray(v)) return PY.list;
  return PY.dict;
}

function isType(v: unknown, t: TypeName): boolean {
  switch (t) {
    case 'str':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'list':
      return Array.isArray(v);
    case 'dict':
      return isDict(v);
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
  }
}

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

/** JupyterHub's `_check_model`: a dict, known keys only, each of the declared type. */
export function checkModel(model: unknown, types: Record<string, TypeName>, name: string): Record<string, unknown> {
  if (!isDict(model)) throw new HttpError(400, `Invalid JSON data: ${pyRepr(model)}`);
  for (const k of Object.keys(model)) if (!(k in types)) throw new HttpError(400, `Invalid JSON keys: ${pyRepr(model)}`);
  for (const [k, v] of Object.entries(model)) if (!isType(v, types[k])) throw new HttpError(400, `${name}.${k} must be ${PY[types[k]]}, not: ${pyType(v)}`);
  return model;
}

export const USER_MODEL_TYPES: Record<string, TypeName> = { name: 'str', admin: 'bool', groups: 'list', roles: 'list', auth_state: 'dict' };
export const GROUP_MODEL_TYPES: Record<string, TypeName> = { name: 'str', users: 'list', roles: 'list' };

export function strArray(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, `${what} must be a list of strings`);
  return v as string[];
}

export function query(req: FastifyRequest): Record<string, string | string[] | undefined> {
  return (req.query ?? {}) as Record<string, string | string[] | undefined>;
}

/** Last value of a query argument (as tornado's get_argument). */
export function arg(req: FastifyRequest, name: string): string | undefined {
  const v = query(req)[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function acceptsPagination(req: FastifyRequest): boolean {
  const a = req.headers.accept;
  if (!a) return false;
  return a.split(',').some((s) => s.trim().toLowerCase() === PAGINATION_MEDIA_TYPE);
}

export function pagination(hub: Hub, req: FastifyRequest): { offset: number; limit: number } {
  const max = hub.config.get<number>('JupyterHub', 'api_page_max_limit');
  const def = acceptsPagination(req) ? hub.config.get<number>('JupyterHub', 'api_page_default_limit') : max;
  const o = arg(req, 'offset');
  const l = arg(req, 'limit');
  const toInt = (s: string) => {
    const t = s.trim();
    if (!/^[+-]?\d+$/.test(t)) throw new HttpError(400, 'Invalid argument type, offset and limit must be integers');
    return Math.abs(Number(t));
  };
  const offset = o === undefined ? 0 : toInt(o);
  let limit = l === undefined ? def : toInt(l);
  if (limit > max) limit = max;
  if (limit < 1) limit = 1;
  return { offset, limit };
}

/** Full request URL as the hub sees it (scheme/host from the request). */
export function fullUrl(req: FastifyRequest): URL {
  const host = req.headers.host ?? 'localhost';
  return new URL(`${req.protocol}://${host}${req.url}`);
}

export function paginated<T>(req: FastifyRequest, items: T, offset: number, limit: number, total: number) {
  const nextOffset = offset + limit;
  let next: { offset: number; limit: number; url: string } | null = null;
  if (nextOffset < total) {
    const u = fullUrl(req);
    u.searchParams.set('offset', String(nextOffset));
    u.searchParams.set('limit', String(limit));
    next = { offset: nextOffset, limit, url: u.toString() };
  }
  return { items, _pagination: { offset, limit, total, next } };
}

export function sendJson(reply: FastifyReply, status: number, data: unknown): FastifyReply {
  return reply.status(status).header('Content-Type', 'application/json').send(JSON.stringify(data));
}

/** Empty 200/201 with JupyterHub's JSON content type. */
export function sendEmpty(reply: FastifyReply, status = 200, type = 'application/json'): FastifyReply {
  return reply.status(status).header('Content-Type', type).send('');
}

export function boolArg(req: FastifyRequest, name: string): boolean {
  const q = query(req);
  if (!(name in q)) return false;
  const v = arg(req, name) ?? '';
  return !['0', 'false'].includes(v.toLowerCase());
}
