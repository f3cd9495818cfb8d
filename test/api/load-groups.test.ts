/** JupyterHub.load_groups at start-up (config.md §3): creation, additive membership across restarts, properties, manage_groups. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningHub } from '../helpers/hub.js';
import { apiHub, call } from './util.js';

const hubs: RunningHub[] = [];
after(async () => {
  for (const h of hubs) await h.cleanup();
});

async function group(hub: RunningHub, name: string): Promise<{ users: string[]; properties: Record<string, unknown> }> {
  const r = await call(hub, `/groups/${name}`);
  assert.equal(r.status, 200, r.text);
  return { users: [...r.body.users].sort(), properties: r.body.properties };
}

test('load_groups: groups and users created, membership only added, properties replaced when given', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-test-groups-'));
  let hub = await apiHub({
    dir,
    config: {
      JupyterHub: {
        load_groups: {
          staff: { users: ['Ann', 'bob'], properties: { room: '101' } },
          legacy: ['carl'],
          empty: {},
        },
      },
    },
  });
  hubs.push(hub);
  assert.deepEqual(await group(hub, 'staff'), { users: ['ann', 'bob'], properties: { room: '101' } });
  assert.deepEqual(await group(hub, 'legacy'), { users: ['carl'], properties: {} });
  assert.deepEqual(await group(hub, 'empty'), { users: [], properties: {} });
  assert.match(hub.output(), /deprecated/);
  // created users got the default role
  assert.deepEqual((await call(hub, '/users/ann')).body.roles, ['user']);
  // a membership added at run time
  assert.equal((await call(hub, '/groups/staff/users', { method: 'POST', json: { users: ['carl'] } })).status, 200);
  assert.equal(await hub.stop(), 0);

  hub = await apiHub({ dir, config: { JupyterHub: { load_groups: { staff: { users: ['dan'] }, legacy: { properties: { k: 'v' } } } } } });
  hubs.push(hub);
  // nobody is removed; properties kept when not given, replaced when given
  assert.deepEqual(await group(hub, 'staff'), { users: ['ann', 'bob', 'carl', 'dan'], properties: { room: '101' } });
  assert.deepEqual(await group(hub, 'legacy'), { users: ['carl'], properties: { k: 'v' } });
  assert.equal((await call(hub, '/groups/empty')).status, 200, 'groups are not deleted either');
  assert.equal(await hub.stop(), 0);
});

test('load_groups with manage_groups: start-up error', async () => {
  await assert.rejects(
    apiHub({ config: { Authenticator: { manage_groups: true }, JupyterHub: { load_groups: { staff: { users: ['ann'] } } } } }),
    (e: Error) => {
      assert.match(e.message, /exited with 1 during start-up/);
      assert.match(e.message, /load_groups can not be used when the authenticator manages groups[\s\S]*groups: staff/);
      return true;
    },
  );
});

test('load_groups: a malformed entry stops the hub with a clear message', async () => {
  await assert.rejects(apiHub({ config: { JupyterHub: { load_groups: { staff: { users: 'ann' } } } } }), (e: Error) => {
    assert.match(e.message, /load_groups\['staff'\]\.users must be a list of user names/);
    return true;
  });
});
