/**
 * Authenticator-managed roles and groups (rbac.md §8.3) on a real hub: a Python config
 * subclass whose `authenticate` returns roles and groups and whose `load_managed_roles`
 * gives start-up roles; logins through the login form; effects checked through the REST API
 * (`roles`/`groups` fields, and what a token of the user may do) and in the database.
 * Also: load_roles assigning users with manage_roles, reset_managed_roles_on_startup.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, startHub, type RunningHub } from '../helpers/hub.js';
import { CookieClient, xsrfFrom } from './client.js';

async function login(hub: RunningHub, username: string, password: string) {
  const client = new CookieClient();
  const page = await client.get(`${hub.url}/hub/login`);
  const xsrf = xsrfFrom(await page.text());
  const res = await client.postForm(`${hub.url}/hub/login`, { username, password, _xsrf: xsrf });
  return { status: res.status, body: res.status === 302 ? '' : await res.text() };
}

async function userModel(hub: RunningHub, name: string): Promise<{ roles: string[]; groups: string[]; admin: boolean }> {
  const r = await hub.apiFetch(`/users/${name}`);
  assert.equal(r.status, 200, `GET /users/${name}`);
  return (await r.json()) as { roles: string[]; groups: string[]; admin: boolean };
}
const sorted = (a: string[]) => [...a].sort();

function dbRoles(hub: RunningHub): Map<string, { managed: number; description: string | null; scopes: string[] }> {
  const db = new Database(path.join(hub.dir, 'jupyterhub.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('select name, managed_by_auth, description, scopes from roles').all() as { name: string; managed_by_auth: number; description: string | null; scopes: string }[];
    return new Map(rows.map((r) => [r.name, { managed: r.managed_by_auth, description: r.description, scopes: JSON.parse(r.scopes) as string[] }]));
  } finally {
    db.close();
  }
}

async function startupError(opts: Parameters<typeof startHub>[0], re: RegExp): Promise<string> {
  let msg = '';
  await assert.rejects(startHub(opts), (e: Error) => {
    msg = e.message;
    assert.match(e.message, /exited with 1 during start-up/);
    assert.match(e.message, re);
    return true;
  });
  return msg;
}

const CONFIG_PY = `
from jupyterhub.auth import DummyAuthenticator

# what the "identity provider" says, chosen by the password field
ROLESETS = {
    'reader-and-user': [
        {'name': 'reader', 'description': 'may list and read users', 'scopes': ['list:users', 'read:users']},
        {'name': 'user'},
    ],
    'reader': [{'name': 'reader'}],
    'none': [],
    'temp': [{'name': 'temp-role', 'scopes': ['read:hub']}, {'name': 'config-role'}],
    'bad-name': [{'name': 'Bad Name!'}],
    'bad-scope': [{'name': 'brand-new', 'scopes': ['no:such:scope']}],
    'admin-override': [{'name': 'admin', 'scopes': ['read:hub']}],
}
GROUPS = {'reader-and-user': ['staff', 'readers']}


class RolesAuthenticator(DummyAuthenticator):
    async def authenticate(self, handler, data):
        key = data.get('password') or 'none'
        model = {'name': data['username'], 'groups': GROUPS.get(key, [])}
        if key != 'no-roles':
            model['roles'] = ROLESETS[key]
        return model

    async def load_managed_roles(self):
        return [
            {'name': 'startup-role', 'description': 'from load_managed_roles', 'scopes': ['read:hub'],
             'users': ['frank'], 'groups': ['startup-group']},
        ]


c.JupyterHub.authenticator_class = RolesAuthenticator
c.Authenticator.manage_roles = True
c.Authenticator.manage_groups = True
c.JupyterHub.load_roles = [{'name': 'config-role', 'description': 'defined in load_roles', 'scopes': ['read:hub']}]
`;

describe('manage_roles with a Python authenticator subclass', () => {
  let hub: RunningHub;
  let aliceToken = '';
  before(async () => {
    hub = await startHub({ configPy: CONFIG_PY });
  });
  after(async () => {
    await hub?.cleanup();
  });

  test('load_managed_roles(): roles created at start-up, marked managed, with their members', async () => {
    const roles = dbRoles(hub);
    assert.equal(roles.get('startup-role')?.managed, 1);
    assert.equal(roles.get('startup-role')?.description, 'from load_managed_roles');
    assert.equal(roles.get('config-role')?.managed, 0);
    assert.equal(roles.get('user')?.managed, 0);
    // frank did not exist: created, holds the role next to the default one
    assert.deepEqual(sorted((await userModel(hub, 'frank')).roles), ['startup-role', 'user']);
    const g = await hub.apiFetch('/groups/startup-group');
    assert.equal(g.status, 200);
    assert.deepEqual(((await g.json()) as { roles: string[] }).roles, ['startup-role']);
  });

  test('login with roles: roles created as managed, the user holds exactly them; groups synced', async () => {
    const r = await login(hub, 'alice', 'reader-and-user');
    assert.equal(r.status, 302, r.body);
    const m = await userModel(hub, 'alice');
    assert.deepEqual(sorted(m.roles), ['reader', 'user']);
    assert.deepEqual(sorted(m.groups), ['readers', 'staff']);
    const reader = dbRoles(hub).get('reader')!;
    assert.equal(reader.managed, 1);
    assert.equal(reader.description, 'may list and read users');
    assert.deepEqual(reader.scopes, ['list:users', 'read:users']);
    const db = new Database(path.join(hub.dir, 'jupyterhub.sqlite'), { readonly: true });
    try {
      const rows = db
        .prepare('select r.name, m.managed_by_auth from user_role_map m join roles r on r.id = m.role_id join users u on u.id = m.user_id where u.name = ?')
        .all('alice') as { name: string; managed_by_auth: number }[];
      // 'reader' was granted by the authenticator; 'user' was the default role already
      assert.deepEqual(Object.fromEntries(rows.map((x) => [x.name, x.managed_by_auth])), { reader: 1, user: 0 });
    } finally {
      db.close();
    }
    // a token of alice (inherits her permissions at each use)
    const t = await hub.apiFetch('/users/alice/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(t.status, 201);
    aliceToken = ((await t.json()) as { token: string }).token;
    assert.equal((await hub.apiFetch('/users', { token: aliceToken })).status, 200, 'reader: list:users');
    assert.equal((await hub.apiFetch('/users/alice/tokens', { token: aliceToken })).status, 200, "user role ('self'): own tokens");
  });

  test('next login without the default role: it is stripped, and so are its permissions', async () => {
    const r = await login(hub, 'alice', 'reader');
    assert.equal(r.status, 302, r.body);
    const m = await userModel(hub, 'alice');
    assert.deepEqual(m.roles, ['reader']);
    assert.deepEqual(m.groups, [], 'manage_groups: no groups in the model → none');
    assert.equal((await hub.apiFetch('/users', { token: aliceToken })).status, 200, 'still a reader');
    assert.equal((await hub.apiFetch('/users/alice/tokens', { token: aliceToken })).status, 403, "no 'self' any more");
    // an existing role given by name only keeps its description and scopes
    assert.deepEqual(dbRoles(hub).get('reader')!.scopes, ['list:users', 'read:users']);
  });

  test('login with no roles: all stripped; a managed role nobody holds is deleted', async () => {
    const r = await login(hub, 'alice', 'none');
    assert.equal(r.status, 302, r.body);
    assert.deepEqual((await userModel(hub, 'alice')).roles, []);
    assert.equal((await hub.apiFetch('/users', { token: aliceToken })).status, 403);
    assert.ok(!dbRoles(hub).has('reader'), 'reader deleted');
    // roles of the configuration stay (startup-role still has frank anyway)
    assert.ok(dbRoles(hub).has('startup-role'));
  });

  test('a managed role left without members is deleted, a load_roles role is kept', async () => {
    assert.equal((await login(hub, 'carol', 'temp')).status, 302);
    assert.deepEqual(sorted((await userModel(hub, 'carol')).roles), ['config-role', 'temp-role']);
    assert.equal(dbRoles(hub).get('config-role')!.managed, 0, 'an existing role stays unmanaged');
    assert.equal((await login(hub, 'carol', 'none')).status, 302);
    assert.deepEqual((await userModel(hub, 'carol')).roles, []);
    const roles = dbRoles(hub);
    assert.ok(!roles.has('temp-role'));
    assert.ok(roles.has('config-role'));
    assert.equal(roles.get('config-role')!.description, 'defined in load_roles');
  });

  test('no roles in the auth model: roles left as they are (default role granted)', async () => {
    assert.equal((await login(hub, 'bob', 'no-roles')).status, 302);
    assert.deepEqual((await userModel(hub, 'bob')).roles, ['user']);
  });

  test('invalid role definitions make the login fail with 409, nothing is created', async () => {
    let r = await login(hub, 'dave', 'bad-name');
    assert.equal(r.status, 409);
    assert.match(r.body, /Invalid role name/);
    r = await login(hub, 'erin', 'bad-scope');
    assert.equal(r.status, 409);
    assert.match(r.body, /no:such:scope/);
    assert.ok(!dbRoles(hub).has('brand-new'));
    r = await login(hub, 'erin', 'admin-override');
    assert.equal(r.status, 409);
    assert.match(r.body, /Cannot override admin role/);
    assert.deepEqual(dbRoles(hub).get('admin')!.scopes.includes('read:hub'), true);
    assert.ok(dbRoles(hub).get('admin')!.scopes.includes('admin:users'), 'admin role unchanged');
    // the hub still works
    assert.equal((await login(hub, 'erin', 'none')).status, 302);
  });
});

describe('manage_roles with a JS config: a subclass of a jhub authenticator', () => {
  let hub: RunningHub;
  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-test-jsroles-'));
    const simple = path.join(ROOT, 'dist', 'src', 'auth', 'simple.js');
    fs.writeFileSync(
      path.join(dir, 'jupyterhub_config.mjs'),
      [
        `import { DummyAuthenticator } from ${JSON.stringify(simple)};`,
        'class TeamAuthenticator extends DummyAuthenticator {',
        '  async authenticate(handler, data) {',
        "    return { name: data.username, roles: [{ name: `team-${data.password}`, scopes: ['read:hub'] }] };",
        '  }',
        '  async loadManagedRoles() {',
        "    return [{ name: 'js-startup', scopes: ['read:hub'], users: ['gina'] }];",
        '  }',
        '}',
        'export default (c) => {',
        '  c.JupyterHub.authenticator_class = TeamAuthenticator;',
        '  c.Authenticator.manage_roles = true;',
        '};',
        '',
      ].join('\n'),
    );
    // the JSON written next to it (loaded after it) must not name another authenticator
    hub = await startHub({ dir, configPy: '', config: { JupyterHub: { authenticator_class: undefined } }, args: ['-f', path.join(dir, 'jupyterhub_config.mjs')] });
  });
  after(async () => {
    await hub?.cleanup();
  });

  test('loadManagedRoles() at start-up, roles from authenticate() at login', async () => {
    assert.deepEqual(sorted((await userModel(hub, 'gina')).roles), ['js-startup', 'user']);
    assert.equal((await login(hub, 'hal', 'blue')).status, 302);
    assert.deepEqual((await userModel(hub, 'hal')).roles, ['team-blue']);
    assert.equal((await login(hub, 'hal', 'red')).status, 302);
    assert.deepEqual((await userModel(hub, 'hal')).roles, ['team-red']);
    const roles = dbRoles(hub);
    assert.ok(!roles.has('team-blue'), 'no longer held: deleted');
    assert.equal(roles.get('team-red')?.managed, 1);
  });
});

describe('manage_roles start-up checks', () => {
  test('load_roles assigning users or groups: start-up fails naming the role', async () => {
    await startupError(
      {
        config: {
          Authenticator: { manage_roles: true },
          JupyterHub: { load_roles: [{ name: 'fine-role', scopes: ['read:hub'] }, { name: 'reader', scopes: ['read:users'], users: ['alice'] }, { name: 'grouped', scopes: ['read:hub'], groups: ['g'] }] },
        },
      },
      /Authenticator\.manage_roles[\s\S]*Offending roles: reader, grouped/,
    );
  });

  test('reset_managed_roles_on_startup without load_managed_roles(): start-up fails', async () => {
    await startupError({ config: { Authenticator: { manage_roles: true, reset_managed_roles_on_startup: true } } }, /reset_managed_roles_on_startup[\s\S]*load_managed_roles\(\)/);
  });
});

describe('reset_managed_roles_on_startup across restarts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-test-reset-'));
  const configPy = `
import json, os
from jupyterhub.auth import DummyAuthenticator


class FileRoles(DummyAuthenticator):
    async def authenticate(self, handler, data):
        with open('login-roles.json') as f:
            return {'name': data['username'], 'roles': json.load(f)}

    async def load_managed_roles(self):
        with open('managed.json') as f:
            return json.load(f)


c.JupyterHub.authenticator_class = FileRoles
c.Authenticator.manage_roles = True
c.Authenticator.reset_managed_roles_on_startup = os.environ.get('RESET_ROLES') == '1'
`;
  const write = (name: string, v: unknown) => fs.writeFileSync(path.join(dir, name), JSON.stringify(v));
  let hub: RunningHub | undefined;
  after(async () => {
    await hub?.cleanup();
  });

  test('without reset managed roles survive restarts; with reset only what load_managed_roles() gives remains', async () => {
    write('managed.json', [
      { name: 'keep-role', scopes: ['read:hub'], users: ['frank'] },
      { name: 'shared-role', scopes: ['read:hub'] },
    ]);
    write('login-roles.json', [{ name: 'login-role', scopes: ['read:hub'] }, { name: 'shared-role' }, { name: 'server' }]);
    hub = await startHub({ dir, configPy, env: { RESET_ROLES: '0' } });
    assert.equal((await login(hub, 'alice', 'x')).status, 302);
    assert.deepEqual(sorted((await userModel(hub, 'alice')).roles), ['login-role', 'server', 'shared-role']);
    assert.deepEqual(sorted((await userModel(hub, 'frank')).roles), ['keep-role', 'user']);
    assert.equal(await hub.stop(), 0);

    // keep-role no longer given, no reset: everything stays
    write('managed.json', [{ name: 'shared-role', scopes: ['read:hub'] }]);
    hub = await startHub({ dir, configPy, env: { RESET_ROLES: '0' } });
    assert.deepEqual(sorted((await userModel(hub, 'alice')).roles), ['login-role', 'server', 'shared-role']);
    assert.deepEqual(sorted((await userModel(hub, 'frank')).roles), ['keep-role', 'user']);
    assert.ok(dbRoles(hub).has('keep-role'));
    assert.equal(await hub.stop(), 0);

    // reset: stale managed roles (keep-role, login-role) and the managed assignment of the
    // default 'server' role go; shared-role (listed, without a users list) keeps alice
    hub = await startHub({ dir, configPy, env: { RESET_ROLES: '1' } });
    assert.deepEqual((await userModel(hub, 'alice')).roles, ['shared-role']);
    assert.deepEqual((await userModel(hub, 'frank')).roles, ['user']);
    const roles = dbRoles(hub);
    assert.ok(!roles.has('keep-role'));
    assert.ok(!roles.has('login-role'));
    assert.ok(roles.has('server'), 'default roles are never deleted');
    assert.match(hub.output(), /Deleted 2 stale role\(s\) previously added by the authenticator/);
    assert.equal(await hub.stop(), 0);
  });
});
