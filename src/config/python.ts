/**
 * Running a JupyterHub Python config file with python3 and the shim
 * (src/config/pyconfig_shim.py), which reports the configured values as JSON.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  return new Promise<PyResult>((resolve, reject) => {
    let child;
    try {
      child = spawn(python, ['-B', shim, file], {
        cwd: opts.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      reject(noPython(file, python, e as Error));
      return;
    }
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
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
    child.stdout!.on('data', (d: Buffer) => output.write(d));
    child.stderr!.on('data', (d: Buffer) => output.write(d));
    const result = child.stdio[3] as NodeJS.ReadableStream;
    result.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => done(() => reject(noPython(file, python, e))));
    child.on('close', (code, signal) => {
      done(() => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (!text) {
          reject(new ConfigError(`${file}: the Python config run ended without a result (exit ${code ?? signal})`));
          return;
        }
        let data: { ok: boolean; error?: { file: string | null; line: number | null; message: string }; files?: string[]; config?: PyResult['config']; warnings?: string[] };
        try {
          data = JSON.parse(text);
        } catch {
          reject(new ConfigError(`${file}: could not read the result of the Python config run`));
          return;
        }
        if (!data.ok) {
          const e = data.error!;
          const shown = e.file ? rel(e.file, opts.cwd) : rel(file, opts.cwd);
          const where = `${shown}${e.file && e.line ? ':' + e.line : ''}`;
          reject(new ConfigError(`${where}: error in config file: ${e.message}`));
          return;
        }
        resolve({ files: data.files ?? [file], config: data.config ?? {}, warnings: data.warnings ?? [] });
      });
    });
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
