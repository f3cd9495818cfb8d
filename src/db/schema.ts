/**
 * Table types for the Kysely query builder. Timestamps are ISO 8601 UTC strings with
 * millisecond precision and a trailing `Z` (sortable as text, the API's format); JSON
 * columns are text holding JSON; booleans are integers 0/1 on both SQLite and PostgreSQL.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Id = Generated<number>;
type Json = string;
type Ts = string;

export interface UsersTable {
  id: Id;
  name: string;
  admin: number;
  created: Ts;
  last_activity: Ts | null;
  /** Rotated on logout-everywhere; part of the login cookie. */
  cookie_id: string;
  /** Fernet token of the JSON auth_state (JUPYTERHUB_CRYPT_KEY), or null. */
  encrypted_auth_state: string | null;
}

/** One row per (user, server name); `url` set while the server runs. */
export interface SpawnersTable {
  id: Id;
  user_id: number;
  name: string;
  /** JSON: what the spawner needs to find its server again (pid, container id...). */
  state: Json;
  /** Where the server listens, e.g. http://127.0.0.1:45123 — null when stopped. */
  url: string | null;
  started: Ts | null;
  last_activity: Ts | null;
  user_options: Json;
}

export interface GroupsTable {
  id: Id;
  name: string;
  properties: Json;
}

export interface RolesTable {
  id: Id;
  name: string;
  description: string | null;
  scopes: Json;
  /** 1 when granted by the authenticator (Authenticator.manage_roles). */
  managed_by_auth: number;
}

export interface UserGroupMap {
  user_id: number;
  group_id: number;
}
export interface UserRoleMap {
  user_id: number;
  role_id: number;
  /** 1 when the authenticator made this assignment (manage_roles; migration 0005). */
  managed_by_auth: ColumnType<number, number | undefined, number>;
}
export interface GroupRoleMap {
  group_id: number;
  role_id: number;
  /** 1 when the authenticator made this assignment (manage_roles; migration 0005). */
  managed_by_auth: ColumnType<number, number | undefined, number>;
}
export interface ServiceRoleMap {
  service_id: number;
  role_id: number;
  /** 1 when the authenticator made this assignment (manage_roles; migration 0005). */
  managed_by_auth: ColumnType<number, number | undefined, number>;
}

export interface ServicesTable {
  id: Id;
  name: string;
  admin: number;
  /** Where the service listens, if proxied. */
  url: string | null;
  oauth_client_id: string | null;
  /** JSON state of a hub-managed process (pid). */
  state: Json;
  from_config: number;
}

export interface ApiTokensTable {
  id: Id;
  /** `sha512$<hex>` for generated tokens (looked up directly), or `pbkdf2$<rounds>$<salt>$<hex>` for user-provided ones. */
  hashed: string;
  /** First 4 characters of the token, for lookup of salted hashes and for display. */
  prefix: string;
  user_id: number | null;
  service_id: number | null;
  /** OAuth client that issued it (`jupyterhub` for tokens made in the hub). */
  oauth_client_id: string;
  session_id: string | null;
  created: Ts;
  expires_at: Ts | null;
  last_activity: Ts | null;
  note: string;
  /** JSON list of scopes (may contain roles' expansions at creation: stored as requested). */
  scopes: Json;
}

export interface OAuthClientsTable {
  id: Id;
  identifier: string;
  description: string;
  /** sha512 hash of the client secret. */
  secret: string;
  redirect_uri: string;
  allowed_scopes: Json;
  /** Owner: a user's server or a service (for cleanup). */
  user_id: number | null;
  spawner_id: number | null;
  service_id: number | null;
  created: Ts;
}

export interface OAuthCodesTable {
  id: Id;
  client_id: string;
  /** sha512 hash of the code. */
  code: string;
  expires_at: Ts;
  redirect_uri: string;
  session_id: string | null;
  user_id: number;
  scopes: Json;
  /** PKCE challenge (migration 0004), null when the client sent none. */
  code_challenge: string | null;
  code_challenge_method: string | null;
}

export interface SharesTable {
  id: Id;
  spawner_id: number;
  user_id: number | null;
  group_id: number | null;
  owner_id: number;
  scopes: Json;
  created: Ts;
}

export interface ShareCodesTable {
  id: Id;
  spawner_id: number;
  owner_id: number;
  /** sha512 hash of the code. */
  code: string;
  prefix: string;
  scopes: Json;
  created: Ts;
  expires_at: Ts | null;
  exchange_count: number;
  last_exchanged_at: Ts | null;
}

export interface JhubMetaTable {
  key: string;
  value: string;
}

export interface DB {
  users: UsersTable;
  spawners: SpawnersTable;
  groups: GroupsTable;
  roles: RolesTable;
  user_group_map: UserGroupMap;
  user_role_map: UserRoleMap;
  group_role_map: GroupRoleMap;
  service_role_map: ServiceRoleMap;
  services: ServicesTable;
  api_tokens: ApiTokensTable;
  oauth_clients: OAuthClientsTable;
  oauth_codes: OAuthCodesTable;
  shares: SharesTable;
  share_codes: ShareCodesTable;
  jhub_meta: JhubMetaTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type SpawnerRow = Selectable<SpawnersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type RoleRow = Selectable<RolesTable>;
export type ServiceRow = Selectable<ServicesTable>;
export type TokenRow = Selectable<ApiTokensTable>;
export type OAuthClientRow = Selectable<OAuthClientsTable>;
export type OAuthCodeRow = Selectable<OAuthCodesTable>;
export type ShareRow = Selectable<SharesTable>;
export type ShareCodeRow = Selectable<ShareCodesTable>;
export type { ColumnType };

/** Current time in the stored timestamp format. */
export function nowIso(): string {
  return new Date().toISOString();
}
