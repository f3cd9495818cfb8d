/**
 * Local process spawners (config.md §4.2):
 *
 * - `LocalProcessSpawner` (default): the server runs as the system account of the same name
 *   (uid, gid, supplementary groups through `setpriv --init-groups`, which does initgroups(3)
 *   before exec), HOME/USER/SHELL from the password database, cwd = home, in its own process
 *   group. The hub must run as root to start servers for other users.
 * - `SimpleLocalProcessSpawner` ('simple'): no user switching; HOME = home_dir_template.
 * - `SudoSpawner` ('sudospawner.SudoSpawner'): the hub runs unprivileged and starts/signals
 *   servers through `sudo -u <user> jhub-sudo-helper` (JSON over stdin/stdout).
 *
 * State `{"pid": N}` lets a restarted hub find (poll/stop) servers it did not start itself.
 * Never blocks the event loop: every external command is asynchronous, and the servers of the
 * first two are started by the launcher processes of launcher.ts (their exit status comes back
 * from there).
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spawner, SpawnError, reservePort, sleep, type PortReservation } from './base.js';
import { launchProcess, type LaunchedProcess } from './launcher.js';
import { getLogger } from '../util/log.js';

const log = getLogger('JupyterHub', 'spawner');

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Run a command asynchronously, collecting output. */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    const t = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : null;
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.once('error', (e) => {
      if (t) clearTimeout(t);
      reject(e);
    });
    p.once('close', (code) => {
      if (t) clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    if (p.stdin) {
      // The command may exit without reading its input: never let EPIPE escape.
      p.stdin.on('error', () => {});
      p.stdin.end(opts.input);
    }
  });
}

/** The system account of `name` (as getent passwd), or null. */
export async function getpwnam(name: string): Promise<PasswdEntry | null> {
  if (!name || name.startsWith('-') || name.includes(':') || name.includes('\n')) return null;
  const local = await passwdFromFiles(name);
  if (local) return local;
  const r = await run('getent', ['passwd', name]).catch(() => null);
  if (!r || r.code !== 0) return null;
  return parsePasswdLine(r.stdout.trim().split('\n')[0]);
}

function parsePasswdLine(line: string): PasswdEntry | null {
  const f = line.split(':');
  if (f.length < 7) return null;
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

let passwdCache: { key: string; byName: Map<string, PasswdEntry> | null } | null = null;

/**
 * Look-up in /etc/passwd without starting a process, when the name service reads that file
 * first (nsswitch.conf `passwd: files ...`): then getent would answer the same. Anything else
 * (other sources first, NIS `+`/`-` lines, a name not in the file) returns null, and the
 * caller asks getent.
 */
async function passwdFromFiles(name: string): Promise<PasswdEntry | null> {
  try {
    const [ns, pw] = await Promise.all([fs.promises.stat('/etc/nsswitch.conf'), fs.promises.stat('/etc/passwd')]);
    const key = `${ns.mtimeMs}:${ns.size}:${pw.mtimeMs}:${pw.size}:${pw.ino}`;
    if (passwdCache?.key !== key) {
      const [conf, text] = await Promise.all([fs.promises.readFile('/etc/nsswitch.conf', 'utf8'), fs.promises.readFile('/etc/passwd', 'utf8')]);
      const m = /^\s*passwd\s*:\s*(\S+)/m.exec(conf);
      let byName: Map<string, PasswdEntry> | null = null;
      if (m && m[1] === 'files') {
        byName = new Map();
        for (const line of text.split('\n')) {
          if (line.startsWith('+') || line.startsWith('-')) {
            byName = null;
            break;
          }
          const e = parsePasswdLine(line);
          if (e && !byName.has(e.name)) byName.set(e.name, e);
        }
      }
      passwdCache = { key, byName };
    }
    return passwdCache.byName?.get(name) ?? null;
  } catch {
    return null;
  }
}

/** Is `pid` a zombie (exited, not yet reaped by its parent, e.g. an init that does not reap)? Linux /proc only. */
export function pidZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) STATE ...": comm may contain spaces and parentheses, so look after the last ')'.
    const i = stat.lastIndexOf(')');
    return stat.slice(i + 2, i + 3) === 'Z';
  } catch {
    return false;
  }
}

/** Does process `pid` exist (as any user: EPERM counts) and has not exited (zombies do not count)? */
export function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !pidZombie(pid);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}

/** Is `cmd` runnable with this PATH? (absolute/relative paths are checked directly) */
async function findExecutable(cmd: string, envPath: string | undefined, cwd: string): Promise<boolean> {
  const candidates = cmd.includes('/') ? [path.resolve(cwd, cmd)] : (envPath ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean).map((d) => path.join(d, cmd));
  for (const c of candidates) {
    try {
      const st = await fs.promises.stat(c);
      if (st.isFile() && st.mode & 0o111) return true;
    } catch {
      /* next */
    }
  }
  return false;
}

const SIGNUMS = os.constants.signals as Record<string, number>;

export class LocalProcessSpawner extends Spawner {
  pid = 0;
  /** The process this hub started (exit status known), if it did. */
  protected proc: LaunchedProcess | null = null;

  get interruptTimeout(): number {
    return Number(this.trait<number>('interrupt_timeout') ?? 10);
  }
  get termTimeout(): number {
    return Number(this.trait<number>('term_timeout') ?? 5);
  }
  get killTimeout(): number {
    return Number(this.trait<number>('kill_timeout') ?? 5);
  }

  override getState(): Record<string, unknown> {
    return this.pid ? { pid: this.pid } : {};
  }
  override loadState(state: Record<string, unknown>): void {
    if (typeof state.pid === 'number') this.pid = state.pid;
  }
  override clearState(): void {
    super.clearState();
    this.pid = 0;
    this.proc = null;
  }

  /** The account the server runs as and the environment it adds (USER, HOME, SHELL). */
  protected async account(): Promise<{ env: Record<string, string>; cwd: string; wrap: string[] }> {
    const pw = await getpwnam(this.user.name);
    if (!pw) throw new SpawnError(`No such system user: ${this.user.name}. LocalProcessSpawner runs each server as the system account of the same name (create it, or use another spawner).`);
    const env = { USER: pw.name, HOME: pw.home, SHELL: pw.shell };
    const myUid = process.getuid?.() ?? -1;
    let wrap: string[] = [];
    if (myUid !== pw.uid) {
      if (myUid !== 0) throw new SpawnError(`Cannot start a server as ${pw.name}: the hub runs as uid ${myUid}, not root. Run the hub as root or use SudoSpawner.`);
      wrap = ['setpriv', `--reuid=${pw.uid}`, `--regid=${pw.gid}`, '--init-groups', '--'];
    }
    let cwd = pw.home;
    if (!(await fs.promises.stat(cwd).then((s) => s.isDirectory()).catch(() => false))) cwd = '/';
    return { env, cwd, wrap };
  }

  /** cmd + args, wrapped by shell_cmd when set. */
  protected fullCommand(): string[] {
    const argv = [...this.cmd, ...this.args];
    const shell = this.trait<string[]>('shell_cmd') ?? [];
    return shell.length ? [...shell, argv.map(shellQuote).join(' ')] : argv;
  }

  override async start(): Promise<string> {
    const ip = this.trait<string>('ip') ?? '127.0.0.1';
    this.ip = ip;
    // A random port stays bound until right before the process starts (see reservePort).
    const reserved = Number(this.trait<number>('port')) ? null : await reservePort(ip || '0.0.0.0', this.trait<[number, number]>('port_range'));
    try {
      this.port = reserved ? reserved.port : Number(this.trait<number>('port'));
      const acct = await this.account();
      const env = { ...(await this.getEnv()), ...acct.env };
      const argv = this.fullCommand();
      if (!(await findExecutable(argv[0], env.PATH, acct.cwd))) {
        throw new SpawnError(`Spawner failed to start: command '${argv[0]}' not found (PATH=${env.PATH ?? ''}).`);
      }
      await this.launch([...acct.wrap, ...argv], env, acct.cwd, reserved ?? undefined);
    } finally {
      reserved?.release();
    }
    const host = !ip || ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '[::1]' : ip.includes(':') ? `[${ip}]` : ip;
    return `http://${host}:${this.port}`;
  }

  /**
   * Start the process detached (own process group), recording its pid. `port` is the server's
   * reserved port: release it right before the process starts (an override that does not, holds
   * it until it returns).
   */
  protected async launch(argv: string[], env: Record<string, string>, cwd: string, port?: PortReservation): Promise<void> {
    const kw = (this.trait<Record<string, unknown>>('popen_kwargs') ?? {}) as SpawnOptions;
    log.info(`Spawning ${argv.join(' ')} for ${this.logName}`);
    let proc: LaunchedProcess;
    try {
      proc = await launchProcess(argv[0], argv.slice(1), { env, cwd, detached: true, stdio: ['ignore', 'inherit', 'inherit'], ...kw }, port);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new SpawnError(err.code === 'EACCES' ? `Permission denied trying to run ${argv[0]}` : `Spawner failed to start: ${err.message}`);
    }
    this.proc = proc;
    this.pid = proc.pid;
  }

  override async poll(): Promise<number | null> {
    const proc = this.proc;
    if (proc && proc.pid === this.pid && proc.tracked) {
      if (proc.exit) {
        const { code, signal } = proc.exit;
        this.clearState();
        return code ?? (signal ? -(SIGNUMS[signal] ?? 1) : 0);
      }
      return null;
    }
    if (!this.pid) return 0;
    if (pidAlive(this.pid)) return null;
    this.clearState();
    return 0;
  }

  /** Send a signal; returns false when the process is gone. */
  protected async signal(sig: NodeJS.Signals, group = false): Promise<boolean> {
    try {
      process.kill(group ? -this.pid : this.pid, sig);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw e;
    }
  }

  /** Wait until the process is gone: its exit when this hub started it, else polling the pid. */
  private async waitGone(seconds: number): Promise<boolean> {
    const deadline = Date.now() + seconds * 1000;
    const proc = this.proc;
    if (proc && proc.pid === this.pid && proc.tracked) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([proc.settled, new Promise((r) => (timer = setTimeout(r, seconds * 1000)))]);
      clearTimeout(timer);
      if (proc.tracked) return (await this.poll()) !== null;
      // No longer tracked (the launcher exited): poll the pid for the rest of the time.
    }
    for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
      if ((await this.poll()) !== null) return true;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    }
  }

  override async stop(now = false): Promise<void> {
    if (!this.pid || (await this.poll()) !== null) return;
    const pid = this.pid;
    if (!now) {
      if (!(await this.signal('SIGINT'))) return this.clearState();
      if (await this.waitGone(this.interruptTimeout)) return;
      if (!(await this.signal('SIGTERM'))) return this.clearState();
      if (await this.waitGone(this.termTimeout)) return;
    }
    await this.signal('SIGKILL', true).catch(() => this.signal('SIGKILL'));
    if (!(await this.waitGone(this.killTimeout))) log.warn(`Process ${pid} of ${this.logName} did not die`);
  }
}

export class SimpleLocalProcessSpawner extends LocalProcessSpawner {
  protected override async account(): Promise<{ env: Record<string, string>; cwd: string; wrap: string[] }> {
    const home = this.formatString(this.trait<string>('home_dir_template') || '/tmp/{username}');
    await fs.promises.mkdir(home, { recursive: true });
    return { env: { USER: this.user.name, HOME: home, SHELL: '/bin/bash' }, cwd: home, wrap: [] };
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** bin/jhub-sudo-helper of this install (dist/src/spawners → bin). */
export const SUDO_HELPER_BIN = path.resolve(here, '../../../bin/jhub-sudo-helper');

/**
 * The hub runs as an unprivileged account; servers are started and signalled through
 * `sudo -u <user> jhub-sudo-helper`, which reads one JSON request on stdin and answers one
 * JSON line on stdout (see src/cli/jhub-sudo-helper.ts and docs/spawners.md).
 */
export class SudoSpawner extends LocalProcessSpawner {
  private helperCommand(): string[] {
    let p = this.trait<string>('sudospawner_path') || 'sudospawner';
    if (p === 'sudospawner' || p === 'jhub-sudo-helper') p = SUDO_HELPER_BIN;
    const sudoArgs = this.trait<string[]>('sudo_args') ?? ['-nH'];
    return ['sudo', ...sudoArgs, '-u', this.user.name, p];
  }

  /**
   * Run the helper once through sudo: one JSON request on stdin, one JSON line on stdout.
   * Its stderr is collected for error messages until it exits; after that, what arrives there
   * comes from the server it started (which inherits that stderr) and is relayed to the hub's
   * stderr, as LocalProcessSpawner servers write to it directly. Completion is the helper's
   * exit plus the end of its stdout, never the end of stderr (the server keeps that open).
   */
  async helper(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const [cmd, ...args] = this.helperCommand();
    const debug = this.trait<boolean>('debug_mediator');
    const timeoutMs = Math.max(this.startTimeout, 10) * 1000;
    const r = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
      let stdout = '';
      let stderr = '';
      let exited: { code: number | null; signal: string | null } | null = null;
      let outEnded = false;
      let done = false;
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      const finish = () => {
        if (done || !exited || !outEnded) return;
        done = true;
        clearTimeout(timer);
        (p.stderr as unknown as { unref?: () => void }).unref?.();
        resolve({ ...exited, stdout, stderr });
      };
      p.stdout!.on('data', (d) => (stdout += d));
      p.stdout!.once('end', () => {
        outEnded = true;
        finish();
      });
      p.stderr!.on('data', (d: Buffer) => {
        if (!done) stderr += d;
        else process.stderr.write(d);
      });
      p.stderr!.on('error', () => {});
      p.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        done = true;
        reject(new SpawnError(e.code === 'ENOENT' ? `SudoSpawner: '${cmd}' not found (is sudo installed?)` : `SudoSpawner: cannot run ${cmd}: ${e.message}`));
      });
      p.once('exit', (code, signal) => {
        exited = { code, signal };
        finish();
      });
      p.stdin!.on('error', () => {});
      p.stdin!.end(JSON.stringify({ ...req, debug }));
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let out: Record<string, unknown>;
    try {
      out = JSON.parse(line);
    } catch {
      const how = r.signal ? `killed by ${r.signal}${r.signal === 'SIGKILL' ? ` after ${timeoutMs / 1000} s` : ''}` : `exit ${r.code}`;
      throw new SpawnError(`jhub-sudo-helper failed for ${this.user.name} (${how}; ran ${[cmd, ...args].join(' ')}): ${r.stderr.trim().slice(-500) || 'no output'}`);
    }
    if (out.error) throw new SpawnError(`jhub-sudo-helper: ${out.error}`);
    if (r.stderr.trim()) (debug ? log.info : log.debug)(`jhub-sudo-helper for ${this.user.name}: ${r.stderr.trim().slice(-2000)}`);
    return out;
  }

  protected override async account(): Promise<{ env: Record<string, string>; cwd: string; wrap: string[] }> {
    // The helper runs as the user and sets USER/HOME/SHELL and the working directory itself.
    return { env: {}, cwd: process.cwd(), wrap: [] };
  }

  protected override async launch(argv: string[], env: Record<string, string>, _cwd: string, port?: PortReservation): Promise<void> {
    log.info(`Spawning ${argv.join(' ')} for ${this.logName} through sudo`);
    port?.release();
    const out = await this.helper({ action: 'spawn', cmd: argv, env });
    this.pid = Number(out.pid);
    this.proc = null;
  }

  protected override async signal(sig: NodeJS.Signals, group = false): Promise<boolean> {
    const out = await this.helper({ action: 'kill', pid: this.pid, signal: sig, group });
    return out.alive === true;
  }
}
