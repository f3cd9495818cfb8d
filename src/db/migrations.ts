/**
 * Versioned schema migrations, applied in order by Kysely's Migrator. Never edit a
 * migration that has shipped: add a new one. `LATEST` is what this jhub expects.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

function migrations(dialect: Dialect): Record<string, Migration> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const idCol = (t: any) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'serial', (c: any) => c.primaryKey())
      : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());
  const blobText = 'text';
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await idCol(db.schema.createTable('users'))
          .addColumn('name', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('admin', 'integer', (c: any) => c.notNull().defaultTo(0))
          .addColumn('created', 'varchar(32)', (c: any) => c.notNull())
          .addColumn('last_activity', 'varchar(32)')
          .addColumn('cookie_id', 'varchar(64)', (c: any) => c.notNull().unique())
          .addColumn('encrypted_auth_state', blobText)
          .execute();
        await idCol(db.schema.createTable('spawners'))
          .addColumn('user_id', 'integer', (c: any) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('name', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
          .addColumn('state', 'text', (c: any) => c.notNull().defaultTo('{}'))
          .addColumn('url', 'varchar(1024)')
          .addColumn('started', 'varchar(32)')
          .addColumn('last_activity', 'varchar(32)')
          .addColumn('user_options', 'text', (c: any) => c.notNull().defaultTo('{}'))
          .addUniqueConstraint('spawners_user_name', ['user_id', 'name'])
          .execute();
        await idCol(db.schema.createTable('groups'))
          .addColumn('name', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('properties', 'text', (c: any) => c.notNull().defaultTo('{}'))
          .execute();
        await idCol(db.schema.createTable('roles'))
          .addColumn('name', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('description', 'text')
          .addColumn('scopes', 'text', (c: any) => c.notNull().defaultTo('[]'))
          .addColumn('managed_by_auth', 'integer', (c: any) => c.notNull().defaultTo(0))
          .execute();
        await idCol(db.schema.createTable('services'))
          .addColumn('name', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('admin', 'integer', (c: any) => c.notNull().defaultTo(0))
          .addColumn('url', 'varchar(1024)')
          .addColumn('oauth_client_id', 'varchar(255)')
          .addColumn('state', 'text', (c: any) => c.notNull().defaultTo('{}'))
          .addColumn('from_config', 'integer', (c: any) => c.notNull().defaultTo(1))
          .execute();
        for (const [table, a, ta, b, tb] of [
          ['user_group_map', 'user_id', 'users', 'group_id', 'groups'],
          ['user_role_map', 'user_id', 'users', 'role_id', 'roles'],
          ['group_role_map', 'group_id', 'groups', 'role_id', 'roles'],
          ['service_role_map', 'service_id', 'services', 'role_id', 'roles'],
        ]) {
          await db.schema
            .createTable(table)
            .addColumn(a, 'integer', (c: any) => c.notNull().references(`${ta}.id`).onDelete('cascade'))
            .addColumn(b, 'integer', (c: any) => c.notNull().references(`${tb}.id`).onDelete('cascade'))
            .addPrimaryKeyConstraint(`${table}_pk`, [a, b])
            .execute();
          await db.schema.createIndex(`${table}_${b}`).on(table).column(b).execute();
        }
        await idCol(db.schema.createTable('api_tokens'))
          .addColumn('hashed', 'varchar(255)', (c: any) => c.notNull())
          .addColumn('prefix', 'varchar(16)', (c: any) => c.notNull())
          .addColumn('user_id', 'integer', (c: any) => c.references('users.id').onDelete('cascade'))
          .addColumn('service_id', 'integer', (c: any) => c.references('services.id').onDelete('cascade'))
          .addColumn('oauth_client_id', 'varchar(255)', (c: any) => c.notNull().defaultTo('jupyterhub'))
          .addColumn('session_id', 'varchar(255)')
          .addColumn('created', 'varchar(32)', (c: any) => c.notNull())
          .addColumn('expires_at', 'varchar(32)')
          .addColumn('last_activity', 'varchar(32)')
          .addColumn('note', 'text', (c: any) => c.notNull().defaultTo(''))
          .addColumn('scopes', 'text', (c: any) => c.notNull().defaultTo('[]'))
          .execute();
        await db.schema.createIndex('api_tokens_hashed').on('api_tokens').column('hashed').unique().execute();
        await db.schema.createIndex('api_tokens_prefix').on('api_tokens').column('prefix').execute();
        await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
        await idCol(db.schema.createTable('oauth_clients'))
          .addColumn('identifier', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('description', 'text', (c: any) => c.notNull().defaultTo(''))
          .addColumn('secret', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
          .addColumn('redirect_uri', 'varchar(1024)', (c: any) => c.notNull().defaultTo(''))
          .addColumn('allowed_scopes', 'text', (c: any) => c.notNull().defaultTo('[]'))
          .addColumn('user_id', 'integer', (c: any) => c.references('users.id').onDelete('cascade'))
          .addColumn('spawner_id', 'integer', (c: any) => c.references('spawners.id').onDelete('cascade'))
          .addColumn('service_id', 'integer', (c: any) => c.references('services.id').onDelete('cascade'))
          .addColumn('created', 'varchar(32)', (c: any) => c.notNull())
          .execute();
        await idCol(db.schema.createTable('oauth_codes'))
          .addColumn('client_id', 'varchar(255)', (c: any) => c.notNull())
          .addColumn('code', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('expires_at', 'varchar(32)', (c: any) => c.notNull())
          .addColumn('redirect_uri', 'varchar(1024)', (c: any) => c.notNull())
          .addColumn('session_id', 'varchar(255)')
          .addColumn('user_id', 'integer', (c: any) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('scopes', 'text', (c: any) => c.notNull().defaultTo('[]'))
          .execute();
        await idCol(db.schema.createTable('shares'))
          .addColumn('spawner_id', 'integer', (c: any) => c.notNull().references('spawners.id').onDelete('cascade'))
          .addColumn('user_id', 'integer', (c: any) => c.references('users.id').onDelete('cascade'))
          .addColumn('group_id', 'integer', (c: any) => c.references('groups.id').onDelete('cascade'))
          .addColumn('owner_id', 'integer', (c: any) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('scopes', 'text', (c: any) => c.notNull().defaultTo('[]'))
          .addColumn('created', 'varchar(32)', (c: any) => c.notNull())
          .execute();
        await idCol(db.schema.createTable('share_codes'))
          .addColumn('spawner_id', 'integer', (c: any) => c.notNull().references('spawners.id').onDelete('cascade'))
          .addColumn('owner_id', 'integer', (c: any) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('code', 'varchar(255)', (c: any) => c.notNull().unique())
          .addColumn('prefix', 'varchar(16)', (c: any) => c.notNull())
          .addColumn('scopes', 'text', (c: any) => c.notNull().defaultTo('[]'))
          .addColumn('created', 'varchar(32)', (c: any) => c.notNull())
          .addColumn('expires_at', 'varchar(32)')
          .addColumn('exchange_count', 'integer', (c: any) => c.notNull().defaultTo(0))
          .addColumn('last_exchanged_at', 'varchar(32)')
          .execute();
        await db.schema
          .createTable('jhub_meta')
          .addColumn('key', 'varchar(64)', (c: any) => c.primaryKey())
          .addColumn('value', 'text', (c: any) => c.notNull())
          .execute();
      },
    },
    '0002_user_last_activity_index': {
      async up(db: Kysely<any>) {
        // The idle culler and the admin panel sort and filter on activity.
        await db.schema.createIndex('users_last_activity').on('users').column('last_activity').execute();
        await db.schema.createIndex('spawners_url').on('spawners').column('url').execute();
        await sql`select 1`.execute(db);
      },
    },
    '0004_spawn_oauth_pkce': {
      async up(db: Kysely<any>) {
        // PKCE (RFC 7636): jupyterhub-singleuser 5.x/6.x sends code_challenge (S256).
        await db.schema.alterTable('oauth_codes').addColumn('code_challenge', 'varchar(255)').execute();
        await db.schema.alterTable('oauth_codes').addColumn('code_challenge_method', 'varchar(16)').execute();
      },
    },
    '0005_role_map_managed_by_auth': {
      async up(db: Kysely<any>) {
        // Authenticator.manage_roles: which role assignments the authenticator made, so that
        // reset_managed_roles_on_startup can remove the ones load_managed_roles() no longer gives.
        for (const table of ['user_role_map', 'group_role_map', 'service_role_map'])
          await db.schema.alterTable(table).addColumn('managed_by_auth', 'integer', (c: any) => c.notNull().defaultTo(0)).execute();
      },
    },
  };
}

export class StaticProvider implements MigrationProvider {
  constructor(private dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

export function knownMigrations(dialect: Dialect): string[] {
  return Object.keys(migrations(dialect)).sort();
}
