/**
 * `jhub` — the JupyterHub-compatible command line. Handles help, version,
 * --generate-config and --show-config itself; running the hub, `token` and `upgrade-db`
 * are done by src/hub/commands.ts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Config, ConfigError, loadConfig } from '../config/config.js';
import { renderGeneratedConfig, renderHelpAll, renderShortHelp, renderShowConfig } from '../config/render.js';
import { formatTime, getLogger, setLogFormat, setLogLevel } from '../util/log.js';
import { JUPYTERHUB_COMPAT_VERSION } from '../version.js';
import { parseArgs, type ParsedCli } from './args.js';

const log = getLogger('JupyterHub', 'app');

function errorLine(msg: string): string {
  return `[E ${formatTime(Date.now())} JupyterHub app] ${msg.replace(/\s*\n\s*/g, ' ')}\n`;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const a = await rl.question(question);
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}

async function generateConfig(cli: ParsedCli, cwd: string): Promise<number> {
  const target = path.resolve(cwd, cli.configFile ?? 'jupyterhub_config.py');
  if (existsSync(target) && !cli.answerYes) {
    if (!process.stdin.isTTY) {
      process.stderr.write(`ERROR: ${target} already exists; not overwriting it without confirmation (add -y to overwrite)\n`);
      return 1;
    }
    if (!(await confirm(`Overwrite ${target} with default config? [y/N] `))) {
      process.stdout.write('Not overwriting config file\n');
      return 1;
    }
  }
  process.stdout.write(`Writing default config to: ${cli.configFile ?? 'jupyterhub_config.py'}\n`);
  try {
    writeFileSync(target, renderGeneratedConfig(JUPYTERHUB_COMPAT_VERSION));
  } catch (e) {
    process.stderr.write(`ERROR: cannot write ${target}: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return v;
}

/** Entry point of bin/jhub. Returns (and sets process.exitCode to) the exit status. */
export async function main(argv: string[]): Promise<number> {
  const code = await run(argv);
  process.exitCode = code;
  return code;
}

async function run(argv: string[]): Promise<number> {
  const cwd = process.cwd();
  const env = process.env;
  try {
    const cli = parseArgs(argv, { env });
    switch (cli.command) {
      case 'help':
        process.stdout.write(renderShortHelp(JUPYTERHUB_COMPAT_VERSION));
        return 0;
      case 'help-all':
        process.stdout.write(renderHelpAll(JUPYTERHUB_COMPAT_VERSION));
        return 0;
      case 'version':
        process.stdout.write(JUPYTERHUB_COMPAT_VERSION + '\n');
        return 0;
      case 'generate-config':
        return await generateConfig(cli, cwd);
    }
    const level = cli.cliConfig.Application?.log_level?.value ?? cli.cliConfig.JupyterHub?.log_level?.value;
    if (typeof level === 'string') trySetLevel(level);
    for (const w of cli.warnings) log.warn(w);
    const config: Config = await loadConfig({
      configFile: cli.configFile,
      cliArgs: cli.cliConfig,
      cwd,
      env,
      log: { warn: (m) => log.warn(m) },
    });
    trySetLevel(config.get<string>('JupyterHub', 'log_level'));
    if (config.get<boolean>('JupyterHub', 'log_json')) setLogFormat('json');
    if (cli.command === 'show-config-json' || config.get('Application', 'show_config_json') || config.get('JupyterHub', 'show_config_json')) {
      process.stdout.write(JSON.stringify(config.toJSON(), jsonReplacer, 2) + '\n');
      return 0;
    }
    if (cli.command === 'show-config' || config.get('Application', 'show_config') || config.get('JupyterHub', 'show_config')) {
      process.stdout.write(renderShowConfig(config));
      return 0;
    }
    const opts = { ...cli, cwd, env };
    // loaded only when needed: help, version and config display stay fast
    const { runHub, runTokenCommand, runUpgradeDb } = await import('../hub/commands.js');
    if (cli.command === 'token') return await runTokenCommand(config, opts);
    if (cli.command === 'upgrade-db') return await runUpgradeDb(config, opts);
    return await runHub(config, opts);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.plain ? `ERROR: ${e.message}\n` : errorLine(e.message));
      return 1;
    }
    const err = e as Error;
    process.stderr.write(errorLine(`Unexpected error: ${err?.message ?? String(e)}`));
    if (env.JHUB_DEBUG_ERRORS) process.stderr.write(`${err?.stack ?? ''}\n`);
    return 1;
  }
}

function trySetLevel(level: string): void {
  try {
    setLogLevel(level === 'NOTSET' ? 'debug' : level);
  } catch {
    /* validated by the schema */
  }
}
