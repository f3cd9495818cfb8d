/** load_roles / custom_scopes validation at start-up, and membership semantics across restarts. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { apiHub, call } from './util.js';

async function startupError(config: Record<string, Record<string, unknown>>, re: RegExp) {
  await assert.rejects(apiHub({ config }), (e: Error) => {
    assert.match(e.message, re);
    return true;
  });
}

it('invalid roles and scopes stop the hub with a clear message', async () => {
  await startupError({ JupyterHub: { load_roles: [{ name: 'x', scopes: [] }] } }, /Invalid role name: "x"/);
  await startupError({ JupyterHub: { load_roles: [{ name: 'ok-role', scopes: ['read:userz'] }] } }, /Scope 'read:userz' for role ok-role does not exist/);
  await startupError({ JupyterHub: { load_roles: [{ name: 'dup', scopes: [] }, { name: 'dup', scopes: [] }] } }, /Role dup multiply defined/);
  await startupError({ JupyterHub: { load_roles: [{ name: 'admin', scopes: ['read:users'] }] } }, /Cannot override admin role admin.scopes/);
  await startupError({ JupyterHub: { load_roles: [{ name: 'svc-role', scopes: ['read:users'], services: ['nosuch'] }] } }, /undefined service nosuch/);
  await startupError({ JupyterHub: { load_roles: [{ name: 'bad-filter', scopes: ['read:users!team=x'] }] } }, /does not exist/);
  await startupError({ JupyterHub: { custom_scopes: { 'custom:Bad': { description: 'x' } } } }, /Invalid scope name/);
  await startupError({ JupyterHub: { custom_scopes: { 'custom:okay': {} } } }, /description/);
});

it('load_roles: users/groups created, exact membership, custom scopes, restart keeps tokens', async () => {
  const config = {
    JupyterHub: {
      custom_scopes: { 'custom:reports:read': { description: 'read reports', subscopes: ['custom:reports:list'] }, 'custom:reports:list': { description: 'list' } },
      load_roles: [
        { name: 'reporter', scopes: ['custom:reports:read!group=staff', 'read:hub'], users: ['rita'], groups: ['staff'] },
        { name: 'user', scopes: ['self', 'read:groups:name'] },
      ],
    },
  };
  let hub = await apiHub({ config });
  try {
    const rita = await call(hub, '/users/rita');
    assert.equal(rita.status, 200);
    assert.deepEqual(rita.body.roles.sort(), ['reporter', 'user']);
    assert.equal((await call(hub, '/groups/staff')).body.roles.includes('reporter'), true);
    const t = (await call(hub, '/users/rita/tokens', { method: 'POST', json: {} })).body.token;
    const me = await call(hub, '/user', { token: t });
    assert.ok(me.body.scopes.includes('custom:reports:read!group=staff'));
    assert.ok(me.body.scopes.includes('custom:reports:list!group=staff'));
    assert.ok(me.body.scopes.includes('read:groups:name'));
    assert.equal((await call(hub, '/info', { token: t })).status, 200);
    // a token may request a custom scope held by the owner, but not more
    assert.equal((await call(hub, '/users/rita/tokens', { method: 'POST', json: { scopes: ['custom:reports:list!group=staff'] } })).status, 201);
    assert.equal((await call(hub, '/users/rita/tokens', { method: 'POST', json: { scopes: ['custom:reports:list'] } })).status, 400);
    // restart with rita removed from the role: membership is exact, token loses read:hub
    await hub.stop();
    const cfg2 = JSON.parse(JSON.stringify(config));
    cfg2.JupyterHub.load_roles[0].users = [];
    hub = await apiHub({ config: cfg2, dir: hub.dir, ports: hub.ports });
    assert.deepEqual((await call(hub, '/users/rita')).body.roles, ['user']);
    assert.equal((await call(hub, '/info', { token: t })).status, 403);
    assert.equal((await call(hub, '/user', { token: t })).status, 200);
    // a role dropped from config is deleted
    await hub.stop();
    const cfg3 = { JupyterHub: { custom_scopes: config.JupyterHub.custom_scopes, load_roles: [] } };
    hub = await apiHub({ config: cfg3, dir: hub.dir, ports: hub.ports });
    assert.ok(!(await call(hub, '/groups/staff')).body.roles.includes('reporter'));
  } finally {
    await hub.stop();
  }
});
