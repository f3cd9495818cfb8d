/**
 * Spawner.port_range: with port 0, servers get a free port inside the range (checked on the
 * proxy's routes), a range with no free port is a clear spawn error, and a malformed range
 * stops the hub at start-up with a message naming the option.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startHub, type RunningHub } from '../helpers/hub.js';
import { freePorts } from '../helpers/ports.js';

const STANDIN = path.join(ROOT, 'bench', 'fixtures', 'standin.py');
const config = (range: unknown) => ({
  JupyterHub: { spawner_class: 'simple' },
  Authenticator: { allow_all: true, admin_users: ['admin'] },
  Spawner: { cmd: ['/usr/bin/python3', '-I', '-S', STANDIN], port_range: range },
  SimpleLocalProcessSpawner: { home_dir_template: path.join(os.tmpdir(), 'jhub-portrange-test', '{username}') },
});

describe('Spawner.port_range', () => {
  let hub: RunningHub;
  let range: [number, number];
  let blocker: net.Server;
  before(async () => {
    // Three consecutive free ports are not guaranteed: take a base from a free port and a 3-wide range.
    const [p] = await freePorts(1);
    const base = p > 65000 ? p - 3 : p;
    range = [base, base + 2];
    hub = await startHub({ config: config(range) });
    const r = await hub.apiFetch('/users', { method: 'POST', body: JSON.stringify({ usernames: ['pa', 'pb', 'pc', 'pd'] }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 201);
  });
  after(async () => {
    for (const n of ['pa', 'pb', 'pc', 'pd']) await hub?.apiFetch(`/users/${n}/server`, { method: 'DELETE' }).catch(() => {});
    blocker?.close();
    await hub?.cleanup();
  });

  async function routeTarget(name: string): Promise<string> {
    const routes = (await (await hub.apiFetch('/proxy')).json()) as Record<string, { target: string }>;
    const hit = Object.entries(routes).find(([k]) => k.replace(/\/$/, '').endsWith(`/user/${name}`));
    assert.ok(hit, `a route for ${name}: ${JSON.stringify(routes)}`);
    return hit[1].target;
  }
  async function spawn(name: string): Promise<{ status: number; ready: boolean; text: string }> {
    const r = await hub.apiFetch(`/users/${name}/server`, { method: 'POST' });
    const text = await r.text();
    for (let i = 0; i < 200 && r.status < 400; i++) {
      const u = (await (await hub.apiFetch(`/users/${name}`)).json()) as { servers: Record<string, { ready: boolean; pending: string | null }> };
      if (u.servers['']?.ready) return { status: r.status, ready: true, text };
      if (!u.servers[''] && i > 2) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    return { status: r.status, ready: false, text };
  }

  it('gives servers ports inside the range', async () => {
    for (const n of ['pa', 'pb']) {
      assert.equal((await spawn(n)).ready, true, `${n} ready`);
      const port = Number(new URL(await routeTarget(n)).port);
      assert.ok(port >= range[0] && port <= range[1], `${n}'s port ${port} is in ${range}`);
    }
  });

  it('a range with no free port left is a clear error', async () => {
    // pa and pb hold two ports of three; occupy the third (unless a server already has it).
    const used = new Set([Number(new URL(await routeTarget('pa')).port), Number(new URL(await routeTarget('pb')).port)]);
    const third = [range[0], range[0] + 1, range[1]].find((p) => !used.has(p))!;
    blocker = net.createServer();
    await new Promise<void>((res, rej) => blocker.once('error', rej).listen(third, '127.0.0.1', () => res()));
    const r = await spawn('pc');
    assert.equal(r.ready, false);
    const msg = hub.output();
    assert.match(msg, new RegExp(`no free port in Spawner\\.port_range \\[${range[0]}, ${range[1]}\\]`));
  });
});

it('a malformed Spawner.port_range stops the hub at start-up, naming the option', async () => {
  await assert.rejects(startHub({ config: config([2000, 1000]) }), (e: Error) => {
    assert.match(e.message, /Spawner\.port_range/);
    assert.match(e.message, /low <= high/);
    return true;
  });
});
