/**
 * REST API and RBAC against a real hub process through the real proxy: every endpoint
 * family, scope boundaries (allowed/refused, filtered scopes, 404-vs-403), pagination, bad
 * input (nothing changed in the DB), token scope intersection, admin:users vs admin.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RunningHub } from '../helpers/hub.js';
import { apiHub, call, validate, responseSchema } from './util.js';

let hub: RunningHub;
const tokens: Record<string, string> = {};

async function tokenFor(user: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await call(hub, `/users/${encodeURIComponent(user)}/tokens`, { method: 'POST', json: body });
  assert.equal(r.status, 201, r.text);
  return r.body.token;
}
async function userCount(): Promise<number> {
  const r = await call(hub, '/users', { headers: { Accept: 'application/jupyterhub-pagination+json' } });
  return r.body._pagination.total;
}
function sqlite(): Database.Database {
  return new Database(path.join(hub.dir, 'jupyterhub.sqlite'));
}

before(async () => {
  hub = await apiHub({
    config: {
      JupyterHub: {
        custom_scopes: { 'custom:jupyter_ai:read': { description: 'read AI things' } },
        load_roles: [
          { name: 'user-manager', scopes: ['admin:users', 'list:users'], users: ['manager'] },
          { name: 'physics-lister', scopes: ['list:users!group=physics', 'read:users:name'], users: ['lister'] },
          { name: 'bad-lister', scopes: ['list:users!server=alice/'], users: ['badlister'] },
          { name: 'prometheus', scopes: ['read:metrics'], users: ['prom'] },
          { name: 'ai-reader', scopes: ['custom:jupyter_ai:read!user'], users: ['alice'] },
          { name: 'group-reader', scopes: ['read:groups!group=physics', 'list:groups!group=physics'], users: ['glead'] },
          { name: 'sharer', scopes: ['shares!user', 'read:users:name!group=physics'], users: ['alice'] },
          { name: 'server-reader', scopes: ['read:servers!server=bob/x'], users: ['sreader'] },
        ],
      },
    },
  });
  const r = await call(hub, '/users', { method: 'POST', json: { usernames: ['alice', 'bob', 'carol'] } });
  assert.equal(r.status, 201, r.text);
  for (const u of ['alice', 'bob', 'carol', 'manager', 'lister', 'badlister', 'prom', 'glead', 'sreader']) tokens[u] = await tokenFor(u);
});
after(async () => {
  await hub?.stop();
});

describe('hub endpoints', () => {
  it('GET / gives the version, CORS, no auth', async () => {
    for (const p of ['', '/']) {
      const r = await call(hub, p, { token: null });
      assert.equal(r.status, 200);
      assert.match(r.body.version, /^\d+\.\d+\.\d+/);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.ok(r.headers.get('x-jupyterhub-version'));
      assert.equal(r.headers.get('access-control-allow-headers'), 'accept, content-type, authorization');
    }
  });
  it('OPTIONS → 200 empty; unknown path → JSON 404; wrong method → 405', async () => {
    const o = await call(hub, '/users/alice', { method: 'OPTIONS', token: null });
    assert.equal(o.status, 200);
    assert.equal(o.text, '');
    const n = await call(hub, '/no/such/thing');
    assert.equal(n.status, 404);
    assert.deepEqual(n.body, { status: 404, message: 'Not Found' });
    const m = await call(hub, '/users/alice', { method: 'PUT', json: {} });
    assert.equal(m.status, 405);
    assert.deepEqual(m.body, { status: 405, message: 'Method Not Allowed' });
  });
  it('health without auth, info with read:hub only', async () => {
    for (const u of [`${hub.url}/hub/health`, `${hub.url}/hub/api/health`]) assert.equal((await fetch(u)).status, 200);
    assert.equal((await call(hub, '/info')).status, 200);
    const r = await call(hub, '/info', { token: tokens.alice });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'Action is not authorized with current scopes; requires any of [read:hub]');
    for (const k of ['version', 'python', 'sys_executable', 'spawner', 'authenticator']) assert.ok(k in (await call(hub, '/info')).body);
  });
});

describe('authentication', () => {
  it('missing/invalid credentials → 403, never 401; ?token= is ignored', async () => {
    for (const init of [{ token: null }, { token: 'nonsense-token-value' }]) {
      const r = await call(hub, '/users', init);
      assert.equal(r.status, 403);
      assert.equal(r.body.message, 'Missing or invalid credentials.');
    }
    const q = await call(hub, `/users?token=${hub.adminToken}`, { token: null });
    assert.equal(q.status, 403);
    const u = await call(hub, '/user', { token: null });
    assert.equal(u.status, 403);
    assert.equal(u.body.message, 'Forbidden');
  });
  it('bearer keyword works; /user has identity, sorted scopes, token_id', async () => {
    const r = await call(hub, '/user', { token: null, headers: { Authorization: `Bearer ${tokens.alice}` } });
    assert.equal(r.status, 200);
    assert.equal(r.body.name, 'alice');
    assert.match(r.body.token_id, /^a\d+$/);
    assert.equal(r.body.session_id, null);
    assert.deepEqual(r.body.scopes, [...r.body.scopes].sort());
    assert.ok(r.body.scopes.includes('read:users!user=alice'));
    assert.ok(r.body.scopes.includes('custom:jupyter_ai:read!user=alice'));
    assert.ok(!r.body.scopes.includes('list:users'));
    assert.deepEqual(validate(r.body, responseSchema('/user', 'get', 200)), []);
  });
  it('cookie-less browser-style requests with Origin need XSRF', async () => {
    const r = await call(hub, '/users', { token: null, headers: { Origin: 'http://evil.example' } });
    assert.equal(r.status, 403);
  });
});

describe('users', () => {
  it('list, get, models filtered by scopes', async () => {
    const all = await call(hub, '/users');
    assert.equal(all.status, 200);
    assert.ok(all.body.some((u: { name: string }) => u.name === 'alice'));
    assert.deepEqual(validate(all.body, responseSchema('/users', 'get', 200)), []);
    const a = await call(hub, '/users/alice', { token: tokens.alice });
    assert.equal(a.status, 200);
    assert.equal(a.body.name, 'alice');
    assert.ok(!('auth_state' in a.body), 'no auth_state without admin:auth_state');
    const adm = await call(hub, '/users/alice');
    assert.ok('auth_state' in adm.body);
    assert.deepEqual(validate(adm.body, responseSchema('/users/{name}', 'get', 200)), []);
  });
  it('self scopes: own user ok, other user 404, list 403', async () => {
    assert.equal((await call(hub, '/users/bob', { token: tokens.alice })).status, 404);
    assert.equal((await call(hub, '/users/bob', { token: tokens.alice })).body.message, 'No access to resources or resources not found');
    const l = await call(hub, '/users', { token: tokens.alice });
    assert.equal(l.status, 403);
    assert.equal(l.body.message, 'Action is not authorized with current scopes; requires any of [list:users]');
    assert.equal((await call(hub, '/users/nobody-here')).status, 404);
  });
  it('read:servers!server=bob/x never grants GET /users/bob (server filter is not a user filter)', async () => {
    assert.equal((await call(hub, '/users/bob', { token: tokens.sreader })).status, 404);
  });
  it('filtered list:users (!group=) returns members only, fields limited', async () => {
    let r = await call(hub, '/groups/physics', { method: 'POST', json: { users: ['alice', 'carol'] } });
    assert.equal(r.status, 201, r.text);
    r = await call(hub, '/users', { token: tokens.lister });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.map((u: { name: string }) => u.name).sort(), ['alice', 'carol']);
    for (const u of r.body) assert.deepEqual(Object.keys(u).sort(), ['admin', 'kind', 'name']);
    // a group-filtered read scope applies to members
    assert.equal((await call(hub, '/users/carol', { token: tokens.lister })).status, 200);
    // read:users:name is unfiltered in that role: any user's name (and only that) is readable
    const bob = await call(hub, '/users/bob', { token: tokens.lister });
    assert.equal(bob.status, 200);
    assert.deepEqual(Object.keys(bob.body).sort(), ['admin', 'kind', 'name']);
    // list:users with a !server filter is refused
    assert.equal((await call(hub, '/users', { token: tokens.badlister })).status, 403);
  });
  it('pagination envelope, next url, limits and bad values', async () => {
    const H = { Accept: 'application/jupyterhub-pagination+json' };
    const r = await call(hub, '/users?limit=2&sort=name&foo=bar', { headers: H });
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 2);
    assert.equal(r.body._pagination.limit, 2);
    assert.equal(r.body._pagination.offset, 0);
    const next = new URL(r.body._pagination.next.url);
    assert.equal(next.searchParams.get('offset'), '2');
    assert.equal(next.searchParams.get('foo'), 'bar');
    assert.deepEqual(validate(r.body, responseSchema('/users', 'get', 200, 'application/jupyterhub-pagination+json')), []);
    const total = r.body._pagination.total;
    const last = await call(hub, `/users?offset=${total - 1}&limit=5`, { headers: H });
    assert.equal(last.body.items.length, 1);
    assert.equal(last.body._pagination.next, null);
    const beyond = await call(hub, `/users?offset=${total + 10}`, { headers: H });
    assert.deepEqual(beyond.body.items, []);
    assert.equal((await call(hub, '/users?limit=0', { headers: H })).body._pagination.limit, 1);
    assert.equal((await call(hub, '/users?limit=100000', { headers: H })).body._pagination.limit, 200);
    assert.equal((await call(hub, '/users?limit=-3', { headers: H })).body._pagination.limit, 3);
    assert.equal((await call(hub, '/users', { headers: H })).body._pagination.limit, 50);
    for (const q of ['limit=abc', 'offset=1.5', 'offset=x']) {
      const b = await call(hub, `/users?${q}`);
      assert.equal(b.status, 400);
      assert.equal(b.body.message, 'Invalid argument type, offset and limit must be integers');
    }
    assert.ok(Array.isArray((await call(hub, '/users?limit=2')).body));
  });
  it('state, sort and name_filter', async () => {
    assert.equal((await call(hub, '/users?state=bogus')).body.message, "Unrecognized state filter: 'bogus'");
    assert.equal((await call(hub, '/users?sort=age')).status, 400);
    const inactive = await call(hub, '/users?state=inactive');
    assert.ok(inactive.body.length >= 3);
    assert.deepEqual((await call(hub, '/users?state=active')).body, []);
    assert.deepEqual((await call(hub, '/users?state=ready')).body, []);
    const f = await call(hub, '/users?name_filter=LIC');
    assert.deepEqual(f.body.map((u: { name: string }) => u.name), ['alice']);
    assert.deepEqual((await call(hub, '/users?name_filter=%25')).body, []);
    const desc = await call(hub, '/users?sort=-name');
    const names = desc.body.map((u: { name: string }) => u.name);
    assert.deepEqual(names, [...names].sort().reverse());
  });
  it('batch create: normalization, skip existing, 409, invalid names, unicode', async () => {
    const r = await call(hub, '/users', { method: 'POST', json: { usernames: ['Dave', 'alice', 'zoé-ü'] } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.map((u: { name: string }) => u.name), ['dave', 'zoé-ü']);
    assert.equal((await call(hub, `/users/${encodeURIComponent('zoé-ü')}`)).status, 200);
    const again = await call(hub, '/users', { method: 'POST', json: { usernames: ['dave', 'alice'] } });
    assert.equal(again.status, 409);
    assert.equal(again.body.message, 'All 2 users already exist');
  });
  it('bad input → 4xx and nothing changes', async () => {
    const before = await userCount();
    const cases: [RequestInit & { json?: unknown }, number, RegExp?][] = [
      [{ method: 'POST', body: '{not json', headers: { 'Content-Type': 'application/json' } }, 400, /Invalid JSON/],
      [{ method: 'POST', json: { usernames: [] } }, 400, /at least one user/],
      [{ method: 'POST', json: {} }, 400],
      [{ method: 'POST', json: [1, 2] }, 400],
      [{ method: 'POST', json: { usernames: ['ok1', 'a/b'] } }, 400, /Invalid username: a\/b/],
      [{ method: 'POST', json: { usernames: [' sp', 'x/y'] } }, 400, /Invalid usernames/],
      [{ method: 'POST', json: { usernames: [''] } }, 400],
      [{ method: 'POST', json: { usernames: ['ok2'], color: 'red' } }, 400, /Invalid JSON keys/],
      [{ method: 'POST', json: { usernames: ['ok3'], admin: 'yes' } }, 400, /user.admin must be/],
      [{ method: 'POST', json: { usernames: 'ok4' } }, 400],
      [{ method: 'POST', json: { usernames: [5] } }, 400],
    ];
    for (const [init, status, msg] of cases) {
      const r = await call(hub, '/users', init);
      assert.equal(r.status, status, `${JSON.stringify(init).slice(0, 200)} → ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(typeof r.body?.message, 'string');
      if (msg) assert.match(r.body.message, msg);
    }
    // huge body: the hub refuses it (413) before reading it all; through the proxy the connection may be cut (>= 400)
    const huge = JSON.stringify({ usernames: ['x'.repeat(11 * 1024 * 1024)] });
    const direct = await fetch(`${hub.hubUrl}/hub/api/users`, { method: 'POST', body: huge, headers: { 'Content-Type': 'application/json', Authorization: `token ${hub.adminToken}` } }).catch(() => null);
    if (direct) assert.equal(direct.status, 413);
    const proxied = await call(hub, '/users', { method: 'POST', body: huge, headers: { 'Content-Type': 'application/json' } }).catch(() => null);
    if (proxied) assert.ok(proxied.status >= 400);
    assert.equal((await call(hub, '/users/ok9', { method: 'PATCH', json: { admin: true } })).status, 404);
    assert.equal((await call(hub, '/users/alice', { method: 'PATCH', json: { admin: 'x' } })).status, 400);
    assert.equal((await call(hub, '/users/alice', { method: 'PATCH', json: { bogus: 1 } })).status, 400);
    assert.equal((await call(hub, '/users/alice', { method: 'PATCH', json: { name: 'bob' } })).status, 400);
    assert.equal(await userCount(), before);
    assert.equal((await call(hub, '/users/alice')).body.admin, false);
  });
  it('single create, PATCH rename/admin, DELETE', async () => {
    let r = await call(hub, '/users/Mixed-Case', { method: 'POST' });
    assert.equal(r.status, 201);
    assert.equal(r.body.name, 'Mixed-Case', 'POST /users/:name keeps the name as given');
    assert.equal((await call(hub, '/users/Mixed-Case', { method: 'POST' })).status, 409);
    r = await call(hub, '/users/Mixed-Case', { method: 'PATCH', json: { name: 'renamed', admin: true } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'renamed');
    assert.equal(r.body.admin, true);
    assert.ok(r.body.roles.includes('admin'));
    assert.ok('auth_state' in r.body);
    assert.equal((await call(hub, '/users/Mixed-Case')).status, 404);
    assert.equal((await call(hub, '/users/renamed', { method: 'DELETE' })).status, 204);
    assert.equal((await call(hub, '/users/renamed')).status, 404);
    assert.equal((await call(hub, '/users/admin', { method: 'DELETE' })).body.message, 'Cannot delete yourself!');
    // alice holds no delete:users at all → 403 (not 404)
    assert.equal((await call(hub, '/users/bob', { method: 'DELETE', token: tokens.alice })).status, 403);
  });
  it('admin:users cannot grant admin', async () => {
    const t = tokens.manager;
    let r = await call(hub, '/users', { method: 'POST', token: t, json: { usernames: ['mgr-made'], admin: true } });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'Only admins can grant admin permissions');
    r = await call(hub, '/users', { method: 'POST', token: t, json: { usernames: ['mgr-made'] } });
    assert.equal(r.status, 201);
    assert.equal((await call(hub, '/users/mgr-made', { method: 'PATCH', token: t, json: { admin: true } })).status, 403);
    assert.equal((await call(hub, '/users/admin', { method: 'PATCH', token: t, json: { name: 'x2' } })).body.message, 'Only admins can modify other admins');
    assert.equal((await call(hub, '/users/mgr-made2', { method: 'POST', token: t, json: { admin: true } })).status, 403);
    assert.equal((await call(hub, '/users/mgr-made')).body.admin, false);
    assert.equal((await call(hub, '/users/mgr-made2')).status, 404);
  });
  it('activity', async () => {
    const now = new Date().toISOString();
    let r = await call(hub, '/users/bob/activity', { method: 'POST', token: tokens.bob, json: { last_activity: now } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/json');
    const la = (await call(hub, '/users/bob')).body.last_activity;
    assert.ok(la && Date.parse(la) >= Date.parse(now) - 1);
    r = await call(hub, '/users/bob/activity', { method: 'POST', json: { last_activity: new Date(Date.now() + 3 * 3600e3).toISOString() } });
    assert.equal(r.status, 400);
    assert.equal((await call(hub, '/users/bob/activity', { method: 'POST', json: { last_activity: 'yesterday-ish' } })).status, 400);
    assert.equal((await call(hub, '/users/bob/activity', { method: 'POST', json: {} })).status, 400);
    assert.equal((await call(hub, '/users/bob/activity', { method: 'POST', json: [] })).body.message, 'body must be a json dict');
    assert.equal((await call(hub, '/users/bob/activity', { method: 'POST', json: { servers: { nope: { last_activity: now } } } })).body.message, "No such server 'nope' for user bob");
    assert.equal((await call(hub, '/users/bob/activity', { method: 'POST', token: tokens.alice, json: { last_activity: now } })).status, 404);
    assert.equal((await call(hub, '/users/ghost/activity', { method: 'POST', json: { last_activity: now } })).status, 404);
  });
  it('server start/stop/progress exist and refuse correctly', async () => {
    for (const [m, p] of [
      ['POST', '/users/bob/server'],
      ['DELETE', '/users/bob/server'],
      ['POST', '/users/bob/servers/x'],
      ['DELETE', '/users/bob/servers/x'],
      ['GET', '/users/bob/server/progress'],
    ]) {
      assert.equal((await call(hub, p, { method: m, token: null })).status, 403, `${m} ${p} anon`);
      assert.equal((await call(hub, p, { method: m, token: tokens.alice })).status, 404, `${m} ${p} other user`);
      assert.equal((await call(hub, p.replace('bob', 'ghost'), { method: m })).status, 404, `${m} ${p} unknown user`);
    }
  });
});

describe('tokens', () => {
  it('create/list/get/delete with scopes, expiry, notes', async () => {
    let r = await call(hub, '/users/bob/tokens', { method: 'POST', token: tokens.bob, json: { note: 'mine', expires_in: 3600, scopes: ['read:users!user=bob'] } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(validate(r.body, responseSchema('/users/{name}/tokens', 'post', 201)), []);
    assert.ok(r.body.expires_at);
    assert.equal(r.body.note, 'mine');
    const id = r.body.id;
    const t = r.body.token;
    const who = await call(hub, '/user', { token: t });
    assert.deepEqual(new Set(who.body.scopes), new Set(['read:users!user=bob', 'read:users:name!user=bob', 'read:users:groups!user=bob', 'read:users:activity!user=bob']));
    assert.equal((await call(hub, '/users/bob/tokens', { token: t })).status, 403, 'read:users does not give read:tokens');
    const list = await call(hub, '/users/bob/tokens', { token: tokens.bob });
    assert.equal(list.status, 200);
    assert.ok(list.body.api_tokens.some((x: { id: string }) => x.id === id));
    assert.deepEqual(validate(list.body, responseSchema('/users/{name}/tokens', 'get', 200)), []);
    assert.equal((await call(hub, `/users/bob/tokens/${id}`, { token: tokens.bob })).status, 200);
    assert.equal((await call(hub, `/users/alice/tokens/${id}`)).status, 404);
    assert.equal((await call(hub, `/users/bob/tokens/zzz`)).body.message, 'No such token zzz for user bob');
    assert.equal((await call(hub, `/users/bob/tokens/${id}`, { method: 'DELETE', token: tokens.bob })).status, 204);
    assert.equal((await call(hub, '/user', { token: t })).status, 403);
    const byAdmin = await call(hub, '/users/bob/tokens', { method: 'POST', json: {} });
    assert.equal(byAdmin.body.note, 'Requested via api by user admin');
  });
  it('refusals: scopes not held, unknown scope, bad expires_in, both roles and scopes, other user', async () => {
    const cases: [unknown, RegExp][] = [
      [{ scopes: ['admin:users'] }, /Not assigning requested scopes .* not held by User bob/],
      [{ scopes: ['read:users!user=alice'] }, /not held by User bob/],
      [{ scopes: ['nope:nope'] }, /"Scope 'nope:nope' for token does not exist"/],
      [{ scopes: ['all'] }, /inherit/],
      [{ expires_in: -5 }, /expires_in must be a positive integer or null, not -5/],
      [{ expires_in: 'soon' }, /expires_in must be null or integer/],
      [{ scopes: 'read:users' }, /must be null or a list of strings/],
      [{ roles: ['no-such-role'] }, /No such role: no-such-role/],
    ];
    for (const [body, msg] of cases) {
      const r = await call(hub, '/users/bob/tokens', { method: 'POST', token: tokens.bob, json: body });
      assert.equal(r.status, 400, JSON.stringify(body) + ' ' + r.text);
      assert.match(r.body.message, msg);
    }
    const other = await call(hub, '/users/alice/tokens', { method: 'POST', token: tokens.bob, json: {} });
    assert.equal(other.status, 403);
    assert.equal(other.body.message, 'User alice not found or no permissions to generate tokens');
    assert.equal((await call(hub, '/users/bob/tokens', { method: 'POST', token: tokens.bob, body: 'nope', headers: { 'Content-Type': 'text/plain' } })).status, 400);
    assert.equal((await call(hub, '/users/bob/tokens', { method: 'POST', token: null, json: {} })).status, 403);
    const role = await call(hub, '/users/bob/tokens', { method: 'POST', token: tokens.bob, json: { roles: ['user'] } });
    assert.equal(role.status, 201);
    assert.ok(role.body.scopes.includes('servers!user=bob'));
  });
  it('token scopes are intersected with the owner current scopes', async () => {
    await call(hub, '/users', { method: 'POST', json: { usernames: ['temp-admin'], admin: true } });
    const t = await tokenFor('temp-admin', { scopes: ['read:users', 'read:hub'] });
    assert.equal((await call(hub, '/users/alice', { token: t })).status, 200);
    assert.equal((await call(hub, '/info', { token: t })).status, 200);
    assert.equal((await call(hub, '/users/temp-admin', { method: 'PATCH', json: { admin: false } })).status, 200);
    const who = await call(hub, '/user', { token: t });
    assert.deepEqual(new Set(who.body.scopes), new Set(['read:users!user=temp-admin', 'read:users:name!user=temp-admin', 'read:users:groups!user=temp-admin', 'read:users:activity!user=temp-admin']));
    assert.equal((await call(hub, '/users/alice', { token: t })).status, 404);
    assert.equal((await call(hub, '/info', { token: t })).status, 403);
  });
});

describe('groups', () => {
  it('CRUD, membership, properties, errors', async () => {
    let r = await call(hub, '/groups', { method: 'POST', json: { groups: ['g-a', 'g-b'], users: ['bob'] } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.map((g: { users: string[] }) => g.users), [['bob'], ['bob']]);
    assert.equal((await call(hub, '/groups', { method: 'POST', json: { groups: ['g-a'] } })).status, 409);
    assert.equal((await call(hub, '/groups', { method: 'POST', json: { groups: ['g-c'], users: ['ghost'] } })).body.message, 'No such user: ghost');
    assert.equal((await call(hub, '/groups/g-c')).status, 404);
    r = await call(hub, '/groups/g-a/users', { method: 'POST', json: { users: ['Alice'] } });
    assert.deepEqual(r.body.users.sort(), ['alice', 'bob']);
    r = await call(hub, '/groups/g-a/users', { method: 'DELETE', json: { users: ['bob'] } });
    assert.deepEqual(r.body.users, ['alice']);
    assert.equal((await call(hub, '/groups/g-a/users', { method: 'POST', json: {} })).body.message, 'Must specify users to add');
    r = await call(hub, '/groups/g-a/properties', { method: 'PUT', json: { course: 'x', n: 1 } });
    assert.deepEqual(r.body.properties, { course: 'x', n: 1 });
    assert.equal((await call(hub, '/groups/g-a/properties', { method: 'PUT', json: [1] })).body.message, 'Must specify properties');
    assert.deepEqual(validate(r.body, responseSchema('/groups/{name}', 'get', 200)), []);
    const bob = await call(hub, '/users/bob');
    assert.deepEqual(bob.body.groups, ['g-b']);
    assert.equal((await call(hub, '/groups/g-b', { method: 'DELETE' })).status, 204);
    assert.equal((await call(hub, '/groups/g-b')).status, 404);
    const list = await call(hub, '/groups?limit=1', { headers: { Accept: 'application/jupyterhub-pagination+json' } });
    assert.equal(list.body.items.length, 1);
    assert.ok(list.body._pagination.total >= 2);
  });
  it('group-filtered scopes: own group readable, other 404, list restricted', async () => {
    const t = tokens.glead;
    assert.equal((await call(hub, '/groups/physics', { token: t })).status, 200);
    assert.equal((await call(hub, '/groups/g-a', { token: t })).status, 404);
    const l = await call(hub, '/groups', { token: t });
    assert.deepEqual(l.body.map((g: { name: string }) => g.name), ['physics']);
    assert.equal((await call(hub, '/groups/physics', { method: 'DELETE', token: t })).status, 403);
    assert.equal((await call(hub, '/groups', { token: tokens.alice })).status, 403);
  });
});

describe('services, proxy, metrics, shares', () => {
  it('services is a dict', async () => {
    const r = await call(hub, '/services');
    assert.equal(r.status, 200);
    assert.ok(!Array.isArray(r.body) && typeof r.body === 'object');
    assert.equal((await call(hub, '/services/nope')).status, 404);
    assert.equal((await call(hub, '/services', { token: tokens.alice })).status, 403);
  });
  it('proxy table, reconcile, scope', async () => {
    const r = await call(hub, '/proxy');
    assert.equal(r.status, 200);
    assert.ok(r.body['/']);
    assert.equal((await call(hub, '/proxy', { method: 'POST' })).status, 200);
    assert.equal((await call(hub, '/proxy', { token: tokens.alice })).status, 403);
    assert.equal((await call(hub, '/proxy', { method: 'PATCH', json: [] })).status, 400);
    const p = await call(hub, '/proxy', { headers: { Accept: 'application/jupyterhub-pagination+json' } });
    assert.equal(p.body._pagination.total, Object.keys(p.body.items).length);
  });
  it('metrics need read:metrics; names and labels as JupyterHub', async () => {
    assert.equal((await fetch(`${hub.url}/hub/metrics`)).status, 403);
    assert.equal((await fetch(`${hub.url}/hub/metrics`, { headers: { Authorization: `token ${tokens.alice}` } })).status, 403);
    const r = await fetch(`${hub.url}/hub/metrics`, { headers: { Authorization: `token ${tokens.prom}` } });
    assert.equal(r.status, 200);
    const text = await r.text();
    for (const m of ['jupyterhub_total_users', 'jupyterhub_running_servers', 'jupyterhub_active_users{period="24h"}', 'process_resident_memory_bytes'])
      assert.ok(text.includes(m), m);
    assert.match(text, /jupyterhub_server_spawn_duration_seconds_bucket\{(le="0.5",status="already-pending"|status="already-pending",le="0.5")\} 0/);
    assert.match(text, /jupyterhub_request_duration_seconds_count\{method="GET",handler="jupyterhub.apihandlers.users.UserAPIHandler",code="200"\}/);
    assert.equal((await fetch(`${hub.url}/hub/api/metrics`, { headers: { Authorization: `token ${tokens.prom}` } })).status, 200);
  });
  it('shares: grant, list, access scopes for the recipient, revoke', async () => {
    const db = sqlite();
    const aliceId = (db.prepare('select id from users where name = ?').get('alice') as { id: number }).id;
    db.prepare("insert into spawners (user_id, name, state, user_options) values (?, '', '{}', '{}')").run(aliceId);
    db.close();
    let r = await call(hub, '/shares/alice/', { method: 'POST', token: tokens.alice, json: { user: 'carol' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.scopes, ['access:servers!server=alice/']);
    assert.equal(r.body.kind, 'user');
    r = await call(hub, '/user', { token: tokens.carol });
    assert.ok(r.body.scopes.includes('access:servers!server=alice/'));
    r = await call(hub, '/shares/alice', { token: tokens.alice });
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 1);
    assert.equal((await call(hub, '/shares/alice', { token: tokens.bob })).status, 404);
    assert.equal((await call(hub, '/shares/alice/', { method: 'POST', token: tokens.alice, json: { user: 'carol', color: 1 } })).status, 400);
    assert.equal((await call(hub, '/shares/alice/', { method: 'POST', token: tokens.alice, json: { user: 'bob' } })).status, 403, 'needs read:users:name on the recipient');
    assert.equal((await call(hub, '/shares/alice/', { method: 'POST', json: { user: 'ghost' } })).status, 400);
    assert.equal((await call(hub, '/shares/alice/', { method: 'POST', token: tokens.alice, json: { user: 'carol', scopes: ['admin:users'] } })).status, 403);
    r = await call(hub, '/users/carol/shared', { token: tokens.carol });
    assert.equal(r.body.items.length, 1);
    r = await call(hub, '/share-codes/alice/', { method: 'POST', token: tokens.alice, json: {} });
    assert.equal(r.status, 200);
    assert.ok(r.body.code && r.body.accept_url.includes(r.body.code));
    assert.equal((await call(hub, '/share-codes/alice', { token: tokens.alice })).body.items.length, 1);
    assert.equal((await call(hub, `/share-codes/alice/?code=${r.body.code}`, { method: 'DELETE', token: tokens.alice })).status, 204);
    r = await call(hub, '/shares/alice/', { method: 'PATCH', token: tokens.alice, json: { user: 'carol' } });
    assert.deepEqual(r.body, {});
    r = await call(hub, '/user', { token: tokens.carol });
    assert.ok(!r.body.scopes.includes('access:servers!server=alice/'));
  });
});
