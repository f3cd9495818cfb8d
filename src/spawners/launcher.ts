/**
 * Starting server processes without blocking the hub's event loop.
 *
 * Node's `child_process.spawn()` is synchronous until the new process has exec'd: it forks the
 * calling process and waits for the child to reach exec, and that child first has to tear down
 * its copy of the parent's memory. For a hub of 100+ MB that is several milliseconds per server
 * (far more on a busy machine), and 100 spawns at once stall the event loop for long.
 *
 * So servers are started by small helper processes (launcher-child.ts, forked once each): a fork
 * of those is cheap, and their waiting never blocks the hub. Their exit status comes back over
 * IPC; signals go from the hub to the pid as before. If no helper is (yet) available, or the
 * spawn options cannot be sent to one (functions, streams in `stdio`), the process is started on
 * the hub's main thread as before. The helpers are started by the first spawn, so a hub that
 * never starts a server has none.
 *
 * Requests wait in the hub, and each helper gets at most two at a time: a server's reserved
 * port (see reservePort) is released when its request is sent, so the time in which anything
 * else could take that port stays as short as one spawn, however many are waiting.
 */
import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getLogger } from '../util/log.js';
import type { PortReservation } from './base.js';
import { existsSync } from 'node:fs';

const log = getLogger('JupyterHub', 'spawner');

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started process. */
export interface LaunchedProcess {
  readonly pid: number;
  /** How it exited, once it has (and was reaped); null while running. */
  exit: ExitInfo | null;
  /** False when its exit can no longer be reported (the launcher died): look at the pid instead. */
  tracked: boolean;
  /** Resolves when it has exited or stopped being tracked. */
  readonly settled: Promise<void>;
}

class Proc implements LaunchedProcess {
  exit: ExitInfo | null = null;
  tracked = true;
  readonly settled: Promise<void>;
  private settle!: () => void;
  constructor(readonly pid: number) {
    this.settled = new Promise((r) => (this.settle = r));
  }
  setExit(e: ExitInfo): void {
    if (this.exit) return;
    this.exit = e;
    this.settle();
  }
  untrack(): void {
    this.tracked = false;
    this.settle();
  }
}

/** One spawn to do. */
interface Job {
  file: string;
  args: string[];
  options: SpawnOptions;
  port?: PortReservation;
  resolve: (p: LaunchedProcess) => void;
  reject: (e: Error) => void;
}

type Reply =
  | { ready: true }
  | { id: number; pid: number }
  | { id: number; error: { code?: string; message: string } }
  | { id: number; exit: ExitInfo };

// Next to this module: launcher-child.js in dist/src/spawners, launcher-child.cjs in the bundle
// directory (scripts/bundle.mjs makes it an entry point of its own).
const CHILD = ['./launcher-child.cjs', './launcher-child.js'].map((f) => fileURLToPath(new URL(f, import.meta.url))).find((f) => existsSync(f)) ?? fileURLToPath(new URL('./launcher-child.js', import.meta.url));
/** Requests a helper may have at once (one spawning, one waiting). */
const DEPTH = 2;

class Launcher {
  private child: ChildProcess | null = null;
  private ready = false;
  private failures = 0;
  private seq = 0;
  private pending = new Map<number, Job>();
  private running = new Map<number, Proc>();

  constructor(private readonly pool: Pool) {}

  /** Start the helper if it is not running (it takes a few tens of milliseconds to be ready). */
  start(): void {
    if (this.child || this.failures >= 3) return;
    let c: ChildProcess;
    try {
      // Small-heap V8 settings, as jhub-proxy: it holds next to nothing.
      c = fork(CHILD, [], {
        execArgv: ['--max-semi-space-size=1', '--max-old-space-size=64', '--single-threaded'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, NODE_OPTIONS: '' },
      });
    } catch (e) {
      this.failed(`cannot start the process launcher: ${(e as Error).message}`);
      return;
    }
    this.child = c;
    // A helper that does not come up is given up on (and the hub starts servers itself meanwhile).
    const t = setTimeout(() => {
      if (this.child === c && !this.ready) c.kill('SIGKILL');
    }, 15000);
    t.unref();
    c.on('message', (m: Reply) => this.onMessage(m));
    c.on('error', (e) => log.warn(`Process launcher: ${e.message}`));
    c.once('exit', (code, signal) => this.onExit(c, code, signal));
    // Neither the helper nor its channel keeps the hub running.
    c.unref();
    (c.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private failed(msg: string): void {
    this.failures++;
    log.warn(`${msg}; servers are started by the hub itself${this.failures < 3 ? ' until it is back' : ''}`);
  }

  /** Running and ready for requests. */
  get up(): boolean {
    return !!this.child && this.ready && this.child.connected;
  }

  /** Running, ready, and with room for another request. */
  get free(): boolean {
    return this.up && this.pending.size < DEPTH;
  }
  get load(): number {
    return this.pending.size;
  }

  /** Send one spawn request (only when free); the server's port is released just before. */
  send(job: Job): void {
    const id = ++this.seq;
    this.pending.set(id, job);
    job.port?.release();
    this.child!.send({ id, file: job.file, args: job.args, options: job.options }, (err) => {
      if (!err || !this.pending.has(id)) return;
      this.pending.delete(id);
      job.reject(err);
      this.pool.next();
    });
  }

  private onMessage(m: Reply): void {
    if ('ready' in m) {
      this.ready = true;
      this.pool.next();
      return;
    }
    if ('exit' in m) {
      const p = this.running.get(m.id);
      this.running.delete(m.id);
      p?.setExit(m.exit);
      return;
    }
    const job = this.pending.get(m.id);
    this.pending.delete(m.id);
    if (job) {
      if ('pid' in m) {
        const p = new Proc(m.pid);
        this.running.set(m.id, p);
        job.resolve(p);
      } else {
        job.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      }
    }
    this.pool.next();
  }

  private onExit(c: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== c) return;
    this.child = null;
    this.ready = false;
    // What it started keeps running; from now on those processes are followed by pid.
    for (const p of this.running.values()) p.untrack();
    this.running.clear();
    // Requests it had not answered: the process may or may not have been started.
    for (const job of this.pending.values()) job.reject(new Error(`the process launcher exited (${signal ?? code}) while starting the server`));
    this.pending.clear();
    if (!process.exitCode) this.failed(`the process launcher exited (${signal ?? `code ${code}`})`);
    this.pool.next();
  }
}

class Pool {
  /**
   * Two helpers: most of a spawn's time is the wait for the child to reach exec (longer when
   * the machine is busy), and two can wait at once; more gained nothing measurable on 2 cores.
   */
  private readonly launchers = [new Launcher(this), new Launcher(this)];
  private readonly queue: Job[] = [];

  launch(job: Job): void {
    if (!serializable(job.options)) return spawnHere(job);
    for (const l of this.launchers) l.start();
    this.queue.push(job);
    this.next();
  }

  /** Hand waiting requests to free helpers; without any helper, start them here. */
  next(): void {
    while (this.queue.length) {
      let best: Launcher | null = null;
      for (const l of this.launchers) if (l.free && (!best || l.load < best.load)) best = l;
      if (best) {
        best.send(this.queue.shift()!);
        continue;
      }
      // Wait for a busy helper; while none is up yet (they are starting, or failed), start it here.
      if (this.launchers.some((l) => l.up)) return;
      spawnHere(this.queue.shift()!);
    }
  }
}

/** Whether the options survive the JSON of the IPC channel unchanged. */
function serializable(o: SpawnOptions): boolean {
  const ok = (v: unknown): boolean => {
    if (v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)) return true;
    if (Array.isArray(v)) return v.every((x) => x !== undefined && ok(x));
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(ok);
    return false;
  };
  return ok(o);
}

/** Start it on the main thread (blocks the event loop while the child starts). */
function spawnHere(job: Job): void {
  job.port?.release();
  let child: ChildProcess;
  try {
    child = spawn(job.file, job.args, job.options);
  } catch (e) {
    job.reject(e as Error);
    return;
  }
  let proc: Proc | null = null;
  child.once('spawn', () => {
    proc = new Proc(child.pid!);
    job.resolve(proc);
  });
  child.once('error', (e) => {
    if (!proc) job.reject(e);
  });
  child.once('exit', (code, signal) => proc?.setExit({ code, signal }));
  child.unref();
}

const pool = new Pool();

/**
 * Start a process (by a launcher when one is available); resolves once it runs, rejects as
 * spawn's 'error' would. `port`, if given, is released right before the process is started.
 * The launchers are started by the first call (until they are up, processes start here).
 */
export function launchProcess(file: string, args: string[], options: SpawnOptions, port?: PortReservation): Promise<LaunchedProcess> {
  return new Promise((resolve, reject) => pool.launch({ file, args, options, port, resolve, reject }));
}
