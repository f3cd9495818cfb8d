/**
 * Opening the hub database from a JupyterHub `db_url`: SQLite (default, file or memory)
 * or PostgreSQL. Checks the schema version and migrates when asked; never changes a
 * database it does not understand.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { DB } from './schema.js';
import { StaticProvider, knownMigrations, type Dialect } from './migrations.js';
import { getLogger } from '../util/log.js';
import { DatabaseError } from './errors.js';
import { WriteTracker, trackWrites } from './writes.js';

export { DatabaseError } from './errors.js';
export { writeGeneration } from './writes.js';

const log = getLogger('JupyterHub', 'db');

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Filesystem path of a SQLite file, null for memory or PostgreSQL. */
  file: string | null;
  /** Connection URL with any password masked, for logs. */
  displayUrl: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  cwd?: string;
  /** Apply pending migrations to an existing database (backing up a SQLite file first). */
  upgrade?: boolean;
  /** Drop everything and recreate (JupyterHub.reset_db). */
  reset?: boolean;
  /** Extra driver options (JupyterHub.db_kwargs). */
  kwargs?: Record<string, unknown>;
  debugSql?: boolean;
}

export function maskUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1[secret]@');
}

export interface ParsedDbUrl {
  dialect: Dialect;
  file: string | null; // sqlite path, ':memory:' for memory
  pg?: string;
}

export function parseDbUrl(url: string, cwd = process.cwd()): ParsedDbUrl {
  const m = /^([a-z0-9]+)(\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(url);
  if (!m) throw new DatabaseError(`invalid db_url '${maskUrl(url)}': expected sqlite:///path or postgresql://user:password@host/dbname`);
  const scheme = m[1].toLowerCase();
  const rest = m[3];
  if (scheme === 'sqlite') {
    // sqlite:// and sqlite:///:memory: are in-memory; sqlite:///rel is relative; sqlite:////abs absolute
    if (rest === '' || rest === '/:memory:' || rest === ':memory:') return { dialect: 'sqlite', file: ':memory:' };
    if (!rest.startsWith('/')) throw new DatabaseError(`invalid db_url '${url}': a SQLite URL needs three slashes (sqlite:///file.sqlite) or four for an absolute path`);
    const p = rest.slice(1).split('?')[0];
    return { dialect: 'sqlite', file: path.resolve(cwd, p) };
  }
  if (scheme === 'postgresql' || scheme === 'postgres') {
    return { dialect: 'postgres', file: null, pg: `postgresql://${rest}` };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    throw new DatabaseError(`db_url '${maskUrl(url)}': MySQL/MariaDB is not supported by jhub; use SQLite or PostgreSQL`);
  }
  throw new DatabaseError(`db_url '${maskUrl(url)}': unknown database type '${scheme}'; use sqlite:/// or postgresql://`);
}

/**
 * The better-sqlite3 connection as Kysely's SQLite dialect sees it, with prepared statements
 * kept by SQL text (Kysely prepares every query anew otherwise). A statement still being
 * iterated is not handed out again.
 */
function cachingConnection(conn: import('better-sqlite3').Database) {
  const cache = new Map<string, import('better-sqlite3').Statement>();
  return {
    close: () => conn.close(),
    prepare(text: string) {
      let st = cache.get(text);
      if (st && !st.busy) return st;
      st = conn.prepare(text);
      if (text.length <= 4000) {
        if (cache.size >= 300) cache.delete(cache.keys().next().value!);
        cache.set(text, st);
      }
      return st;
    },
  };
}

async function makeKysely(parsed: ParsedDbUrl, opts: OpenOptions): Promise<Kysely<DB>> {
  const tracker = new WriteTracker();
  const k = await makeKysely0(parsed, opts, tracker);
  trackWrites(k, tracker);
  return k;
}

async function makeKysely0(parsed: ParsedDbUrl, opts: OpenOptions, tracker: WriteTracker): Promise<Kysely<DB>> {
  const logger = opts.debugSql
    ? (e: { level: string; query: { sql: string } }) => {
        if (e.level === 'query') log.debug(`SQL: ${e.query.sql}`);
      }
    : undefined;
  if (parsed.dialect === 'sqlite') {
    const { default: SQLite } = await import('better-sqlite3');
    const file = parsed.file!;
    if (file !== ':memory:') {
      const dir = path.dirname(file);
      if (!fs.existsSync(dir)) throw new DatabaseError(`cannot open database ${file}: directory ${dir} does not exist`);
      if (fs.existsSync(file)) {
        try {
          fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
        } catch {
          throw new DatabaseError(`cannot open database ${file}: permission denied (the hub needs to read and write it)`);
        }
      }
    }
    let conn;
    try {
      conn = new SQLite(file, { timeout: Number(opts.kwargs?.timeout ?? 5000) });
      // Only per-connection settings here: nothing may be written before the schema check.
      conn.pragma('foreign_keys = ON');
      conn.pragma('synchronous = NORMAL');
      conn.pragma('cache_size = -1024');
      // Touch the file header so that garbage and lock problems show up now.
      conn.pragma('schema_version');
    } catch (e) {
      const msg = (e as Error).message;
      if (/locked|busy/i.test(msg)) throw new DatabaseError(`database ${file} is locked by another process (is another hub running on it?)`);
      if (/not a database/i.test(msg)) throw new DatabaseError(`${file} is not a SQLite database`);
      throw new DatabaseError(`cannot open database ${file}: ${msg}`);
    }
    return new Kysely<DB>({ dialect: new SqliteDialect({ database: cachingConnection(conn) }), log: logger as never, plugins: [tracker] });
  }
  const pg = await import('pg');
  const Pool = (pg.default ?? pg).Pool;
  const pool = new Pool({ connectionString: parsed.pg, max: 10, connectionTimeoutMillis: 10000, ...(opts.kwargs ?? {}) });
  // Integers as numbers (ids, counts) rather than strings.
  (pg.default ?? pg).types.setTypeParser(20, (v: string) => Number(v));
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    const err = e as NodeJS.ErrnoException;
    throw new DatabaseError(`cannot connect to PostgreSQL at ${maskUrl(parsed.pg!)}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
  }
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: logger as never, plugins: [tracker] });
}

async function tableNames(db: Kysely<DB>): Promise<Set<string>> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return new Set(tables.map((t) => t.name));
}

export interface SchemaStatus {
  empty: boolean;
  applied: string[];
  pending: string[];
  unknown: string[];
  foreign: string | null;
}

export async function schemaStatus(db: Kysely<DB>, dialect: Dialect): Promise<SchemaStatus> {
  const names = await tableNames(db);
  const known = knownMigrations(dialect);
  if (names.has('alembic_version') && !names.has('kysely_migration'))
    return { empty: false, applied: [], pending: known, unknown: [], foreign: 'a JupyterHub (Python) database' };
  if (!names.has('kysely_migration')) {
    const ours = ['users', 'api_tokens', 'spawners'].filter((t) => names.has(t));
    if (names.size > 0 && ours.length)
      return { empty: false, applied: [], pending: known, unknown: [], foreign: 'a database with unversioned tables' };
    return { empty: true, applied: [], pending: known, unknown: [], foreign: null };
  }
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  const applied = rows.rows.map((r) => r.name);
  return {
    empty: applied.length === 0,
    applied,
    pending: known.filter((k) => !applied.includes(k)),
    unknown: applied.filter((a) => !known.includes(a)),
    foreign: null,
  };
}

async function migrate(db: Kysely<DB>, dialect: Dialect): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new DatabaseError(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}; nothing was changed by the failed step`);
  }
  return (results ?? []).map((r) => r.migrationName);
}

export function backupSqlite(file: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const dest = `${file}.${stamp}.bak`;
  fs.copyFileSync(file, dest, fs.constants.COPYFILE_EXCL);
  return dest;
}

/** Open (and create or migrate as allowed) the database named by `url`. */
export async function openDatabase(url: string, opts: OpenOptions = {}): Promise<Database> {
  const parsed = parseDbUrl(url, opts.cwd);
  const displayUrl = maskUrl(url);
  const db = await makeKysely(parsed, opts);
  const file = parsed.file && parsed.file !== ':memory:' ? parsed.file : null;
  const close = async () => {
    await db.destroy();
  };
  try {
    if (opts.reset) {
      log.warn(`Resetting database ${displayUrl} (reset_db = True)`);
      const names = await tableNames(db);
      for (const t of [...names].reverse()) await sql`drop table if exists ${sql.table(t)} cascade`.execute(db).catch(async () => sql`drop table if exists ${sql.table(t)}`.execute(db));
    }
    const st = await schemaStatus(db, parsed.dialect);
    if (st.foreign)
      throw new DatabaseError(`${displayUrl} holds ${st.foreign}, which jhub does not read; point db_url at a new database (jhub creates it)`);
    if (st.unknown.length)
      throw new DatabaseError(
        `database ${displayUrl} has schema version ${st.applied[st.applied.length - 1]}, newer than this jhub knows (${knownMigrations(parsed.dialect).slice(-1)[0]}); upgrade jhub or restore a backup. Nothing was changed.`,
      );
    if (!st.empty && st.pending.length && !opts.upgrade)
      throw new DatabaseError(
        `database ${displayUrl} has schema version ${st.applied[st.applied.length - 1]}, older than this jhub needs (${st.pending[st.pending.length - 1]}); run 'jhub upgrade-db' (SQLite files are backed up first). Nothing was changed.`,
      );
    if (!st.empty && st.pending.length && file) log.info(`Backed up ${file} to ${backupSqlite(file)}`);
    if (parsed.dialect === 'sqlite' && file) await sql`pragma journal_mode = WAL`.execute(db);
    if (st.empty) {
      const done = await migrate(db, parsed.dialect);
      log.info(`Created database schema (${done.slice(-1)[0]}) in ${displayUrl}`);
    } else if (st.pending.length) {
      const done = await migrate(db, parsed.dialect);
      log.info(`Upgraded database ${displayUrl}: ${done.join(', ')}`);
    }
  } catch (e) {
    await close().catch(() => {});
    if (e instanceof DatabaseError) throw e;
    const msg = (e as Error).message;
    if (/locked|busy/i.test(msg)) throw new DatabaseError(`database ${displayUrl} is locked by another process (is another hub running on it?)`);
    throw new DatabaseError(`database ${displayUrl}: ${msg}`);
  }
  return { db, dialect: parsed.dialect, file, displayUrl, close };
}
