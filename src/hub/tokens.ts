/**
 * API tokens at rest: only hashes are stored. Generated tokens are high-entropy and stored
 * with a fast hash that is looked up directly; tokens a person chose (config files) get a
 * salted slow hash and are found by their prefix.
 */
import type { Kysely } from 'kysely';
import type { DB, TokenRow } from '../db/schema.js';
import { hashToken, hashUserToken, newToken, verifyToken } from '../util/crypto.js';
import { prepared } from '../db/prepared.js';

const tokenByHash = prepared((db, hashed: string) => db.selectFrom('api_tokens').selectAll().where('hashed', '=', hashed));

export interface NewTokenOptions {
  userId?: number | null;
  serviceId?: number | null;
  note?: string;
  scopes?: string[];
  expiresIn?: number | null;
  oauthClientId?: string;
  sessionId?: string | null;
  /** A token given in config (api_tokens, service api_token): stored with a salted hash. */
  token?: string;
  /** Treat the given token as high-entropy (JupyterHub.trust_user_provided_tokens). */
  trusted?: boolean;
}

export async function createApiToken(db: Kysely<DB>, o: NewTokenOptions): Promise<string> {
  const token = o.token ?? newToken();
  const hashed = o.token && !o.trusted ? hashUserToken(token) : hashToken(token);
  const now = new Date();
  await db
    .insertInto('api_tokens')
    .values({
      hashed,
      prefix: token.slice(0, 4),
      user_id: o.userId ?? null,
      service_id: o.serviceId ?? null,
      oauth_client_id: o.oauthClientId ?? 'jupyterhub',
      session_id: o.sessionId ?? null,
      created: now.toISOString(),
      expires_at: o.expiresIn ? new Date(now.getTime() + o.expiresIn * 1000).toISOString() : null,
      last_activity: null,
      note: o.note ?? '',
      scopes: JSON.stringify(o.scopes ?? ['inherit']),
    })
    .execute();
  return token;
}

/** fast hash of a presented user-provided token → its stored slow hash (verified). */
const slowHashCache = new Map<string, string>();

/** Find the (unexpired) token row for a presented token, or null. */
export async function findApiToken(db: Kysely<DB>, token: string): Promise<TokenRow | null> {
  if (!token || token.length < 8 || token.length > 4096) return null;
  let row: TokenRow | null = (await tokenByHash(db, hashToken(token)))[0] ?? null;
  if (!row) {
    // user-provided tokens use a slow salted hash: remember which stored hash a presented
    // token verified against (keyed by its fast hash), so later requests skip PBKDF2.
    const fast = hashToken(token);
    const known = slowHashCache.get(fast);
    if (known) {
      row = (await tokenByHash(db, known))[0] ?? null;
      if (!row) slowHashCache.delete(fast);
    }
  }
  if (!row) {
    const candidates = await db
      .selectFrom('api_tokens')
      .selectAll()
      .where('prefix', '=', token.slice(0, 4))
      .where('hashed', 'like', 'pbkdf2$%')
      .execute();
    row = null;
    for (const c of candidates) {
      if (await verifyToken(token, c.hashed)) {
        row = c;
        break;
      }
    }
    if (row) {
      if (slowHashCache.size > 10000) slowHashCache.clear();
      slowHashCache.set(hashToken(token), row.hashed);
    }
  }
  if (row?.expires_at && row.expires_at < new Date().toISOString()) return null;
  return row;
}
