import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { CliArgs } from '../../src/config/loader.js';

/** The repository root (tests run from dist/test/config/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SEEDS = path.join(ROOT, 'test/fixtures/seeds');
export const BIN = path.join(ROOT, 'bin/jhub');

export function tmpdir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'jhub-config-test-'));
}

/** Write files into a fresh directory; returns the directory. */
export function withFiles(files: Record<string, string>): string {
  const dir = tmpdir();
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

export async function load(
  opts: { configFile?: string; cwd: string; cliArgs?: CliArgs; env?: NodeJS.ProcessEnv },
): Promise<{ config: Config; warnings: string[] }> {
  const warnings: string[] = [];
  const config = await loadConfig({
    configFile: opts.configFile,
    cliArgs: opts.cliArgs ?? {},
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    log: { warn: (m) => warnings.push(m) },
  });
  return { config, warnings };
}

export function jhub(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? tmpdir(),
    env: opts.env ?? process.env,
    encoding: 'utf8',
    input: opts.input ?? '',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
