/**
 * Running a JupyterHub Python config file with python3 and the shim
 * (src/config/pyconfig_shim.py), which reports the configured values as JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PythonBridge } from './bridge.js';
import { ConfigError } from './errors.js';
import { pythonStandIns } from './schema.js';
import { JUPYTERHUB_COMPAT_VERSION } from '../version.js';

export interface RawLazy {
  extend: unknown[];
  prepend: unknown[];
  inserts: [number, unknown][];
  update: { kind: 'dict' | 'set'; value: unknown } | null;
}

export interface PyEntry {
  value?: unknown;
  lazy?: RawLazy;
  file: string | null;
  line: number | null;
}

export interface PyResult {
  /** Every file executed (the config file and its load_subconfig files). */
  files: string[];
  config: Record<string, Record<string, PyEntry>>;
  warnings: string[];
  /** Set when the file defines callables: the Python process that serves them. */
  bridge?: PythonBridge;
}

/** Location of the shim in the source tree (dist/ mirrors the tree as dist/src/config/). */
export function shimPath(): string {
  const candidates = [
    new URL('../../../src/config/pyconfig_shim.py', import.meta.url),
    new URL('./pyconfig_shim.py', import.meta.url),
  ];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new ConfigError(`jhub installation problem: pyconfig_shim.py not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`);
}

export interface RunPythonOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Milliseconds before the Python run is killed (default 30 s). */
  timeoutMs?: number;
  /** Where output printed by the config file goes (default: stderr). */
  output?: NodeJS.WritableStream;
}

export async function runPythonConfig(file: string, opts: RunPythonOptions): Promise<PyResult> {
  const python = opts.env.JHUB_PYTHON || 'python3';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const shim = shimPath();
  const env: NodeJS.ProcessEnv = {
    ...opts.env,
    JHUB_PYCONFIG_STANDINS: JSON.stringify(pythonStandIns()),
    JHUB_PYCONFIG_VERSION: JUPYTERHUB_COMPAT_VERSION,
  };
  const output = opts.output ?? process.stderr;
  // Where the Python side creates the FIFOs of the bridge if the file defines callables.
  const dir = PythonBridge.makeDir();
  const cleanDir = () => rmSync(dir, { recursive: true, force: true });
  return new Promise<PyResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(python, ['-B', '-u', shim, file], {
        cwd: opts.cwd,
        env: { ...env, JHUB_PYBRIDGE_DIR: dir },
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      cleanDir();
      reject(noPython(file, python, e as Error));
      return;
    }
    const chunks: Buffer[] = [];
    let settled = false;
    let serving = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!serving) cleanDir();
      f();
    };
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      done(() => reject(new ConfigError(`${file}: running the Python config file took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`)));
    }, timeoutMs);
    const onOut = (d: Buffer) => {
      if (!serving) output.write(d);
    };
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onOut);
    child.stdin!.on('error', () => {});
    const result = child.stdio[3] as NodeJS.ReadableStream;
    result.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => done(() => reject(noPython(file, python, e))));
    const finish = (code: number | null, signal: NodeJS.Signals | null, ended: boolean) => {
      if (settled) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text) {
        if (ended) return; // wait for the exit status
        done(() => reject(new ConfigError(`${file}: the Python config run ended without a result (exit ${code ?? signal})`)));
        return;
      }
      let data: { ok: boolean; serve?: boolean; error?: { file: string | null; line: number | null; message: string }; files?: string[]; config?: PyResult['config']; warnings?: string[] };
      try {
        data = JSON.parse(text);
      } catch {
        done(() => reject(new ConfigError(`${file}: could not read the result of the Python config run`)));
        return;
      }
      if (!data.ok) {
        const e = data.error!;
        const shown = e.file ? rel(e.file, opts.cwd) : rel(file, opts.cwd);
        const where = `${shown}${e.file && e.line ? ':' + e.line : ''}`;
        done(() => reject(new ConfigError(`${where}: error in config file: ${e.message}`)));
        return;
      }
      const res: PyResult = { files: data.files ?? [file], config: data.config ?? {}, warnings: data.warnings ?? [] };
      if (!data.serve) {
        if (ended) return; // resolve at exit, after the output of the file
        done(() => resolve(res));
        return;
      }
      // callables: this process stays as the bridge
      serving = true;
      child.stdout!.off('data', onOut);
      child.stderr!.off('data', onOut);
      const bridge = PythonBridge.adopt({ python, shim, file, cwd: opts.cwd, env, output }, child, dir);
      clearTimeout(timer);
      bridge.connect(Math.max(5000, timeoutMs)).then(
        () => done(() => resolve({ ...res, bridge })),
        (e: Error) => {
          bridge.close();
          done(() => reject(new ConfigError(`${file}: ${e.message}`)));
        },
      );
    };
    result.on('end', () => finish(null, null, true));
    child.on('close', (code, signal) => finish(code, signal, false));
  });
}

function rel(file: string, cwd: string): string {
  const r = path.relative(cwd, file);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : file;
}

function noPython(file: string, python: string, e: Error & { code?: string }): ConfigError {
  if (e.code === 'ENOENT')
    return new ConfigError(
      `cannot load ${file}: '${python}' was not found on PATH. jhub runs Python config files with python3; ` +
        'install Python 3 (or set JHUB_PYTHON), or use a jupyterhub_config.json, .yaml or .ts file instead (see docs/config.md)',
    );
  return new ConfigError(`cannot load ${file}: failed to run ${python}: ${e.message}`);
}
