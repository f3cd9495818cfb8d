/**
 * Hub-managed service processes: start (optionally as another system user), prefix their
 * output into the hub log, restart them with back-off when they die, stop them with the hub.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { getLogger, type Logger } from '../util/log.js';
import { ConfigError } from '../config/errors.js';

const log = getLogger('JupyterHub', 'services');

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Look a system user up in the password database (getent, so NSS sources count). */
export function lookupUser(name: string): PasswdEntry | null {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  let line = r.status === 0 ? r.stdout.split('\n')[0] : '';
  if (!line) {
    try {
      line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name) ?? '';
    } catch {
      line = '';
    }
  }
  if (!line) return null;
  const f = line.split(':');
  if (f.length < 7) return null;
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

function which(cmd: string, envPath: string | undefined): string | null {
  if (cmd.includes('/')) return fs.existsSync(cmd) ? cmd : null;
  for (const dir of (envPath ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** A service that cannot start: the hub refuses to run (exit status 1), like JupyterHub. */
export class ServiceStartError extends ConfigError {}

export interface ManagedProcessOptions {
  name: string;
  command: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Run as this system user (setpriv with --init-groups, so supplementary groups are set). */
  user?: PasswdEntry | null;
  /** Called after each unexpected exit, before the restart is scheduled. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the hub exits without stopping its services (uncaught error, process.exit).
  process.on('exit', () => {
    for (const p of live) p.killNow('SIGTERM');
  });
}

/** One supervised service process. */
export class ManagedProcess {
  child: ChildProcess | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private startedAt = 0;
  private exitWaiters: (() => void)[] = [];
  readonly log: Logger;
  /** Resolves/rejects the first start: 'spawn' or 'error' of the first child. */
  constructor(readonly opts: ManagedProcessOptions) {
    this.log = log;
  }

  get pid(): number {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? (this.child.pid ?? 0) : 0;
  }
  get running(): boolean {
    return this.pid > 0;
  }

  /** The argv actually executed (with the setpriv wrapper when switching user). */
  private argv(): string[] {
    const { command, user } = this.opts;
    if (!user) return command;
    if (typeof process.getuid === 'function' && process.getuid() === user.uid) return command;
    return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', ...command];
  }

  /**
   * Start the process. Rejects with ServiceStartError when it cannot be started at all
   * (command not found, not executable, bad cwd, user switch impossible).
   */
  async start(): Promise<void> {
    this.stopping = false;
    const { name, command, env, cwd, user } = this.opts;
    if (!command.length) throw new ServiceStartError(`Service ${name} has an empty command`);
    if (user && typeof process.getuid === 'function' && process.getuid() !== 0 && process.getuid() !== user.uid)
      throw new ServiceStartError(`Cannot start service ${name} as user ${user.name}: the hub must run as root to switch users`);
    if (cwd && !fs.existsSync(cwd)) throw new ServiceStartError(`Cannot start service ${name}: working directory ${cwd} does not exist`);
    const exe = which(command[0], env.PATH);
    if (!exe) {
      const hint = command.length === 1 && /\s/.test(command[0]) ? ' (a command given as one string is not split into arguments: give a list)' : '';
      throw new ServiceStartError(`Cannot start service ${name}: command not found: ${command[0]}${hint}`);
    }
    const argv = this.argv();
    this.log.info(`Spawning service ${name}: ${command.map(shellQuote).join(' ')}${user ? ` as user ${user.name}` : ''}`);
    const child = spawn(argv[0], argv.slice(1), { env, cwd: cwd || undefined, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EACCES' ? `permission denied running ${exe}${user ? ` (does user ${user.name} have access to it?)` : ''}` : e.code === 'ENOENT' ? `command not found: ${argv[0]}` : e.message;
        reject(new ServiceStartError(`Cannot start service ${name}: ${why}`));
      });
    });
    this.child = child;
    this.startedAt = Date.now();
    live.add(this);
    installExitHook();
    for (const [stream, level] of [
      [child.stdout!, 'info'],
      [child.stderr!, 'info'],
    ] as const) {
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => this.log[level](`[service ${name}] ${line}`));
    }
    child.once('exit', (code, signal) => this.onChildExit(child, code, signal));
  }

  /** Resolves when the current child has exited. */
  waitExit(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((r) => this.exitWaiters.push(r));
  }

  private onChildExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    live.delete(this);
    for (const w of this.exitWaiters.splice(0)) w();
    if (this.stopping) return;
    const status = code !== null ? `status ${code}` : `signal ${signal}`;
    this.log.error(`Service ${this.opts.name} exited with ${status}`);
    this.opts.onExit?.(code, signal);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    // back-off: 1, 2, 4 ... 30 s; reset once it ran for a minute
    if (this.startedAt && Date.now() - this.startedAt > 60_000) this.failures = 0;
    const delay = Math.min(30, 2 ** this.failures);
    this.failures++;
    this.log.info(`Restarting service ${this.opts.name} in ${delay} s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.start().catch((e) => {
        this.log.error(`${(e as Error).message}; will retry`);
        this.startedAt = 0;
        if (!this.stopping) this.scheduleRestart();
      });
    }, delay * 1000);
    this.restartTimer.unref();
  }

  killNow(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (!pid) return;
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }

  /** SIGTERM, then SIGKILL (to the whole process group) after graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const pid = this.pid;
    if (!pid) return;
    this.log.info(`Stopping service ${this.opts.name} (pid ${pid})`);
    const exited = this.waitExit();
    this.killNow('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
    clearTimeout(timer);
    if (killed) {
      this.log.warn(`Service ${this.opts.name} did not stop after SIGTERM; sending SIGKILL`);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        this.killNow('SIGKILL');
      }
      await exited;
    }
    // leave no stragglers in its process group
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* none */
    }
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
