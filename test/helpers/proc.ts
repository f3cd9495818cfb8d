// Spawn a process, collect its output, wait for a line or for HTTP readiness, kill it by PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout + stderr so far */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** resolves with the exit code (or signal name) */
  readonly exited: Promise<number | string>;
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** send a signal to the PID (no-op when already exited) */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code/signal */
  stop(graceMs?: number): Promise<number | string>;
}

export function spawnProc(cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  let so = '';
  let se = '';
  let done = false;
  child.stdout?.on('data', (d: Buffer) => {
    out += d;
    so += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d;
    se += d;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', () => {
      done = true;
      resolve('spawn-error');
    });
    child.once('exit', (code, sig) => {
      done = true;
      resolve(code ?? sig ?? 'unknown');
    });
  });
  const pid = child.pid ?? -1;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (done || pid <= 0) return;
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  };
  return {
    child,
    pid,
    output: () => out,
    stdout: () => so,
    stderr: () => se,
    exited,
    kill,
    async waitForLine(re, timeoutMs = 20_000) {
      const t0 = Date.now();
      for (;;) {
        const m = out.split('\n').find((l) => re.test(l));
        if (m !== undefined) return m;
        if (done) throw new Error(`process exited before printing ${re}; output:\n${out}`);
        if (Date.now() - t0 > timeoutMs) throw new Error(`timeout waiting for ${re}; output:\n${out}`);
        await sleep(25);
      }
    },
    async stop(graceMs = 5000) {
      if (done) return exited;
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until `url` answers any HTTP response (or `accept(status)`), within timeoutMs. */
export async function waitForHttp(
  url: string,
  opts: { timeoutMs?: number; accept?: (status: number) => boolean; ca?: string | Buffer; proc?: Proc; headers?: Record<string, string> } = {},
): Promise<number> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let lastErr = '';
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(url, { agent: false, ca: opts.ca, headers: opts.headers, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        lastErr = e.message;
        resolve(-1);
      });
    });
    if (status > 0 && (!opts.accept || opts.accept(status))) return status;
    if (opts.proc) {
      const r = await Promise.race([opts.proc.exited, sleep(0).then(() => undefined)]);
      if (r !== undefined) throw new Error(`process exited (${r}) before ${url} was ready; output:\n${opts.proc.output()}`);
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timeout waiting for ${url} (${lastErr || status})`);
    await sleep(50);
  }
}
