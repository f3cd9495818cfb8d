/**
 * Start a real jhub process (bin/jhub) in a fresh temporary directory, with its own
 * SQLite file, cookie secret and random ports, and wait until it answers through its proxy.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { shebangNodeFlags } from '../../src/util/shebang.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const JHUB_BIN = path.join(ROOT, 'bin', 'jhub');
/** The Python virtualenv of scripts/deps.sh, by its real path (it may live in /opt/jhub/venv so that every user can run it). */
export const VENV_BIN = path.join(fs.existsSync(path.join(ROOT, '.venv')) ? fs.realpathSync(path.join(ROOT, '.venv')) : path.join(ROOT, '.venv'), 'bin');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface StartHubOptions {
  /** Settings as {Class: {trait: value}}; merged over the defaults below. Written as JSON. */
  config?: Record<string, Record<string, unknown>>;
  /** A Python config file body instead of (or in addition to: loaded first) the JSON config. */
  configPy?: string;
  /** The same as a TypeScript config file (jupyterhub_config.ts); not with configPy. */
  configTs?: string;
  /** Extra command-line arguments. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Use this directory (e.g. to restart a hub on the same database). */
  dir?: string;
  /** Reuse these ports (restart). */
  ports?: { public: number; api: number; hub: number };
  /** Wait for the hub to answer (default true). */
  wait?: boolean;
  /**
   * Run the hub as this system account instead of the test runner's (which must be root):
   * the command is wrapped in `setpriv --reuid/--regid/--init-groups`, the hub's directory is
   * handed to the account, and HOME/USER/LOGNAME are the account's.
   */
  runAs?: string;
  /** Run this jhub executable instead of the checkout's bin/jhub (e.g. an installed copy). */
  bin?: string;
  /**
   * Run jhub with this node executable instead of the test runner's own (process.execPath).
   * The hub starts its children that are Node programs (jhub-proxy, .ts config compilation)
   * with the node it runs on, so they follow.
   */
  node?: string;
  /** Arguments for node itself, before the script (e.g. ['--cpu-prof']). */
  nodeArgs?: string[];
}

export interface RunningHub {
  dir: string;
  proc: ChildProcess;
  pid: number;
  ports: { public: number; api: number; hub: number };
  /** Public URL through the proxy, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** Hub's own URL (bypassing the proxy). */
  hubUrl: string;
  /** {url}/hub/api */
  api: string;
  /** A token of the admin user 'admin' (from JupyterHub.api_tokens). */
  adminToken: string;
  proxyToken: string;
  /** Everything the hub printed so far. */
  output(): string;
  /** Wait until the output matches. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  /** fetch against the public URL with the admin token unless headers say otherwise. */
  apiFetch(p: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** SIGTERM and wait for exit (SIGKILL after 15 s); returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** For after() hooks: kill the hub if still running and the proxy it left (a hub killed hard leaves its proxy by design). */
  cleanup(): Promise<void>;
}

function merge(a: Record<string, Record<string, unknown>>, b: Record<string, Record<string, unknown>>) {
  const out: Record<string, Record<string, unknown>> = JSON.parse(JSON.stringify(a));
  for (const [cls, traits] of Object.entries(b)) out[cls] = { ...(out[cls] ?? {}), ...traits };
  return out;
}

export async function startHub(o: StartHubOptions = {}): Promise<RunningHub> {
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-test-'));
  const ports = o.ports ?? { public: await freePort(), api: await freePort(), hub: await freePort() };
  const adminToken = 'admin-' + crypto.randomBytes(16).toString('hex');
  const proxyToken = crypto.randomBytes(16).toString('hex');
  const base: Record<string, Record<string, unknown>> = {
    JupyterHub: {
      ip: '127.0.0.1',
      port: ports.public,
      hub_ip: '127.0.0.1',
      hub_port: ports.hub,
      authenticator_class: 'dummy',
      api_tokens: { [adminToken]: 'admin' },
      db_url: `sqlite:///${path.join(dir, 'jupyterhub.sqlite')}`,
      cookie_secret_file: path.join(dir, 'jupyterhub_cookie_secret'),
    },
    ConfigurableHTTPProxy: { api_url: `http://127.0.0.1:${ports.api}`, pid_file: path.join(dir, 'jupyterhub-proxy.pid') },
    Authenticator: { admin_users: ['admin'] },
  };
  const cfg = merge(base, o.config ?? {});
  const args: string[] = [];
  const configCode = o.configPy !== undefined ? { ext: 'py', text: o.configPy } : o.configTs !== undefined ? { ext: 'ts', text: o.configTs } : undefined;
  if (configCode) {
    fs.writeFileSync(path.join(dir, `jupyterhub_config.${configCode.ext}`), configCode.text);
    // JSON next to the .py/.ts file is loaded after it (higher priority).
    fs.writeFileSync(path.join(dir, 'jupyterhub_config.json'), JSON.stringify(cfg, null, 1));
    args.push('-f', path.join(dir, `jupyterhub_config.${configCode.ext}`));
  } else {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 1));
    args.push('-f', path.join(dir, 'config.json'));
  }
  args.push(...(o.args ?? []));
  const env = {
    ...process.env,
    PATH: `${VENV_BIN}:${process.env.PATH}`,
    CONFIGPROXY_AUTH_TOKEN: proxyToken,
    ...o.env,
  };
  // Run as `jhub` runs for operators: with the node options of its shebang line.
  let argv = [o.node ?? process.execPath, ...shebangNodeFlags(o.bin ?? JHUB_BIN), ...(o.nodeArgs ?? []), o.bin ?? JHUB_BIN, ...args];
  if (o.runAs) {
    const pw = execFileSync('getent', ['passwd', o.runAs], { encoding: 'utf8' }).trim().split(':');
    const [uid, gid, home] = [Number(pw[2]), Number(pw[3]), pw[5]];
    for (const f of [dir, ...fs.readdirSync(dir).map((n) => path.join(dir, n))]) fs.chownSync(f, uid, gid);
    Object.assign(env, { HOME: home, USER: o.runAs, LOGNAME: o.runAs });
    argv = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', ...argv];
  }
  const proc = spawn(argv[0], argv.slice(1), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    if (process.env.JHUB_TEST_VERBOSE) process.stderr.write(d);
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${ports.public}`;
  const hub: RunningHub = {
    dir,
    proc,
    pid: proc.pid!,
    ports,
    url,
    hubUrl: `http://127.0.0.1:${ports.hub}`,
    api: `${url}/hub/api`,
    adminToken,
    proxyToken,
    output: () => out,
    async waitForOutput(re, timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in hub output:\n${out}`);
        if (proc.exitCode !== null) throw new Error(`hub exited (${proc.exitCode}) before ${re}:\n${out}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    apiFetch(p, init = {}) {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      const t = token === undefined ? adminToken : token;
      if (t && !headers.has('authorization')) headers.set('Authorization', `token ${t}`);
      return fetch(`${url}/hub/api${p}`, { ...rest, headers });
    },
    async cleanup() {
      await hub.stop('SIGKILL');
      try {
        const pid = Number(fs.readFileSync(path.join(dir, 'jupyterhub-proxy.pid'), 'utf8'));
        if (pid > 1) process.kill(pid, 'SIGTERM');
      } catch {
        /* no proxy left */
      }
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  if (o.wait === false) return hub;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`hub exited with ${proc.exitCode} during start-up:\n${out}`);
    try {
      // Ready = start-up finished (services, spawners, routes) and the API answers through the proxy.
      if (/JupyterHub is now running/.test(out)) {
        const r = await fetch(`${url}/hub/api/`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) break;
      }
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await hub.stop('SIGKILL');
      throw new Error(`hub did not answer at ${url}/hub/api/ within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return hub;
}
