/**
 * jhub on the other Node.js versions it supports (22 and 24: the test runner's own node runs
 * every other test). For each, a real hub under that node, with its default proxy (jhub-proxy,
 * started by the hub on the same node), a TypeScript config compiled at run time, a user made
 * through the REST API who logs in with the login form, a stand-in server spawned, reached
 * through the proxy and stopped, and a clean shutdown, with no warning printed by Node.js.
 *
 * The binaries and a node_modules built for each version's ABI (better-sqlite3 is native) come
 * from scripts/node-versions.sh, which scripts/deps.sh test runs; this file runs it too (a no-op
 * when done). jhub runs from a copy of this checkout's build (bin, dist/src, src) whose
 * node_modules is that version's. Skipped, with the reason, only where that install is
 * impossible (not Linux x64, or the npm registry unreachable outside CI); under CI a failed
 * install fails.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startHub, type RunningHub } from '../helpers/hub.js';
import { CookieClient, xsrfFrom } from '../auth/client.js';

const MAJORS = ['22', '24'];
const SCRIPT = path.join(ROOT, 'scripts', 'node-versions.sh');
const STANDIN = path.join(ROOT, 'bench', 'fixtures', 'standin.py');
/** What Node.js prints for a warning: `(node:123) [DEP0040] DeprecationWarning: ...`, `(node:123) ExperimentalWarning: ...`. */
const NODE_WARNING = /^.*\(node:\d+\) (?:\[\w+\] )?\w*Warning: .*$/gm;

interface Install {
  version: string;
  node: string;
  modules: string;
}

/** The installed versions by major, or why there are none. */
function installs(): Map<string, Install> | { skip?: string; fail?: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { skip: `Node.js builds are fetched for Linux x64 only (this is ${process.platform}/${process.arch})` };
  const list = () => spawnSync('bash', [SCRIPT, 'list'], { encoding: 'utf8' });
  let r = list();
  if (r.status !== 0) {
    // Not installed yet (or package-lock.json changed): install now; quick when done already.
    const inst = spawnSync('bash', [SCRIPT, 'install'], { encoding: 'utf8', timeout: 540_000 });
    if (inst.status !== 0) {
      const why = `scripts/node-versions.sh install failed (${inst.error?.message ?? `exit ${inst.status}`}):\n${(inst.stderr ?? '').trim().split('\n').slice(-15).join('\n')}`;
      return process.env.CI ? { fail: `${why}\n(scripts/deps.sh test installs these: under CI they must be there)` } : { skip: why };
    }
    r = list();
    if (r.status !== 0) return { fail: `scripts/node-versions.sh list after install:\n${r.stderr}` };
  }
  const out = new Map<string, Install>();
  for (const line of r.stdout.trim().split('\n')) {
    const [major, version, node, modules] = line.split(' ');
    out.set(major, { version, node, modules });
  }
  return out;
}

/** A copy of this checkout's build run with `modules` as its node_modules, as an install would be. */
function appCopy(major: string, modules: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `jhub-node${major}-app-`));
  execFileSync('cp', ['-a', path.join(ROOT, 'bin'), path.join(ROOT, 'src'), path.join(ROOT, 'package.json'), dir]);
  fs.mkdirSync(path.join(dir, 'dist'));
  execFileSync('cp', ['-a', path.join(ROOT, 'dist', 'src'), path.join(dir, 'dist')]);
  fs.symlinkSync(modules, path.join(dir, 'node_modules'));
  return dir;
}

function exeOf(pid: number): string {
  return fs.realpathSync(`/proc/${pid}/exe`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function connects(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A TypeScript config that only the typescript package compiles (enum, parameter property). */
const CONFIG_TS = `
enum Spawners { Simple = 'simple' }
class Server { constructor(public readonly cmd: string[]) {} }
const server: Server = new Server(['python3', '-I', '-S', ${JSON.stringify(STANDIN)}]);
export default (c: any): void => {
  c.JupyterHub.spawner_class = Spawners.Simple;
  c.Spawner.cmd = server.cmd;
  c.Spawner.environment = { JHUB_NODE_TEST: 'ts-config' };
};
`;

const found = installs();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

for (const major of MAJORS) {
  const inst = found instanceof Map ? found.get(major) : undefined;
  const problem = found instanceof Map ? (inst ? undefined : { fail: `scripts/node-versions.sh list has no Node.js ${major}` }) : found;
  describe(`jhub on Node.js ${inst?.version ?? major}`, { skip: problem?.skip ?? false, timeout: 300_000 }, () => {
    if (problem?.fail) {
      it('is installed', () => assert.fail(problem.fail));
      return;
    }
    const { version, node, modules } = inst!;
    let app = '';

    it('the build runs: jhub --version and jhub-proxy --version, with no warning', () => {
      assert.equal(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim(), `v${version}`);
      app = appCopy(major, modules);
      cleanups.push(() => fs.rmSync(app, { recursive: true, force: true }));
      for (const bin of ['jhub', 'jhub-proxy']) {
        const r = spawnSync(node, [path.join(app, 'bin', bin), '--version'], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, `${bin} --version under Node.js ${version}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /^\d+\.\d+\.\d+/);
        assert.equal(r.stderr, '', `${bin} --version printed on stderr`);
      }
    });

    it('hub and jhub-proxy: REST API user, login form, spawn, a request through the proxy, stop, clean shutdown', async () => {
      assert.ok(app, 'the app copy was made by the previous test');
      const user = `nodeuser${major}`;
      let hub: RunningHub | undefined;
      try {
        hub = await startHub({
          node,
          bin: path.join(app, 'bin', 'jhub'),
          configTs: CONFIG_TS,
          // Only users that exist in the database may log in: the one the REST API makes.
          config: { Authenticator: { admin_users: ['admin'], allow_existing_users: true } },
        });
        cleanups.push(() => hub!.cleanup());
        const proxyPid = Number(fs.readFileSync(path.join(hub.dir, 'jupyterhub-proxy.pid'), 'utf8'));
        assert.equal(exeOf(hub.pid), fs.realpathSync(node), 'the hub runs on the chosen node');
        assert.equal(exeOf(proxyPid), fs.realpathSync(node), 'the hub started jhub-proxy on the node it runs on');

        // A user through the REST API (admin token), who then logs in with the login form.
        let r = await hub.apiFetch(`/users/${user}`, { method: 'POST' });
        assert.equal(r.status, 201, await r.text());
        const client = new CookieClient();
        const page = await client.get(`${hub.url}/hub/login`);
        assert.equal(page.status, 200);
        r = await client.postForm(`${hub.url}/hub/login`, { username: user, password: 'any', _xsrf: xsrfFrom(await page.text()) });
        assert.equal(r.status, 302, `login: ${r.status} ${await r.text()}`);
        assert.ok(client.jar.has('jupyterhub-hub-login'), 'logged in: the login cookie is set');
        const who = await client.get(`${hub.url}/hub/home`);
        assert.equal(who.status, 200, 'the home page answers the logged-in user');
        assert.match(await who.text(), new RegExp(user));

        // Spawn from the browser's side: /hub/spawn starts the server and leads to /user/<name>/.
        const { res, hops } = await client.follow(`${hub.url}/hub/spawn`);
        assert.equal(res.status, 200, `spawn: ${JSON.stringify(hops)}`);
        assert.equal(await res.text(), 'ok', 'the stand-in server answered');
        assert.ok(hops.some((h) => new URL(h.url).pathname === `/user/${user}/`), `reached /user/${user}/: ${JSON.stringify(hops)}`);

        // The proxy routes /user/<name> to the server; a request through it gets the stand-in's 200.
        const routes = (await (await fetch(`http://127.0.0.1:${hub.ports.api}/api/routes`, { headers: { Authorization: `token ${hub.proxyToken}` } })).json()) as Record<string, { target: string }>;
        const target = routes[`/user/${user}`]?.target;
        assert.ok(target, `a proxy route for /user/${user}: ${JSON.stringify(routes)}`);
        r = await fetch(`${hub.url}/user/${user}/`);
        assert.equal(r.status, 200);
        assert.equal(await r.text(), 'ok');
        const model = (await (await hub.apiFetch(`/users/${user}`)).json()) as { servers: Record<string, { ready: boolean }> };
        assert.equal(model.servers['']?.ready, true);

        // Stop through the REST API: the route goes, the server's port closes.
        r = await hub.apiFetch(`/users/${user}/server`, { method: 'DELETE' });
        assert.ok(r.status === 204 || r.status === 202, `stop: ${r.status}`);
        await waitUntil(async () => {
          const m = (await (await hub!.apiFetch(`/users/${user}`)).json()) as { servers: Record<string, unknown> };
          return Object.keys(m.servers).length === 0;
        }, 'the server to be stopped');
        const left = (await (await fetch(`http://127.0.0.1:${hub.ports.api}/api/routes`, { headers: { Authorization: `token ${hub.proxyToken}` } })).json()) as Record<string, unknown>;
        assert.ok(!(`/user/${user}` in left), 'the route is removed');
        await waitUntil(async () => !(await connects(target)), 'the stand-in server to exit');

        // Clean shutdown: exit 0, and the proxy it started goes with it.
        assert.equal(await hub.stop('SIGTERM'), 0, hub.output());
        await waitUntil(() => !alive(proxyPid), 'jhub-proxy to exit with the hub', 10000);
        assert.doesNotMatch(hub.output(), /JupyterHub is not running|Traceback|Unhandled|\n\s+at /, 'no error in the log');
        const warnings = hub.output().match(NODE_WARNING) ?? [];
        assert.deepEqual(warnings, [], `Node.js ${version} printed warnings (ours to fix, or a dependency's to note)`);
      } catch (e) {
        if (hub) (e as Error).message += `\n--- hub output (Node.js ${version}) ---\n${hub.output()}`;
        throw e;
      }
    });
  });
}
