/**
 * The database layer against real SQLite files and a real PostgreSQL server: creation,
 * versioned migrations, refusal of databases it does not understand, clear errors.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openDatabase, DatabaseError, parseDbUrl } from '../../src/db/index.js';
import { StaticProvider, knownMigrations } from '../../src/db/migrations.js';
import { createApiToken, findApiToken } from '../../src/hub/tokens.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { setLogStream } from '../../src/util/log.js';

// Keep the test output readable: the db module logs what it creates and migrates.
setLogStream(fs.createWriteStream('/dev/null'));

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-db-'));
}
function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function migrateSqliteTo(file: string, name: string): Promise<void> {
  const k = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
  const r = await new Migrator({ db: k, provider: new StaticProvider('sqlite') }).migrateTo(name);
  assert.equal(r.error, undefined);
  await k.destroy();
}

describe('db_url parsing', () => {
  it('understands the JupyterHub forms', () => {
    assert.deepEqual(parseDbUrl('sqlite:///jupyterhub.sqlite', '/srv/hub'), { dialect: 'sqlite', file: '/srv/hub/jupyterhub.sqlite' });
    assert.deepEqual(parseDbUrl('sqlite:////var/lib/hub.sqlite', '/x'), { dialect: 'sqlite', file: '/var/lib/hub.sqlite' });
    assert.equal(parseDbUrl('sqlite:///:memory:').file, ':memory:');
    assert.equal(parseDbUrl('sqlite://').file, ':memory:');
    assert.equal(parseDbUrl('postgresql+psycopg2://u:p@h/db').dialect, 'postgres');
  });
  it('refuses what it cannot use, naming it', () => {
    assert.throws(() => parseDbUrl('mysql+pymysql://u:secretpw@h/db'), (e: Error) => e instanceof DatabaseError && /MySQL/.test(e.message) && !/secretpw/.test(e.message));
    assert.throws(() => parseDbUrl('jupyterhub.sqlite'), /invalid db_url/);
    assert.throws(() => parseDbUrl('oracle://x/y'), /unknown database type 'oracle'/);
  });
});

describe('SQLite', () => {
  it('creates the schema in a new file and reopens it unchanged', async () => {
    const dir = tmp();
    const url = `sqlite:///${dir}/jupyterhub.sqlite`;
    const d1 = await openDatabase(url);
    await d1.db.insertInto('users').values({ name: 'alice', admin: 0, created: new Date().toISOString(), last_activity: null, cookie_id: 'c1', encrypted_auth_state: null }).execute();
    await d1.close();
    const d2 = await openDatabase(url);
    const rows = await d2.db.selectFrom('users').select('name').execute();
    assert.deepEqual(rows, [{ name: 'alice' }]);
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(d2.db);
    assert.deepEqual(applied.rows.map((r) => r.name), knownMigrations('sqlite'));
    await d2.close();
  });

  it('in memory', async () => {
    const d = await openDatabase('sqlite:///:memory:');
    assert.equal(d.file, null);
    assert.equal((await d.db.selectFrom('users').selectAll().execute()).length, 0);
    await d.close();
  });

  it('an older schema is refused without upgrade, untouched; upgrade backs up first', async () => {
    const dir = tmp();
    const file = path.join(dir, 'old.sqlite');
    await migrateSqliteTo(file, knownMigrations('sqlite')[0]);
    const before = sha(file);
    await assert.rejects(openDatabase(`sqlite:///${file}`), (e: Error) => e instanceof DatabaseError && /older than this jhub needs/.test(e.message) && /jhub upgrade-db/.test(e.message));
    assert.equal(sha(file), before, 'refused database must not change');
    const d = await openDatabase(`sqlite:///${file}`, { upgrade: true });
    await d.close();
    const backups = fs.readdirSync(dir).filter((f) => f.startsWith('old.sqlite.') && f.endsWith('.bak'));
    assert.equal(backups.length, 1);
    assert.equal(sha(path.join(dir, backups[0])), before, 'backup holds the old database');
    const d2 = await openDatabase(`sqlite:///${file}`);
    await d2.close();
  });

  it('a newer schema is refused, untouched', async () => {
    const dir = tmp();
    const file = path.join(dir, 'new.sqlite');
    await (await openDatabase(`sqlite:///${file}`)).close();
    const conn = new Database(file);
    conn.prepare(`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')`).run();
    conn.close();
    const before = sha(file);
    await assert.rejects(openDatabase(`sqlite:///${file}`, { upgrade: true }), /9999_from_the_future, newer than this jhub knows/);
    assert.equal(sha(file), before);
  });

  it('a database of the Python JupyterHub is refused, untouched', async () => {
    const dir = tmp();
    const file = path.join(dir, 'py.sqlite');
    const conn = new Database(file);
    conn.exec(`create table alembic_version (version_num varchar(32)); insert into alembic_version values ('4621fec11365'); create table users (id integer primary key, name text)`);
    conn.close();
    const before = sha(file);
    await assert.rejects(openDatabase(`sqlite:///${file}`, { upgrade: true }), /JupyterHub \(Python\) database/);
    assert.equal(sha(file), before);
  });

  it('garbage, missing directory and locked files give clear errors', async () => {
    const dir = tmp();
    const garbage = path.join(dir, 'garbage.sqlite');
    fs.writeFileSync(garbage, 'this is not a database, just some text that is long enough '.repeat(100));
    await assert.rejects(openDatabase(`sqlite:///${garbage}`), /is not a SQLite database|not a database/);
    await assert.rejects(openDatabase(`sqlite:///${dir}/nope/x.sqlite`), /directory .* does not exist/);

    const locked = path.join(dir, 'locked.sqlite');
    await (await openDatabase(`sqlite:///${locked}`)).close();
    const holder = new Database(locked);
    holder.pragma('journal_mode = DELETE');
    holder.exec('BEGIN EXCLUSIVE');
    try {
      await assert.rejects(openDatabase(`sqlite:///${locked}`, { kwargs: { timeout: 100 }, upgrade: true }), /locked/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('stores tokens only as hashes and finds them again', async () => {
    const d = await openDatabase('sqlite:///:memory:');
    await d.db.insertInto('users').values({ name: 'bob', admin: 0, created: new Date().toISOString(), last_activity: null, cookie_id: 'c2', encrypted_auth_state: null }).execute();
    const generated = await createApiToken(d.db, { userId: 1, note: 'test' });
    const chosen = await createApiToken(d.db, { userId: 1, token: 'my-own-chosen-token' });
    const rows = await d.db.selectFrom('api_tokens').select(['hashed', 'prefix']).execute();
    for (const r of rows) {
      assert.ok(!r.hashed.includes(generated) && !r.hashed.includes(chosen), 'no token in clear');
    }
    assert.ok(rows.some((r) => r.hashed.startsWith('pbkdf2$')), 'chosen tokens get a salted hash');
    assert.equal((await findApiToken(d.db, generated))?.note, 'test');
    assert.ok(await findApiToken(d.db, chosen));
    assert.equal(await findApiToken(d.db, 'my-own-chosen-tokeX'), null);
    const expiring = await createApiToken(d.db, { userId: 1, expiresIn: -1 });
    assert.equal(await findApiToken(d.db, expiring), null, 'expired tokens never match');
    await d.close();
  });
});

describe('PostgreSQL', () => {
  let server: TestPostgres;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  it('creates the schema, reopens, and refuses an older schema without upgrade', async () => {
    const url = server.createDatabase('jhub_fresh');
    const d = await openDatabase(url);
    assert.equal(d.dialect, 'postgres');
    await d.db.insertInto('users').values({ name: 'ünïcode', admin: 1, created: new Date().toISOString(), last_activity: null, cookie_id: 'c', encrypted_auth_state: null }).execute();
    const u = await d.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    assert.equal(u.name, 'ünïcode');
    assert.equal(typeof u.id, 'number');
    await d.close();
    await (await openDatabase(url)).close();

    const oldUrl = server.createDatabase('jhub_old');
    const pool = new pg.Pool({ connectionString: oldUrl });
    const k = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    await new Migrator({ db: k, provider: new StaticProvider('postgres') }).migrateTo(knownMigrations('postgres')[0]);
    await k.destroy();
    await assert.rejects(openDatabase(oldUrl), /older than this jhub needs/);
    const up = await openDatabase(oldUrl, { upgrade: true });
    await up.close();
  });

  it('an unreachable server is a clear error without the password', async () => {
    const url = `postgresql://jhub:hunter2secret@127.0.0.1:1/jhub`;
    await assert.rejects(openDatabase(url, { kwargs: { connectionTimeoutMillis: 2000 } }), (e: Error) => {
      assert.ok(e instanceof DatabaseError);
      assert.match(e.message, /cannot connect to PostgreSQL/);
      assert.match(e.message, /ECONNREFUSED/);
      assert.ok(!e.message.includes('hunter2secret'), 'password must not appear');
      return true;
    });
  });
});
