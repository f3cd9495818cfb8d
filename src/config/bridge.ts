/**
 * The Python bridge: when a `jupyterhub_config.py` contains callables (hooks, lambdas in
 * `environment`, methods of a subclass of one of our classes), the python3 process that ran
 * the file keeps running ("serve" mode of src/config/pyconfig_shim.py) and calls them by id.
 *
 * Channel: two FIFOs created by the Python side in a private temporary directory (removed
 * once both ends are open), frames of a 4-byte big-endian length and UTF-8 JSON. jhub's
 * ends are non-blocking, so that
 *  - a synchronous call (`callSync`, for call sites such as `normalizeUsername`) writes its
 *    request and polls for the answer with `fs.readSync`, sleeping with `Atomics.wait`,
 *    up to a deadline: it never hangs the hub;
 *  - an asynchronous call (`callAsync`) polls from timers while answers are outstanding.
 * Python serves requests from an asyncio loop: plain functions are called directly (with a
 * SIGALRM time limit), `async def` hooks run as tasks (asyncio.wait_for).
 *
 * Objects of ours given to hooks (spawner, authenticator, user, request) cross as JSON
 * snapshots (see `snapshot()`); for spawners the changed attributes listed in
 * SPAWNER_ROUND_TRIP are applied back after the call.
 *
 * The process exits when jhub closes the channel or its stdin (so it dies with the hub). If it
 * dies, it is restarted (it executes the config file again) and the error is logged; after 3
 * restarts within a minute, or a restart that fails, calls fail with a clear error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getLogger } from '../util/log.js';
import { isPlainObject } from './values.js';

const log = getLogger('JupyterHub', 'pybridge');

export interface BridgeSpawnSpec {
  python: string;
  shim: string;
  file: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where output printed by the Python code goes. */
  output: NodeJS.WritableStream;
}

/** Where a Python callable was defined (for messages). */
export interface PyFuncMeta {
  id: string;
  name: string;
  file?: string | null;
  line?: number | null;
}

export interface BridgeFnOptions {
  mode: 'sync' | 'async';
  /** A method of a config-defined subclass: which argument is `self` ('this' = the JS `this`). */
  self?: 'this' | number;
}

/** A JS function that calls a Python callable through the bridge. */
export type BridgeFunction = ((...args: unknown[]) => unknown) & { pyBridge: { bridge: PythonBridge; id: string; mode: 'sync' | 'async' } };

export function isBridgeFunction(f: unknown): f is BridgeFunction {
  return typeof f === 'function' && !!(f as Partial<BridgeFunction>).pyBridge;
}

/** An exception raised by Python code, a time-out, or a dead bridge. */
export class PythonHookError extends Error {
  constructor(
    message: string,
    readonly pyType?: string,
    readonly timeout = false,
  ) {
    super(message);
    this.name = 'PythonHookError';
  }
}

/** Internal: the process died while a call was pending (the call is tried once more). */
class BridgeDied extends Error {}

/** Spawner attributes that hooks may change and that are applied back (trait overrides). */
export const SPAWNER_ROUND_TRIP = [
  'environment',
  'args',
  'cmd',
  'notebook_dir',
  'default_url',
  'mem_limit',
  'cpu_limit',
  'mem_guarantee',
  'cpu_guarantee',
  'env_keep',
  'start_timeout',
  'http_timeout',
  'debug',
  'disable_user_config',
];
const AUTH_TRAITS = ['username_map', 'username_pattern', 'allowed_users', 'admin_users', 'blocked_users', 'allow_all', 'enable_auth_state', 'manage_groups', 'manage_roles', 'reset_managed_roles_on_startup'];

function seconds(env: NodeJS.ProcessEnv, dflt: number): number {
  const v = Number(env.JHUB_PYTHON_HOOK_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}

type Frame = Record<string, unknown>;
interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}
interface CallCtx {
  meta: PyFuncMeta;
  args: unknown[];
  self: unknown;
  /** JS values passed through Python untouched (functions from other sources). */
  jsRefs: unknown[];
  sent: unknown[];
  sentSelf: unknown;
}

let liveBridges: Set<PythonBridge> | null = null;
function track(b: PythonBridge, add: boolean): void {
  if (!liveBridges) {
    liveBridges = new Set();
    // the python process must not outlive the hub
    process.once('exit', () => {
      for (const x of liveBridges!) x.kill();
    });
  }
  if (add) liveBridges.add(b);
  else liveBridges.delete(b);
}

export class PythonBridge {
  /** Time limit of synchronous calls (they block the hub), seconds. */
  readonly syncTimeout: number;
  /** Time limit of asynchronous calls, seconds. */
  readonly asyncTimeout: number;
  private proc: ChildProcess | null = null;
  private dir = '';
  private reqFd = -1;
  private respFd = -1;
  private gotReady = false;
  private state: 'connecting' | 'ready' | 'dead' | 'broken' | 'closed' = 'connecting';
  private brokenReason = '';
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private pending = new Map<number, Pending & { ctx: CallCtx }>();
  private answers = new Map<number, Frame>();
  private pollTimer: NodeJS.Timeout | null = null;
  private pollDelay = 1;
  private restarts: number[] = [];
  private connectWaiters: { resolve(): void; reject(e: Error): void }[] = [];
  private fns = new Map<string, BridgeFunction>();
  /** The ids of the callables the Python side serves (from its ready message). */
  functions: string[] = [];

  private constructor(private readonly spec: BridgeSpawnSpec) {
    this.syncTimeout = seconds(spec.env, 10);
    this.asyncTimeout = seconds(spec.env, 30);
    track(this, true);
  }

  /** Take over the process that ran the config (its result said `serve`). */
  static adopt(spec: BridgeSpawnSpec, proc: ChildProcess, dir: string): PythonBridge {
    const b = new PythonBridge(spec);
    b.attach(proc, dir);
    return b;
  }

  /** A fresh temporary directory for the FIFOs of one Python process. */
  static makeDir(): string {
    return fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'jhub-pybridge-'));
  }

  /** Process id of the current Python process (tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }
  get running(): boolean {
    return this.state === 'ready' || this.state === 'connecting';
  }

  private attach(proc: ChildProcess, dir: string): void {
    this.proc = proc;
    this.dir = dir;
    this.gotReady = false;
    this.buf = Buffer.alloc(0);
    this.state = 'connecting';
    proc.unref();
    for (const s of [proc.stdin, proc.stdout, proc.stderr, proc.stdio[3]] as (NodeJS.ReadableStream & { unref?: () => void })[]) s?.unref?.();
    proc.stdout?.on('data', (d: Buffer) => this.spec.output.write(d));
    proc.stderr?.on('data', (d: Buffer) => this.spec.output.write(d));
    proc.stdin?.on('error', () => {});
    proc.once('exit', (code, signal) => {
      if (this.proc !== proc) return;
      this.died(`the Python process exited (${signal ?? 'status ' + code})`);
      if (this.state === 'dead') this.restart();
    });
  }

  // ---------------------------------------------------------------------------------------
  // connection

  /** One non-blocking step of connecting to a (new) Python process; true when connected. */
  private connectStep(): boolean {
    if (this.state === 'ready') return true;
    if (this.state !== 'connecting') throw this.unavailable();
    const C = fs.constants;
    if (this.respFd < 0) {
      try {
        this.respFd = fs.openSync(path.join(this.dir, 'resp'), C.O_RDONLY | C.O_NONBLOCK);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.checkAlive();
        throw e;
      }
    }
    if (!this.gotReady) {
      this.readAvailable(true);
      if (!this.gotReady) return this.checkAlive();
    }
    if (this.reqFd < 0) {
      try {
        this.reqFd = fs.openSync(path.join(this.dir, 'req'), C.O_WRONLY | C.O_NONBLOCK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENXIO' || code === 'ENOENT') return this.checkAlive();
        throw e;
      }
    }
    this.removeDir();
    this.state = 'ready';
    for (const w of this.connectWaiters.splice(0)) w.resolve();
    return true;
  }

  /** While connecting: false if the process still runs; marks the bridge dead otherwise. */
  private checkAlive(): false {
    const pid = this.proc?.pid;
    let alive = !!pid && this.proc!.exitCode === null && this.proc!.signalCode === null;
    if (alive) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        alive = !/^\d+ \(.*\) [ZX]/s.test(stat);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') alive = false;
      }
    }
    if (!alive) {
      this.died('the Python process ended while starting');
      throw this.unavailable();
    }
    return false;
  }

  private connectSync(deadline: number): void {
    let spins = 0;
    while (!this.connectStep()) {
      if (Date.now() > deadline) {
        this.kill();
        this.died('it did not start in time');
        throw this.unavailable();
      }
      if (++spins > 50) sleepSync(2);
    }
  }

  /** Wait until connected (after start-up or a restart). */
  connect(timeoutMs = 30_000): Promise<void> {
    try {
      if (this.connectStep()) return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      let delay = 1;
      const tick = () => {
        try {
          if (this.connectStep()) return resolve();
        } catch (e) {
          return reject(e);
        }
        if (Date.now() > deadline) {
          this.kill();
          this.died('it did not start in time');
          return reject(this.unavailable());
        }
        delay = Math.min(delay * 2, 20);
        setTimeout(tick, delay);
      };
      setTimeout(tick, delay);
    });
  }

  private unavailable(): PythonHookError {
    if (this.state === 'closed') return new PythonHookError(`${this.shown()}: the Python bridge is stopped`);
    return new PythonHookError(`${this.shown()}: the Python bridge is not available: ${this.brokenReason || 'it is not running'}`);
  }

  private shown(file = this.spec.file): string {
    const r = path.relative(this.spec.cwd, file);
    return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : file;
  }

  private removeDir(): void {
    if (!this.dir) return;
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }

  private closeFds(): void {
    for (const fd of [this.reqFd, this.respFd]) if (fd >= 0) fs.closeSync(fd);
    this.reqFd = this.respFd = -1;
  }

  /** The current process is gone (or must go): fail what waits for it. */
  private died(reason: string): void {
    if (this.state === 'closed' || this.state === 'broken' || this.state === 'dead') return;
    const wasReady = this.state === 'ready';
    this.kill();
    this.closeFds();
    this.removeDir();
    this.proc = null;
    this.brokenReason = reason;
    // a process that never became ready (start-up or restart failed): give up
    this.state = wasReady ? 'dead' : 'broken';
    if (this.state === 'broken') log.error(`Python bridge for ${this.shown()}: ${reason}; not restarting it again`);
    const err = new BridgeDied(reason);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
    if (this.state === 'broken') for (const w of this.connectWaiters.splice(0)) w.reject(this.unavailable());
  }

  /** Start a new Python process after the old one died (it executes the config file again). */
  private restart(): void {
    if (this.state !== 'dead') return;
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    if (this.restarts.length >= 3) {
      this.state = 'broken';
      this.brokenReason += '; restarted 3 times within a minute, giving up';
      log.error(`Python bridge for ${this.shown()}: ${this.brokenReason}`);
      return;
    }
    this.restarts.push(now);
    log.error(`Python bridge for ${this.shown()}: ${this.brokenReason}; restarting it`);
    const dir = PythonBridge.makeDir();
    let proc: ChildProcess;
    try {
      proc = spawn(this.spec.python, ['-B', '-u', this.spec.shim, this.spec.file], {
        cwd: this.spec.cwd,
        env: { ...this.spec.env, JHUB_PYBRIDGE_DIR: dir, JHUB_PYBRIDGE_RESTART: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      this.state = 'broken';
      this.brokenReason = `cannot restart it: ${(e as Error).message}`;
      log.error(`Python bridge for ${this.shown()}: ${this.brokenReason}`);
      return;
    }
    proc.on('error', () => {});
    this.attach(proc, dir);
    this.connect().then(
      () => log.info(`Python bridge for ${this.shown()} restarted (pid ${proc.pid})`),
      () => {},
    );
  }

  private ensureSync(deadline: number): void {
    if (this.state === 'dead') this.restart();
    if (this.state === 'connecting') this.connectSync(deadline);
    if (this.state !== 'ready') throw this.unavailable();
  }

  private async ensureAsync(): Promise<void> {
    if (this.state === 'dead') this.restart();
    if (this.state === 'connecting') await this.connect();
    if (this.state !== 'ready') throw this.unavailable();
  }

  /** Kill the process right away (time-out, hub exit). */
  kill(): void {
    const pid = this.proc?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        this.proc?.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** Stop the bridge (hub stop): closing the channel makes the Python process exit. */
  close(): void {
    if (this.state === 'closed') return;
    const proc = this.proc;
    this.closeFds();
    this.removeDir();
    this.state = 'closed';
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.unavailable());
    }
    this.pending.clear();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    track(this, false);
    if (proc) {
      proc.stdin?.end();
      if (proc.exitCode === null && proc.signalCode === null) {
        const t = setTimeout(() => {
          try {
            if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 2000);
        t.unref();
        proc.once('exit', () => clearTimeout(t));
      }
    }
    this.proc = null;
  }

  // ---------------------------------------------------------------------------------------
  // frames

  /** Read what is available; returns false at end of file (the writer is gone). */
  private readAvailable(connecting = false): boolean {
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.respFd, chunk, 0, chunk.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
      if (n === 0) {
        if (connecting && !this.gotReady) break; // the Python side has not opened it yet
        this.parseFrames();
        return false;
      }
      this.buf = Buffer.concat([this.buf, chunk.subarray(0, n)]);
    }
    this.parseFrames();
    return true;
  }

  private parseFrames(): void {
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + n) break;
      const frame = JSON.parse(this.buf.subarray(4, 4 + n).toString('utf8')) as Frame;
      this.buf = this.buf.subarray(4 + n);
      if (frame.ready) {
        this.gotReady = true;
        this.functions = (frame.functions as string[]) ?? [];
        continue;
      }
      const id = frame.id as number;
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        try {
          p.resolve(this.result(frame, p.ctx));
        } catch (e) {
          p.reject(e as Error);
        }
      } else this.answers.set(id, frame);
    }
  }

  private writeFrame(obj: unknown, deadline: number): void {
    const body = Buffer.from(JSON.stringify(obj), 'utf8');
    const data = Buffer.alloc(4 + body.length);
    data.writeUInt32BE(body.length, 0);
    body.copy(data, 4);
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.reqFd, data, off, data.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        if (Date.now() > deadline) throw new PythonHookError(`${this.shown()}: the Python bridge does not read its requests`, undefined, true);
        this.readAvailable();
        sleepSync(1);
      }
    }
  }

  private schedulePoll(): void {
    if (this.pollTimer || this.pending.size === 0) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      if (this.state !== 'ready') return;
      const before = this.pending.size;
      let open = true;
      try {
        open = this.readAvailable();
      } catch (e) {
        this.died(`reading its answer failed: ${(e as Error).message}`);
        return;
      }
      if (!open) {
        this.died('the Python process closed the channel');
        this.restart();
        return;
      }
      this.pollDelay = this.pending.size < before ? 1 : Math.min(this.pollDelay * 2, 10);
      this.schedulePoll();
    }, this.pollDelay);
  }

  // ---------------------------------------------------------------------------------------
  // calls

  /** A JS function calling the Python callable `meta.id` (cached per id and mode). */
  fn(meta: PyFuncMeta, opts: BridgeFnOptions): BridgeFunction {
    const key = `${opts.mode}:${opts.self ?? ''}:${meta.id}`;
    const have = this.fns.get(key);
    if (have) return have;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const bridge = this;
    const f = function (this: unknown, ...args: unknown[]): unknown {
      let self: unknown;
      let callArgs = args;
      if (opts.self === 'this') self = this;
      else if (typeof opts.self === 'number') {
        self = args[opts.self];
        callArgs = args.filter((_, i) => i !== opts.self);
      }
      return opts.mode === 'sync' ? bridge.callSync(meta, callArgs, self, opts.self !== undefined) : bridge.callAsync(meta, callArgs, self, opts.self !== undefined);
    } as BridgeFunction;
    Object.defineProperty(f, 'name', { value: meta.name });
    f.pyBridge = { bridge, id: meta.id, mode: opts.mode };
    this.fns.set(key, f);
    return f;
  }

  private request(ctx: CallCtx, id: number, isMethod: boolean, timeout: number): Frame {
    const toWire = (v: unknown, arg?: number) => encodeArg(v, ctx.jsRefs, 0, new Set(), arg);
    ctx.sent = ctx.args.map((a, i) => toWire(a, i));
    ctx.sentSelf = isMethod ? toWire(ctx.self ?? {}) : undefined;
    const req: Frame = { id, fn: ctx.meta.id, args: ctx.sent, timeout };
    if (isMethod) req.self = ctx.sentSelf;
    return req;
  }

  /** Call and wait, blocking the hub (at most syncTimeout seconds). */
  callSync(meta: PyFuncMeta, args: unknown[], self?: unknown, isMethod = false): unknown {
    const timeout = this.syncTimeout;
    const deadline = Date.now() + timeout * 1000 + 1000;
    const ctx: CallCtx = { meta, args, self, jsRefs: [], sent: [], sentSelf: undefined };
    // a process that died before answering is restarted and the call tried once more
    for (let attempt = 0; ; attempt++) {
      const id = this.nextId++;
      const req = this.request(ctx, id, isMethod, timeout);
      this.ensureSync(deadline);
      let open = true;
      try {
        this.writeFrame(req, deadline);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
        open = false;
      }
      let spins = 0;
      while (open) {
        open = this.readAvailable();
        const frame = this.answers.get(id);
        if (frame) {
          this.answers.delete(id);
          return this.result(frame, ctx);
        }
        if (!open) break;
        if (Date.now() > deadline) {
          this.kill();
          this.died(`${meta.name} did not return within ${timeout} s`);
          this.restart();
          throw new PythonHookError(`${this.where(meta)}: ${meta.name} timed out: it did not return within ${timeout} s (the Python bridge was restarted)`, 'TimeoutError', true);
        }
        if (++spins > 200) sleepSync(1);
      }
      this.died(`it ended during a call to ${meta.name}`);
      if (attempt > 0) {
        this.restart();
        throw new PythonHookError(`${this.where(meta)}: ${meta.name} did not return: the Python process died during the call, twice`);
      }
    }
  }

  /** Call without blocking the hub (at most asyncTimeout seconds). */
  async callAsync(meta: PyFuncMeta, args: unknown[], self?: unknown, isMethod = false): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.callAsyncOnce(meta, args, self, isMethod);
      } catch (e) {
        if (!(e instanceof BridgeDied) || attempt > 0) {
          if (e instanceof BridgeDied) throw new PythonHookError(`${this.where(meta)}: ${meta.name} did not return: the Python process died during the call, twice`);
          throw e;
        }
      }
    }
  }

  private async callAsyncOnce(meta: PyFuncMeta, args: unknown[], self: unknown, isMethod: boolean): Promise<unknown> {
    const timeout = this.asyncTimeout;
    const ctx: CallCtx = { meta, args, self, jsRefs: [], sent: [], sentSelf: undefined };
    const id = this.nextId++;
    const req = this.request(ctx, id, isMethod, timeout);
    await this.ensureAsync();
    try {
      this.writeFrame(req, Date.now() + timeout * 1000);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
      this.died('the Python process is gone');
      throw new BridgeDied('gone');
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.kill();
        this.died(`${meta.name} did not return within ${timeout} s`);
        this.restart();
        reject(new PythonHookError(`${this.where(meta)}: ${meta.name} timed out: it did not return within ${timeout} s (the Python bridge was restarted)`, 'TimeoutError', true));
      }, timeout * 1000 + 2000);
      this.pending.set(id, { resolve, reject, timer, ctx });
      this.pollDelay = 1;
      this.schedulePoll();
    });
  }

  private where(meta: { file?: string | null; line?: number | null }): string {
    const f = meta.file ? this.shown(meta.file) : this.shown();
    return meta.file && meta.line ? `${f}:${meta.line}` : f;
  }

  /** Turn an answer into the return value (or throw), applying changes to snapshot objects. */
  private result(frame: Frame, ctx: CallCtx): unknown {
    if (!frame.ok) {
      const e = frame.error as { type: string; message: string; file?: string | null; line?: number | null; function?: string; timeout?: boolean };
      const where = this.where(e.file ? e : ctx.meta);
      const fn = e.function || ctx.meta.name;
      if (e.timeout) throw new PythonHookError(`${where}: ${fn} timed out: it ${e.message}`, e.type, true);
      throw new PythonHookError(`${where}: ${fn} raised ${e.type}${e.message ? ': ' + e.message : ''}`, e.type);
    }
    const objs = (frame.objs as (Record<string, unknown> | null)[] | undefined) ?? [];
    objs.forEach((after, i) => {
      if (after) applyBack(ctx.args[i], (ctx.sent[i] as { attrs?: Record<string, unknown> })?.attrs ?? {}, after, this, ctx.jsRefs);
    });
    if (frame.self && ctx.self) applyBack(ctx.self, (ctx.sentSelf as { attrs?: Record<string, unknown> })?.attrs ?? {}, frame.self as Record<string, unknown>, this, ctx.jsRefs);
    return fromWire(frame.value, this, ctx);
  }
}

// -----------------------------------------------------------------------------------------
// JS values <-> the wire format (the shim's tagged JSON)

function isSpawner(o: Record<string, unknown>): boolean {
  return typeof o.trait === 'function' && !!o.user && typeof o.configClass === 'string';
}
function isAuthenticator(o: Record<string, unknown>): boolean {
  return typeof o.cfg === 'function' && typeof o.normalizeUsername === 'function';
}
function isRequest(o: Record<string, unknown>): boolean {
  return typeof o.method === 'string' && typeof o.url === 'string' && 'headers' in o && 'raw' in o;
}
function isUserRow(o: Record<string, unknown>): boolean {
  return typeof o.name === 'string' && typeof o.id === 'number' && 'admin' in o;
}

const SKIP_KEYS = new Set(['hub', 'reply', 'encrypted_auth_state', 'cookie_id']);

function tryGet(f: () => unknown): unknown {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** The attributes of one of our objects given to Python. */
export function snapshot(o: unknown): { kind: string; attrs: Record<string, unknown> } | null {
  if (!o || typeof o !== 'object') return null;
  const r = o as Record<string, unknown>;
  if (isSpawner(r)) {
    const trait = (n: string) => tryGet(() => (r.trait as (n: string) => unknown).call(o, n));
    const user = r.user as Record<string, unknown>;
    const attrs: Record<string, unknown> = {
      name: r.name,
      user: { $snap: 'user', name: user.name, admin: !!user.admin, id: user.id },
      user_options: r.userOptions ?? {},
      server_name: r.name,
      ip: r.ip,
      port: r.port,
    };
    for (const t of SPAWNER_ROUND_TRIP) attrs[t] = trait(t);
    return { kind: 'spawner', attrs };
  }
  if (isAuthenticator(r)) {
    const attrs: Record<string, unknown> = { class_name: r.cls };
    for (const t of AUTH_TRAITS) {
      const v = tryGet(() => (r.cfg as (n: string) => unknown).call(o, t));
      if (v !== undefined) attrs[t] = v;
    }
    return { kind: 'authenticator', attrs };
  }
  if (isRequest(r)) {
    const headers: Record<string, unknown> = {};
    for (const [k, v] of Object.entries((r.headers as Record<string, unknown>) ?? {})) if (k !== 'cookie' && k !== 'authorization') headers[k] = v;
    const url = String(r.url);
    return { kind: 'request', attrs: { method: r.method, uri: url, path: url.split('?')[0], query: url.includes('?') ? url.slice(url.indexOf('?') + 1) : '', host: headers.host ?? '', remote_ip: r.ip, headers } };
  }
  if (isUserRow(r)) {
    const attrs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (!SKIP_KEYS.has(k)) attrs[k] = k === 'admin' ? !!v : v;
    return { kind: 'user', attrs };
  }
  if (isPlainObject(r) && 'hub' in r && 'request' in r) {
    // a handler (AuthContext) or the default_url argument
    const attrs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (!SKIP_KEYS.has(k)) attrs[k] = v;
    return { kind: 'handler', attrs };
  }
  return null;
}

function encodeArg(v: unknown, jsRefs: unknown[], depth: number, seen: Set<unknown>, arg?: number): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $t: 'float', v: Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf' };
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'function') {
    if (isBridgeFunction(v)) return { $t: 'pyref', id: v.pyBridge.id };
    jsRefs.push(v);
    return { $t: 'jsref', n: jsRefs.length - 1 };
  }
  if (depth > 12 || seen.has(v)) return null;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { $t: 'bytes', hex: Buffer.from(v).toString('hex') };
  if (v instanceof Date) return v.toISOString();
  seen.add(v);
  try {
    const next = (x: unknown) => encodeArg(x, jsRefs, depth + 1, seen);
    if (Array.isArray(v)) return v.map(next);
    if (v instanceof Set) return { $t: 'set', items: [...v].map(next) };
    if (v instanceof Map) return { $t: 'dict', items: [...v].map(([k, x]) => [next(k), next(x)]) };
    const o = v as Record<string, unknown>;
    if (o.$snap === 'user') {
      const { $snap: _s, ...attrs } = o;
      return { $t: 'obj', kind: 'user', attrs: Object.fromEntries(Object.entries(attrs).map(([k, x]) => [k, next(x)])) };
    }
    const snap = depth <= 3 ? snapshot(v) : null;
    if (snap) return { $t: 'obj', kind: snap.kind, ...(arg !== undefined ? { arg } : {}), attrs: Object.fromEntries(Object.entries(snap.attrs).map(([k, x]) => [k, next(x)])) };
    if (isPlainObject(v)) {
      if ('$t' in o) return { $t: 'dict', items: Object.entries(o).map(([k, x]) => [k, next(x)]) };
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) if (x !== undefined) out[k] = next(x);
      return out;
    }
    // another class instance: its own data properties, one level
    if (depth > 2) return null;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) if (!SKIP_KEYS.has(k) && !k.startsWith('_') && typeof x !== 'function') out[k] = next(x);
    return { $t: 'obj', kind: (v as object).constructor?.name ?? 'object', attrs: out };
  } finally {
    seen.delete(v);
  }
}

/** A value coming back from Python, as plain JS (Buffer for bytes, arrays for tuples/sets). */
function fromWire(v: unknown, bridge: PythonBridge, ctx: CallCtx): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => fromWire(x, bridge, ctx));
  const o = v as Record<string, unknown>;
  switch (o.$t) {
    case undefined:
      break;
    case 'float':
      return o.v === 'nan' ? NaN : o.v === 'inf' ? Infinity : o.v === '-inf' ? -Infinity : (o.v as number);
    case 'bytes':
      return Buffer.from(o.hex as string, 'hex');
    case 'tuple':
    case 'set':
      return (o.items as unknown[]).map((x) => fromWire(x, bridge, ctx));
    case 'dict':
      return Object.fromEntries((o.items as [unknown, unknown][]).map(([k, x]) => [String(fromWire(k, bridge, ctx)), fromWire(x, bridge, ctx)]));
    case 'classref':
      return o.path;
    case 'jsref':
      return ctx.jsRefs[o.n as number];
    case 'pyfunc':
      return bridge.fn({ id: o.id as string, name: o.name as string, file: o.file as string, line: o.line as number }, { mode: 'async' });
    case 'obj':
      if (typeof o.arg === 'number' && ctx.args[o.arg] && typeof ctx.args[o.arg] === 'object') return ctx.args[o.arg];
      return fromWire(o.attrs, bridge, ctx);
    case 'opaque':
    case 'pyclass':
      throw new PythonHookError(`${ctx.meta.name} returned ${String(o.repr ?? o.name)}, a Python ${String(o.type ?? o.kind ?? 'object')} that cannot cross to jhub (use plain values)`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = fromWire(x, bridge, ctx);
  return out;
}

/** Apply the attributes a hook changed on a snapshot back to our object (spawners only). */
function applyBack(target: unknown, before: Record<string, unknown>, after: Record<string, unknown>, bridge: PythonBridge, jsRefs: unknown[]): void {
  if (!target || typeof target !== 'object') return;
  const t = target as Record<string, unknown>;
  if (!isSpawner(t)) return;
  const ctx: CallCtx = { meta: { id: '', name: 'hook' }, args: [], self: undefined, jsRefs, sent: [], sentSelf: undefined };
  for (const k of [...SPAWNER_ROUND_TRIP, 'user_options']) {
    if (!(k in after) || JSON.stringify(after[k]) === JSON.stringify(before[k])) continue;
    const v = fromWire(after[k], bridge, ctx);
    if (k === 'user_options') t.userOptions = v;
    else if (t.overrides && typeof t.overrides === 'object') (t.overrides as Record<string, unknown>)[k] = v;
  }
}
