/**
 * The real `jupyterhub-idle-culler` as a hub-managed service (token and permissions from
 * load_roles), against servers of SimpleLocalProcessSpawner running a stand-in server that
 * reports activity like jupyterhub-singleuser does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningHub } from '../helpers/hub.js';
import { FIXTURES, PYTHON, ensureUsers, waitFor, startServicesHub } from './util.js';

const STANDIN = path.join(FIXTURES, 'standin_server.py');
const TIMEOUT = 10;

async function userModel(hub: RunningHub, name: string): Promise<Record<string, unknown> | null> {
  const r = await hub.apiFetch(`/users/${name}`);
  if (r.status === 404) return null;
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as Record<string, unknown>;
}

async function serverReady(hub: RunningHub, name: string): Promise<boolean> {
  const m = await userModel(hub, name);
  const s = (m?.servers as Record<string, { ready: boolean }> | undefined)?.[''];
  return !!s?.ready;
}

describe('jupyterhub-idle-culler as a managed service', () => {
  let hub: RunningHub;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-culler-'));
    for (const u of ['idle', 'busy']) fs.mkdirSync(path.join(dir, 'home', u), { recursive: true });
    hub = await startServicesHub({
      dir,
      config: {
        JupyterHub: {
          spawner_class: 'simple',
          services: [
            {
              name: 'idle-culler',
              command: [PYTHON, '-m', 'jupyterhub_idle_culler', `--timeout=${TIMEOUT}`, '--cull-every=2', '--cull-users=True', '--cull-admin-users=False'],
            },
          ],
          load_roles: [
            {
              name: 'idle-culler',
              description: 'Culls idle servers and users',
              scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'],
              services: ['idle-culler'],
            },
          ],
        },
        Spawner: { cmd: [PYTHON, STANDIN], environment: { STANDIN_ACTIVE_USERS: 'busy' } },
        SimpleLocalProcessSpawner: { home_dir_template: path.join(dir, 'home', '{username}') },
      },
    });
    await ensureUsers(hub, ['idle', 'busy', 'loner']);
    for (const u of ['idle', 'busy']) {
      const r = await hub.apiFetch(`/users/${u}/server`, { method: 'POST' });
      assert.ok(r.status === 201 || r.status === 202, `start ${u}: ${r.status} ${await r.text()}`);
    }
    for (const u of ['idle', 'busy']) await waitFor(`${u}'s server`, () => serverReady(hub, u), 30000);
  });

  after(async () => {
    await hub?.stop();
  });

  it('gives the culler its service environment and role', async () => {
    const r = await hub.apiFetch('/services/idle-culler');
    assert.equal(r.status, 200);
    const m = (await r.json()) as { roles: string[]; pid: number; url: string; prefix: string };
    assert.deepEqual(m.roles, ['idle-culler']);
    assert.ok(m.pid > 0);
    assert.equal(m.url, '');
    assert.equal(m.prefix, '');
  });

  it('culls the idle server and its user, an idle user without servers, and leaves the active one', async () => {
    await waitFor('idle and loner culled', async () => (await userModel(hub, 'idle')) === null && (await userModel(hub, 'loner')) === null, 90000, 500);
    const out = hub.output();
    assert.match(out, /\[service idle-culler\].*Culling server idle/);
    assert.match(out, /\[service idle-culler\].*Culling user idle/);
    assert.match(out, /\[service idle-culler\].*Culling user loner/);
    // busy reported activity every second all along
    assert.equal(await serverReady(hub, 'busy'), true, 'the active server is still running');
    const busy = await userModel(hub, 'busy');
    assert.ok(busy, 'the active user still exists');
    assert.doesNotMatch(out, /Culling server busy/);
    // admins are kept with --cull-admin-users=False (the culler's default is to cull them too)
    assert.ok(await userModel(hub, 'admin'));
  });
});
