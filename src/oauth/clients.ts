/**
 * OAuth clients registered with the hub (table `oauth_clients`): one per single-user server
 * (`jupyterhub-user-<name>[-<server>]`, registered at each spawn) and one per service.
 * Secrets are stored hashed; the built-in client `jupyterhub` has no secret and cannot be
 * used for the authorization-code flow.
 */
import type { Kysely } from 'kysely';
import type { Hub } from '../hub/app.js';
import type { DB } from '../db/schema.js';
import { hashToken } from '../util/crypto.js';

export interface OAuthClientSpec {
  /** client_id, e.g. `service-<name>` or `jupyterhub-user-<name>`. */
  identifier: string;
  /** Plain client secret (stored as a hash). */
  secret: string;
  /** The one redirect URI accepted for this client (exact string match; may be relative). */
  redirect_uri: string;
  description?: string;
  /** Scopes the client may request for users (its access scope is added by the caller). */
  allowed_scopes?: string[];
  user_id?: number | null;
  spawner_id?: number | null;
  service_id?: number | null;
  /** Skip the confirmation page (services with `oauth_no_confirm`). */
  no_confirm?: boolean;
}

const noConfirm = new WeakMap<Hub, Set<string>>();

/** Whether a client skips the confirmation page (set by registerOAuthClient with no_confirm). */
export function isNoConfirm(hub: Hub, identifier: string): boolean {
  return noConfirm.get(hub)?.has(identifier) ?? false;
}

/** Create or update an OAuth client. Call again with new values to update it. */
export async function registerOAuthClient(hub: Hub, spec: OAuthClientSpec): Promise<void> {
  await writeOAuthClient(hub.db.db, spec);
  oauthClientChanged(hub, spec.identifier, !!spec.no_confirm);
}

/**
 * The database part of registerOAuthClient (one statement), e.g. inside a transaction;
 * call oauthClientChanged once it is committed.
 */
export async function writeOAuthClient(db: Kysely<DB>, spec: OAuthClientSpec): Promise<void> {
  if (!spec.identifier) throw new Error('OAuth client needs an identifier');
  const values = {
    description: spec.description ?? spec.identifier,
    secret: spec.secret ? hashToken(spec.secret) : '',
    redirect_uri: spec.redirect_uri,
    allowed_scopes: JSON.stringify(spec.allowed_scopes ?? []),
    user_id: spec.user_id ?? null,
    spawner_id: spec.spawner_id ?? null,
    service_id: spec.service_id ?? null,
  };
  await db
    .insertInto('oauth_clients')
    .values({ identifier: spec.identifier, created: new Date().toISOString(), ...values })
    .onConflict((oc) => oc.column('identifier').doUpdateSet(values))
    .execute();
}

/** Delete a client with the tokens and codes it issued. */
export async function deleteOAuthClient(hub: Hub, identifier: string): Promise<void> {
  await deleteOAuthClientRows(hub.db.db, identifier);
  oauthClientChanged(hub, identifier, false);
}

/** The database part of deleteOAuthClient, e.g. inside a transaction; call oauthClientChanged once it is committed. */
export async function deleteOAuthClientRows(db: Kysely<DB>, identifier: string): Promise<void> {
  await db.deleteFrom('api_tokens').where('oauth_client_id', '=', identifier).execute();
  await db.deleteFrom('oauth_codes').where('client_id', '=', identifier).execute();
  await db.deleteFrom('oauth_clients').where('identifier', '=', identifier).execute();
}

/** After a client was written or deleted: its confirmation setting and cached look-ups. */
export function oauthClientChanged(hub: Hub, identifier: string, noConfirmPage: boolean): void {
  let set = noConfirm.get(hub);
  if (!set) noConfirm.set(hub, (set = new Set()));
  if (noConfirmPage) set.add(identifier);
  else set.delete(identifier);
  // The rbac module caches client targets; spawner ids change when records are recreated.
  const r = (hub as unknown as { rbac?: { clientCache?: Map<string, unknown> } }).rbac;
  r?.clientCache?.delete?.(identifier);
}
