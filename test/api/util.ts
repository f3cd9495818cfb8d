/** Helpers for the API tests: a hub with our proxy, JSON fetch, a tiny OpenAPI schema validator. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT, startHub, type RunningHub, type StartHubOptions } from '../helpers/hub.js';

export async function apiHub(o: StartHubOptions = {}): Promise<RunningHub> {
  return startHub({ ...o, config: { ...(o.config ?? {}), ConfigurableHTTPProxy: { command: ['jhub-proxy'], ...(o.config?.ConfigurableHTTPProxy ?? {}) } } });
}

export interface JsonResult {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

export async function call(hub: RunningHub, p: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<JsonResult> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) {
    headers.set('Content-Type', 'application/json');
    rest.body = JSON.stringify(json);
  }
  const r = await hub.apiFetch(p, { ...rest, headers });
  const text = await r.text();
  let body: any = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: r.status, body, headers: r.headers, text };
}

export const OPENAPI = YAML.parse(fs.readFileSync(path.join(ROOT, 'src/api/openapi.yaml'), 'utf8'));

/** Validate a value against an OpenAPI 3.0 schema (subset: type, nullable, enum, required, properties, additionalProperties, items, maxItems, pattern, $ref). Returns errors. */
export function validate(value: unknown, schema: any, where = '$', errors: string[] = []): string[] {
  if (schema.$ref) {
    const name = String(schema.$ref).split('/').pop()!;
    return validate(value, OPENAPI.components.schemas[name], where, errors);
  }
  if (value === null) {
    if (!schema.nullable && schema.type) errors.push(`${where}: null not allowed`);
    return errors;
  }
  const t = schema.type;
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (t && !(t === actual || (t === 'number' && actual === 'integer'))) {
    errors.push(`${where}: expected ${t}, got ${actual}`);
    return errors;
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} not in enum`);
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${where}: ${value} does not match ${schema.pattern}`);
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${where}: too many items`);
    if (schema.items) value.forEach((v, i) => validate(v, schema.items, `${where}[${i}]`, errors));
  } else if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${where}: missing ${k}`);
    for (const [k, v] of Object.entries(o)) {
      if (schema.properties?.[k]) validate(v, schema.properties[k], `${where}.${k}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${where}: unexpected key ${k}`);
      else if (typeof schema.additionalProperties === 'object') validate(v, schema.additionalProperties, `${where}.${k}`, errors);
    }
  }
  return errors;
}

/** Schema of a response in the OpenAPI document. */
export function responseSchema(p: string, method: string, status: number, type = 'application/json'): any {
  return OPENAPI.paths[p]?.[method.toLowerCase()]?.responses?.[String(status)]?.content?.[type]?.schema;
}
