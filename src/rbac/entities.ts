/**
 * Users, groups and services as RBAC sees them: name normalization/validation (through the
 * authenticator when the login module provides one), creation with default roles.
 */
import type { Hub } from '../hub/app.js';
import type { UserRow } from '../db/schema.js';
import { newToken } from '../util/crypto.js';

/** What this module uses of `hub.authenticator` (provided by the login module; all optional). */
export interface AuthenticatorLike {
  normalizeUsername?(name: string): string;
  validateUsername?(name: string): boolean;
  addUser?(user: UserRow): unknown;
  deleteUser?(user: UserRow): unknown;
  authenticate?(req: unknown, data: unknown): unknown;
  getAuthenticatedUser?(ctx: never, data: Record<string, string>): Promise<{ name: string } | null>;
  constructor?: { name?: string };
  className?: string;
}

export function authenticatorOf(hub: Hub): AuthenticatorLike | undefined {
  return (hub as unknown as { authenticator?: AuthenticatorLike }).authenticator;
}

export function normalizeUsername(hub: Hub, name: string): string {
  const a = authenticatorOf(hub);
  if (a?.normalizeUsername) return a.normalizeUsername(name);
  const fn = hub.config.get<((n: string) => string) | null>('Authenticator', 'normalize_username');
  if (typeof fn === 'function') return String(fn(name));
  let n = name.toLowerCase();
  const map = hub.config.get<Record<string, string>>('Authenticator', 'username_map') ?? {};
  if (Object.prototype.hasOwnProperty.call(map, n)) n = map[n];
  return n;
}

export function validateUsername(hub: Hub, name: string): boolean {
  const a = authenticatorOf(hub);
  if (a?.validateUsername) return !!a.validateUsername(name);
  if (!name || name.includes('/') || name.trim() !== name) return false;
  const pat = hub.config.get<string>('Authenticator', 'username_pattern');
  if (pat) {
    try {
      if (!new RegExp(`^(?:${pat})`).test(name)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Role ids of the default roles, resolved once the roles are loaded. */
export function newUserValues(name: string, admin = false) {
  return { name, admin: admin ? 1 : 0, created: new Date().toISOString(), last_activity: null, cookie_id: newToken(), encrypted_auth_state: null };
}

/** URL-escape a path segment as JupyterHub does (only unreserved characters plus @ and ~ stay). */
export function escapePath(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%40/g, '@');
}
