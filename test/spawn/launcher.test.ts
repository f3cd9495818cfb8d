/**
 * Servers are started by the process launcher (src/spawners/launcher.ts), not forked from the
 * hub itself: a real hub (the shipped, bundled build when it is built) spawns stand-in servers
 * whose parent process is the launcher; they are stopped cleanly; and a launcher that is
 * killed is replaced while its servers keep running.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startHub, type RunningHub } from '../helpers/hub.js';

const STANDIN = path.join(ROOT, 'bench', 'fixtures', 'standin.py');

function ppid(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
}
function cmdline(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
}
/** Running (an exited process whose new parent has not reaped it yet, a zombie, is not). */
function alive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}

describe('process launcher', () => {
  let hub: RunningHub;
  before(async () => {
    hub = await startHub({
      config: {
        JupyterHub: { spawner_class: 'simple' },
        Authenticator: { allow_all: true, admin_users: ['admin'] },
        Spawner: { cmd: ['/usr/bin/python3', '-I', '-S', STANDIN], poll_interval: 1 },
        SimpleLocalProcessSpawner: { home_dir_template: path.join(os.tmpdir(), 'jhub-launcher-test', '{username}') },
      },
    });
    const r = await hub.apiFetch('/users', { method: 'POST', body: JSON.stringify({ usernames: ['l1', 'l2', 'l3'] }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 201);
  });
  const started = new Set<number>();
  after(async () => {
    // Servers outlive a stopped hub (cleanup_servers is off by default) and hold the pipes of the
    // hub's output: stop them, then kill any left over.
    for (const n of ['l1', 'l2', 'l3']) await hub?.apiFetch(`/users/${n}/server`, { method: 'DELETE' }).catch(() => {});
    for (let i = 0; i < 100 && [...started].some(alive); i++) await new Promise((res) => setTimeout(res, 50));
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await hub?.cleanup();
  });

  async function serverPid(name: string): Promise<number> {
    const r = await hub.apiFetch(`/users/${name}`);
    const m = (await r.json()) as { servers: Record<string, { ready: boolean; state: { pid?: number } }> };
    assert.ok(m.servers[''].ready, `${name}'s server is ready`);
    const pid = m.servers[''].state.pid;
    assert.ok(pid && pid > 0, `a pid in ${name}'s server state: ${JSON.stringify(m.servers[''].state)}`);
    started.add(pid);
    return pid;
  }

  async function spawnReady(name: string): Promise<number> {
    const r = await hub.apiFetch(`/users/${name}/server`, { method: 'POST' });
    assert.ok(r.status === 201 || r.status === 202, `spawn ${name}: ${r.status}`);
    for (let i = 0; i < 200; i++) {
      const u = (await (await hub.apiFetch(`/users/${name}`)).json()) as { servers: Record<string, { ready: boolean }> };
      if (u.servers['']?.ready) return serverPid(name);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${name}'s server never became ready:\n${hub.output().slice(-3000)}`);
  }

  it('starts servers from the launcher, not from the hub', async () => {
    // The launcher starts with the first spawn and takes a moment to be ready; until then the
    // hub starts servers itself. So: spawn until a server comes from the launcher (a few tries).
    await spawnReady('l1');
    let pid = await spawnReady('l2');
    for (let i = 0; i < 20 && ppid(pid) === hub.pid; i++) {
      const r = await hub.apiFetch('/users/l2/server', { method: 'DELETE' });
      assert.ok(r.status === 204 || r.status === 202, `stop l2: ${r.status}`);
      for (let j = 0; j < 100 && (await (await hub.apiFetch('/users/l2')).json() as { servers: Record<string, unknown> }).servers['']; j++)
        await new Promise((res) => setTimeout(res, 50));
      await new Promise((res) => setTimeout(res, 250));
      pid = await spawnReady('l2');
    }
    const parent = ppid(pid);
    assert.notEqual(parent, hub.pid, 'a server is not a child of the hub');
    assert.equal(ppid(parent), hub.pid, 'its parent is a child of the hub');
    assert.match(cmdline(parent), /launcher-child\.c?js/);
    assert.doesNotMatch(hub.output(), /process launcher/i, 'no launcher warning in the hub log');
  });

  it('replaces a killed launcher; its servers keep running and stop cleanly', async () => {
    const pid = await serverPid('l2');
    const launcher = ppid(pid);
    assert.notEqual(launcher, hub.pid, 'started by the launcher');
    process.kill(launcher, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(alive(pid), 'the server survives its launcher');
    const r = await hub.apiFetch('/users/l2/server', { method: 'DELETE' });
    assert.ok(r.status === 204 || r.status === 202, `stop: ${r.status}`);
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(!alive(pid), 'the server was stopped');
    const next = await spawnReady('l3');
    assert.notEqual(ppid(next), hub.pid);
    assert.match(cmdline(ppid(next)), /launcher-child\.c?js/);
  });
});
