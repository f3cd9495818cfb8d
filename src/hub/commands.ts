/**
 * What `jhub`, `jhub token USER` and `jhub upgrade-db` do once the command line and the
 * configuration are loaded. Each returns the process exit code.
 */
import os from 'node:os';
import v8 from 'node:v8';
import { ConfigError, type Config } from '../config/config.js';
import { DatabaseError } from '../db/errors.js';
import { getLogger } from '../util/log.js';
import { Hub } from './app.js';
import { createApiToken } from './tokens.js';
import { ProxyError } from '../proxy/client.js';

const log = getLogger('JupyterHub', 'app');

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  tokenUser?: string;
}

function fail(e: unknown): number {
  if (e instanceof ConfigError || e instanceof DatabaseError || e instanceof ProxyError) {
    log.error(e.message);
    return 1;
  }
  log.error(`Unexpected error: ${(e as Error).stack ?? e}`);
  return 1;
}

export async function runHub(config: Config, opts: CommandOptions = {}): Promise<number> {
  // Keep V8's young generation at its initial size (1 MiB semi-spaces) instead of letting it
  // grow to 16 MiB ones: the hub's requests allocate little that lives long, and the larger
  // young generation mostly shows up as resident memory (the runtime equivalent of
  // `--max-semi-space-size=1`, which cannot be changed once V8 runs).
  if (!process.env.JHUB_NO_V8_TUNING) v8.setFlagsFromString('--semi-space-growth-factor=1');
  const hub = new Hub({ config, cwd: opts.cwd, env: opts.env });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn(`Received ${sig} again, exiting now`);
      process.exit(1);
    }
    log.info(`Received signal ${sig}, stopping`);
    void hub.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A broken pipe or reset socket of one child or client must not take every user's hub down;
  // anything else is a bug: log it and stop cleanly (servers and the proxy keep running).
  process.on('uncaughtException', (err: NodeJS.ErrnoException) => {
    if (err && typeof err.code === 'string' && /^(EPIPE|ECONNRESET|ECONNABORTED|ERR_STREAM_DESTROYED|ERR_STREAM_WRITE_AFTER_END)$/.test(err.code)) {
      log.error(`Ignored ${err.code} from a closed connection or child process: ${err.message}`);
      return;
    }
    log.error(`Uncaught exception, stopping the hub: ${err?.stack ?? err}`);
    process.exitCode = 1;
    void hub.stop();
  });
  process.on('unhandledRejection', (reason) => {
    log.error(`Unhandled promise rejection: ${(reason as Error)?.stack ?? reason}`);
  });
  try {
    await hub.init();
    await hub.start();
  } catch (e) {
    const code = fail(e);
    await hub.stop().catch(() => {});
    return code;
  }
  await hub.stopped;
  // Everything is closed; don't let a straggling handle (a child's pipe, a keep-alive socket)
  // keep a stopped hub alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
  return 0;
}

export async function runTokenCommand(config: Config, opts: CommandOptions = {}): Promise<number> {
  const name = opts.tokenUser || os.userInfo().username;
  let database;
  try {
    const { openDatabase } = await import('../db/index.js');
    database = await openDatabase(config.get<string>('JupyterHub', 'db_url'), { cwd: opts.cwd, upgrade: false });
    const user = await database.db.selectFrom('users').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (!user) {
      log.error(`No such user: ${name}`);
      return 1;
    }
    const token = await createApiToken(database.db, { userId: user.id, note: 'command-line generated' });
    process.stdout.write(token + '\n');
    return 0;
  } catch (e) {
    return fail(e);
  } finally {
    await database?.close();
  }
}

export async function runUpgradeDb(config: Config, opts: CommandOptions = {}): Promise<number> {
  try {
    const { openDatabase } = await import('../db/index.js');
    const database = await openDatabase(config.get<string>('JupyterHub', 'db_url'), { cwd: opts.cwd, upgrade: true });
    log.info(`Database ${database.displayUrl} is up to date`);
    await database.close();
    return 0;
  } catch (e) {
    return fail(e);
  }
}
