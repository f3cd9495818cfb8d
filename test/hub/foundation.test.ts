/**
 * The hub process as an operator runs it: secrets, database, logging, signals, and the
 * clear errors of bad set-ups (real processes, real files, a real PostgreSQL).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHub, freePort, JHUB_BIN, VENV_BIN, type RunningHub } from '../helpers/hub.js';
import { startPostgres } from '../helpers/postgres.js';

const LOG_LINE = /^\[[DIWEC] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Za-z]+( [\w.-]+)?\] /;

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-found-'));
}

/** Run `jhub` to completion (for commands that exit), with a hard limit. */
function runJhub(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }) {
  const r = spawnSync(process.execPath, [JHUB_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}`, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60000,
  });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function baseConfig(dir: string, extra: Record<string, Record<string, unknown>> = {}) {
  const ports = { public: await freePort(), api: await freePort(), hub: await freePort() };
  const cfg: Record<string, Record<string, unknown>> = {
    JupyterHub: { ip: '127.0.0.1', port: ports.public, hub_port: ports.hub, authenticator_class: 'dummy', ...(extra.JupyterHub ?? {}) },
    ConfigurableHTTPProxy: { api_url: `http://127.0.0.1:${ports.api}`, ...(extra.ConfigurableHTTPProxy ?? {}) },
  };
  for (const [k, v] of Object.entries(extra)) if (!(k in cfg)) cfg[k] = v;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return ports;
}

describe('hub start-up and shutdown', () => {
  const hubs: RunningHub[] = [];
  after(async () => {
    for (const h of hubs) await h.cleanup();
  });

  it('creates its secret and database, logs like a server, and stops cleanly on SIGTERM', async () => {
    const dir = tmp();
    const hub = await startHub({ dir, config: { JupyterHub: { cookie_secret_file: 'jupyterhub_cookie_secret', db_url: 'sqlite:///jupyterhub.sqlite', pid_file: 'hub.pid' } } });
    hubs.push(hub);
    const secretFile = path.join(dir, 'jupyterhub_cookie_secret');
    const st = fs.statSync(secretFile);
    assert.equal(st.mode & 0o777, 0o600, 'cookie secret must be 0600');
    assert.match(fs.readFileSync(secretFile, 'utf8'), /^[0-9a-f]{64}\n$/);
    assert.ok(fs.existsSync(path.join(dir, 'jupyterhub.sqlite')));
    assert.equal(fs.readFileSync(path.join(dir, 'hub.pid'), 'utf8').trim(), String(hub.pid));
    const proxyPid = Number(fs.readFileSync(path.join(dir, 'jupyterhub-proxy.pid'), 'utf8'));
    assert.ok(pidAlive(proxyPid), 'the proxy child runs');
    const r = await fetch(`${hub.url}/hub/logo`);
    assert.equal(r.status, 200);
    assert.ok(r.headers.get('x-jupyterhub-version'), 'version header on every response');
    const lines = hub.output().split('\n').filter(Boolean);
    const hubLines = lines.filter((l) => l.startsWith('['));
    assert.ok(hubLines.length > 3);
    for (const l of hubLines) assert.match(l, LOG_LINE);
    assert.ok(!hub.output().includes(fs.readFileSync(secretFile, 'utf8').trim()), 'the secret is never logged');
    assert.ok(!hub.output().includes(hub.adminToken), 'tokens are never logged');
    assert.equal(await hub.stop('SIGTERM'), 0);
    assert.ok(!fs.existsSync(path.join(dir, 'hub.pid')), 'pid file removed');
    for (let i = 0; i < 50 && pidAlive(proxyPid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!pidAlive(proxyPid), 'the proxy stopped with the hub (cleanup_proxy)');
    // Restart on the same files: same secret, same database.
    const again = await startHub({ dir, ports: hub.ports, config: { JupyterHub: { cookie_secret_file: 'jupyterhub_cookie_secret', db_url: 'sqlite:///jupyterhub.sqlite' } } });
    hubs.push(again);
    assert.equal(await again.stop('SIGINT'), 0);
  });

  it('refuses a cookie secret file others can read, and writes nothing', async () => {
    const dir = tmp();
    await baseConfig(dir);
    fs.writeFileSync(path.join(dir, 'jupyterhub_cookie_secret'), crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'jupyterhub_cookie_secret'), 0o644);
    const r = runJhub(['-f', 'config.json'], { cwd: dir });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /chmod 600/);
    assert.doesNotMatch(r.out, /\n\s+at /, 'no stack trace');
    assert.ok(!fs.existsSync(path.join(dir, 'jupyterhub.sqlite')), 'no database created');
  });

  it('refuses garbage in the secret file with a clear message', async () => {
    const dir = tmp();
    await baseConfig(dir);
    fs.writeFileSync(path.join(dir, 'jupyterhub_cookie_secret'), '!!! not a secret !!!\n', { mode: 0o600 });
    const r = runJhub(['-f', 'config.json'], { cwd: dir });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /jupyterhub_cookie_secret does not hold a valid secret/);
    assert.doesNotMatch(r.out, /\n\s+at /);
  });

  it('takes the secret from JPY_COOKIE_SECRET or the config file instead of writing one', async () => {
    const dir = tmp();
    const hub = await startHub({ dir, env: { JPY_COOKIE_SECRET: crypto.randomBytes(32).toString('hex') }, config: { JupyterHub: { cookie_secret_file: 'jupyterhub_cookie_secret' } } });
    hubs.push(hub);
    await hub.stop();
    assert.ok(!fs.existsSync(path.join(dir, 'jupyterhub_cookie_secret')));
    const dir2 = tmp();
    const hub2 = await startHub({
      dir: dir2,
      configPy: `c = get_config()\nc.JupyterHub.cookie_secret = bytes.fromhex('${crypto.randomBytes(32).toString('hex')}')\n`,
      config: { JupyterHub: { cookie_secret_file: 'jupyterhub_cookie_secret' } },
    });
    hubs.push(hub2);
    await hub2.stop();
    assert.ok(!fs.existsSync(path.join(dir2, 'jupyterhub_cookie_secret')));
  });

  it('a bad db_url, a port in use and an unreachable PostgreSQL are one-line errors with exit 1', async () => {
    const dir = tmp();
    await baseConfig(dir, { JupyterHub: { db_url: 'mysql://root:pw@localhost/hub' } });
    let r = runJhub(['-f', 'config.json'], { cwd: dir });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /MySQL\/MariaDB is not supported/);

    const dir2 = tmp();
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((res) => blocker.once('listening', res));
    const busy = (blocker.address() as net.AddressInfo).port;
    await baseConfig(dir2, { JupyterHub: { hub_port: busy, hub_ip: '127.0.0.1' } });
    r = runJhub(['-f', 'config.json'], { cwd: dir2 });
    blocker.close();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /already in use/);
    assert.doesNotMatch(r.out, /\n\s+at /);

    const dir3 = tmp();
    await baseConfig(dir3, { JupyterHub: { db_url: 'postgresql://hub:sekrit@127.0.0.1:1/hub' } });
    r = runJhub(['-f', 'config.json'], { cwd: dir3 });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /cannot connect to PostgreSQL/);
    assert.ok(!r.out.includes('sekrit'), 'password not printed');
  });

  it('runs on PostgreSQL', async () => {
    const pg = await startPostgres();
    try {
      const url = pg.createDatabase('jhub_hub');
      const hub = await startHub({ config: { JupyterHub: { db_url: url } } });
      hubs.push(hub);
      const r = await fetch(`${hub.url}/hub/logo`);
      assert.equal(r.status, 200);
      assert.equal(await hub.stop(), 0);
    } finally {
      pg.stop();
    }
  });

  it('upgrade-db backs up an old SQLite database; token USER prints a working token', async () => {
    const dir = tmp();
    const db = path.join(dir, 'jupyterhub.sqlite');
    await baseConfig(dir, { JupyterHub: { db_url: `sqlite:///${db}` } });
    // An older schema: only the first migration applied.
    const { Kysely, Migrator, SqliteDialect } = await import('kysely');
    const { StaticProvider, knownMigrations } = await import('../../src/db/migrations.js');
    const k = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(db) }) });
    await new Migrator({ db: k, provider: new StaticProvider('sqlite') }).migrateTo(knownMigrations('sqlite')[0]);
    await k.destroy();
    let r = runJhub(['-f', 'config.json'], { cwd: dir });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /jhub upgrade-db/);
    r = runJhub(['upgrade-db', '-f', 'config.json'], { cwd: dir });
    assert.equal(r.code, 0, r.out);
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.bak')).length, 1);

    r = runJhub(['token', 'nosuchuser', '-f', 'config.json'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.out, /No such user: nosuchuser/);
    const conn = new Database(db);
    conn.prepare(`insert into users (name, admin, created, cookie_id) values ('tokenuser', 0, ?, 'cid')`).run(new Date().toISOString());
    conn.close();
    r = spawnSync(process.execPath, [JHUB_BIN, 'token', 'tokenuser', '-f', 'config.json'], { cwd: dir, encoding: 'utf8' }) as never;
    const res = r as unknown as { status: number; stdout: string };
    assert.equal(res.status, 0);
    const token = res.stdout.trim();
    assert.match(token, /^[0-9a-f]{32}$/);
    const stored = new Database(db).prepare('select hashed, note from api_tokens').all() as { hashed: string; note: string }[];
    assert.equal(stored.length, 1);
    assert.equal(stored[0].note, 'command-line generated');
    assert.ok(!stored[0].hashed.includes(token));
  });

  it('SIGKILLed hub leaves the proxy running; the next start replaces it from the pid file', async () => {
    const dir = tmp();
    const hub = await startHub({ dir });
    hubs.push(hub);
    const proxyPid = Number(fs.readFileSync(path.join(dir, 'jupyterhub-proxy.pid'), 'utf8'));
    await hub.stop('SIGKILL');
    assert.ok(pidAlive(proxyPid), 'proxy survives the hub');
    const again = await startHub({ dir, ports: hub.ports });
    hubs.push(again);
    const newPid = Number(fs.readFileSync(path.join(dir, 'jupyterhub-proxy.pid'), 'utf8'));
    assert.notEqual(newPid, proxyPid);
    assert.ok(!pidAlive(proxyPid), 'old proxy was stopped');
    await again.stop();
  });

  it('restarts a crashed proxy and restores the hub route', async () => {
    const hub = await startHub({ config: { ConfigurableHTTPProxy: { check_running_interval: 1 } } });
    hubs.push(hub);
    const pidFile = path.join(hub.dir, 'jupyterhub-proxy.pid');
    const proxyPid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(proxyPid, 'SIGKILL');
    const deadline = Date.now() + 30000;
    let ok = false;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${hub.url}/hub/logo`);
        if (r.status === 200 && Number(fs.readFileSync(pidFile, 'utf8')) !== proxyPid) {
          ok = true;
          break;
        }
      } catch {
        /* proxy down */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(ok, `proxy restarted and routes the hub again:\n${hub.output()}`);
    assert.match(hub.output(), /Proxy stopped/);
    await hub.stop();
  });
});

// Keep spawn imported for future use by this file's helpers.
void spawn;
