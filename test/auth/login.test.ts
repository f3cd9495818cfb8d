/**
 * Login/logout pages with the Dummy and SharedPassword authenticators on a real hub:
 * next-URL safety, XSRF, rate limits, logout, allow rules, start-up refusals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { JHUB_BIN, ROOT, VENV_BIN, startHub, type RunningHub } from '../helpers/hub.js';
import { CookieClient, xsrfFrom } from './client.js';
import { hashToken } from '../../src/util/crypto.js';

async function login(hub: RunningHub, username: string, password = 'x', next?: string, client = new CookieClient()) {
  const page = await client.get(`${hub.url}/hub/login`);
  const xsrf = xsrfFrom(await page.text());
  const q = next === undefined ? '' : `?next=${encodeURIComponent(next)}`;
  const res = await client.postForm(`${hub.url}/hub/login${q}`, { username, password, _xsrf: xsrf });
  return { res, client, body: res.status === 302 ? '' : await res.text() };
}

function dbUser(hub: RunningHub, name: string): { admin: number; id: number } | undefined {
  const db = new Database(path.join(hub.dir, 'jupyterhub.sqlite'), { readonly: true });
  try {
    return db.prepare('select id, admin from users where name = ?').get(name) as { admin: number; id: number } | undefined;
  } finally {
    db.close();
  }
}

describe('login with DummyAuthenticator', () => {
  let hub: RunningHub;
  before(async () => {
    hub = await startHub({
      config: {
        Authenticator: { admin_users: ['admin', 'Root-User'], username_map: { 'carol@example.org': 'carol' }, blocked_users: ['mallory'], username_pattern: '^[a-z0-9@._-]+$' },
        JupyterHub: { redirect_to_server: false },
      },
      env: { JHUB_LOGIN_FAILURES_PER_USER: '3' },
    });
  });
  after(async () => {
    await hub?.stop();
  });

  test('GET {hub} anonymous goes to the login page with next', async () => {
    const r = await fetch(`${hub.url}/hub/`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/hub/login?next=%2Fhub%2F');
  });

  test('login page has a form with _xsrf and sets no login cookie', async () => {
    const r = await fetch(`${hub.url}/hub/login`);
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.match(html, /name="username"/);
    assert.match(html, /name="password"/);
    assert.match(html, /name="_xsrf"/);
    assert.ok(!r.headers.getSetCookie().some((c) => c.startsWith('jupyterhub-hub-login=')));
  });

  test('successful login sets cookies and redirects to a safe next', async () => {
    const { res, client } = await login(hub, 'alice', 'x', '/hub/token');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/token');
    assert.ok(client.jar.has('jupyterhub-hub-login'));
    assert.match(client.jar.get('jupyterhub-session-id')!, /^[0-9a-f]{32}$/);
    const loginCookie = res.headers.getSetCookie().find((c) => c.startsWith('jupyterhub-hub-login='))!;
    assert.match(loginCookie, /HttpOnly/i);
    assert.match(loginCookie, /Path=\/hub\//);
    // logged in: GET login redirects, GET {hub} goes home (redirect_to_server = False)
    const again = await client.get(`${hub.url}/hub/login`);
    assert.equal(again.status, 302);
    assert.equal(again.headers.get('location'), '/hub/home');
    const root = await client.get(`${hub.url}/hub/`);
    assert.equal(root.headers.get('location'), '/hub/home');
  });

  for (const evil of ['//evil.com', '/\\evil.com', '%2F%2Fevil.com', 'https://evil.com', 'javascript:alert(1)', '///evil.com/x', 'http:evil.com', '/\t/evil.com', 'HTTPS://evil.com/']) {
    test(`next=${JSON.stringify(evil)} never leaves the site`, async () => {
      const { res } = await login(hub, 'bob', 'x', evil);
      assert.equal(res.status, 302);
      const loc = res.headers.get('location')!;
      const target = new URL(loc, hub.url);
      assert.equal(target.origin, hub.url, `redirected off-site to ${loc}`);
      assert.ok(loc.startsWith('/') && !loc.startsWith('//'), loc);
      assert.ok(!/evil\.com/.test(loc) || loc.startsWith('/%5Cevil.com'), loc);
    });
  }

  test('absolute next on our own host is reduced to its path', async () => {
    const { res } = await login(hub, 'bob', 'x', `${hub.url}/hub/token?a=1`);
    assert.equal(res.headers.get('location'), '/hub/token?a=1');
  });

  test('login POST without or with a wrong _xsrf is refused with 403', async () => {
    const c = new CookieClient();
    await c.get(`${hub.url}/hub/login`);
    const none = await c.postForm(`${hub.url}/hub/login`, { username: 'eve', password: 'x' });
    assert.equal(none.status, 403);
    assert.match(await none.text(), /Login form invalid or expired/);
    const wrong = await c.postForm(`${hub.url}/hub/login`, { username: 'eve', password: 'x', _xsrf: 'AAAA' + 'b'.repeat(40) });
    assert.equal(wrong.status, 403);
    assert.ok(!c.jar.has('jupyterhub-hub-login'));
    assert.equal(dbUser(hub, 'eve'), undefined);
  });

  test('admin_users are created at start-up, normalized, and become admin', async () => {
    assert.equal(dbUser(hub, 'root-user')?.admin, 1);
    assert.equal(dbUser(hub, 'Root-User'), undefined);
    const { res } = await login(hub, 'ROOT-USER');
    assert.equal(res.status, 302);
    assert.equal(dbUser(hub, 'root-user')?.admin, 1);
  });

  test('username_map, blocked_users and username_pattern', async () => {
    const { res } = await login(hub, 'Carol@Example.org');
    assert.equal(res.status, 302);
    assert.ok(dbUser(hub, 'carol'));
    const blocked = await login(hub, 'mallory');
    assert.equal(blocked.res.status, 403);
    assert.match(blocked.body, /Invalid username or password/);
    const bad = await login(hub, 'no spaces allowed');
    assert.equal(bad.res.status, 403);
  });

  test('failed logins are rate limited per user name (429), and logged without passwords', async () => {
    // mallory is blocked: every attempt fails
    const c = new CookieClient();
    let last: Awaited<ReturnType<typeof login>> | null = null;
    for (let i = 0; i < 4; i++) last = await login(hub, 'Mallory', 'hunter2-secret', undefined, c);
    assert.equal(last!.res.status, 429);
    assert.ok(Number(last!.res.headers.get('retry-after')) > 0);
    assert.match(last!.body, /Too many failed login attempts/);
    assert.match(hub.output(), /Failed login for 'Mallory'/);
    assert.doesNotMatch(hub.output(), /hunter2-secret/);
    // another user from the same address is not affected
    const ok = await login(hub, 'dave');
    assert.equal(ok.res.status, 302);
  });

  test('long user names are truncated in the log', async () => {
    const long = 'x'.repeat(200) + '!';
    const r = await login(hub, long);
    assert.equal(r.res.status, 403);
    assert.match(hub.output(), /Failed login for 'x{16}\.\.\.\(201 chars\)'/);
  });

  test('logout clears cookies and deletes the tokens of the session only', async () => {
    const { client } = await login(hub, 'frank');
    const sid = client.jar.get('jupyterhub-session-id')!;
    const user = dbUser(hub, 'frank')!;
    const db = new Database(path.join(hub.dir, 'jupyterhub.sqlite'));
    const now = new Date().toISOString();
    const ins = db.prepare("insert into api_tokens (hashed, prefix, user_id, oauth_client_id, session_id, created, note, scopes) values (?, ?, ?, 'jupyterhub', ?, ?, ?, '[]')");
    ins.run(hashToken('sessiontoken' + sid), 'sess', user.id, sid, now, 'session');
    ins.run(hashToken('othertoken' + sid), 'othe', user.id, 'f'.repeat(32), now, 'other session');
    db.close();
    const r = await client.get(`${hub.url}/hub/logout`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/hub/login');
    const cleared = r.headers.getSetCookie().join('\n');
    assert.match(cleared, /jupyterhub-hub-login=;/);
    assert.match(cleared, /jupyterhub-session-id=;/);
    assert.match(cleared, /_xsrf=;/);
    assert.ok(!client.jar.has('jupyterhub-hub-login'));
    const db2 = new Database(path.join(hub.dir, 'jupyterhub.sqlite'), { readonly: true });
    const notes = (db2.prepare('select note from api_tokens where user_id = ?').all(user.id) as { note: string }[]).map((x) => x.note);
    db2.close();
    assert.deepEqual(notes, ['other session']);
    assert.match(hub.output(), /User logged out: frank/);
    // the old cookie value is no longer enough to be sent home after logout
    const after = await client.get(`${hub.url}/hub/`);
    assert.match(after.headers.get('location')!, /^\/hub\/login/);
  });
});

describe('allowed_users, redirect_to_server', () => {
  let hub: RunningHub;
  before(async () => {
    hub = await startHub({ config: { Authenticator: { allowed_users: ['amy'], admin_users: ['admin'] } } });
  });
  after(async () => {
    await hub?.stop();
  });
  test('with allowed_users, Dummy no longer allows everybody; admins are merged in', async () => {
    assert.equal((await login(hub, 'zed')).res.status, 403);
    const amy = await login(hub, 'amy');
    assert.equal(amy.res.status, 302);
    // default redirect_to_server = True: no server running → {hub}spawn
    assert.equal(amy.res.headers.get('location'), '/hub/spawn');
    assert.equal((await login(hub, 'admin')).res.status, 302);
  });
});

describe('SharedPasswordAuthenticator', () => {
  const userPw = 'user-password-1';
  const adminPw = 'a'.repeat(20) + '-admin-password-xyz';
  let hub: RunningHub;
  before(async () => {
    hub = await startHub({
      config: {
        JupyterHub: { authenticator_class: 'shared-password' },
        SharedPasswordAuthenticator: { user_password: userPw, admin_password: adminPw, allow_all: true },
        Authenticator: { admin_users: ['admin', 'boss'] },
      },
    });
  });
  after(async () => {
    await hub?.stop();
  });
  test('users log in with user_password, never as admin', async () => {
    assert.equal((await login(hub, 'ursula', userPw)).res.status, 302);
    assert.equal(dbUser(hub, 'ursula')?.admin, 0);
    assert.equal((await login(hub, 'ursula', 'nope-nope-nope')).res.status, 403);
  });
  test('admins need admin_password; the name is normalized before the admin check', async () => {
    assert.equal((await login(hub, 'BOSS', userPw)).res.status, 403);
    assert.equal(dbUser(hub, 'boss')?.admin, 1);
    assert.equal((await login(hub, 'BOSS', adminPw)).res.status, 302);
    assert.equal(dbUser(hub, 'boss')?.admin, 1);
    assert.equal((await login(hub, 'ursula', adminPw)).res.status, 403);
  });
});

function runJhub(config: Record<string, unknown>, env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-auth-bad-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const r = spawnSync(process.execPath, [JHUB_BIN, '-f', file], {
    cwd: dir,
    env: { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}`, JUPYTERHUB_CRYPT_KEY: '', ...env },
    encoding: 'utf8',
    timeout: 60000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

describe('start-up refusals', () => {
  const net = { JupyterHub: { ip: '127.0.0.1', port: 1, hub_ip: '127.0.0.1', hub_port: 2, db_url: 'sqlite:///:memory:' } };
  const cases: [string, Record<string, Record<string, unknown>>, RegExp][] = [
    ['short user_password', { SharedPasswordAuthenticator: { user_password: 'short' } }, /SharedPasswordAuthenticator\.user_password must be at least 8 characters/],
    ['short admin_password', { SharedPasswordAuthenticator: { user_password: 'long-enough', admin_password: 'x'.repeat(31) } }, /admin_password must be at least 32 characters, not 31/],
    ['same passwords', { SharedPasswordAuthenticator: { user_password: 'y'.repeat(40), admin_password: 'y'.repeat(40) } }, /user_password and SharedPasswordAuthenticator\.admin_password cannot be the same/],
    ['password_groups without manage_groups', { SharedPasswordAuthenticator: { user_password: 'long-enough', password_groups: { 'group-password': ['g1'] } } }, /password_groups is set, but SharedPasswordAuthenticator\.manage_groups is not set/],
  ];
  for (const [name, cfg, re] of cases) {
    test(`shared-password: ${name}`, () => {
      const r = runJhub({ ...net, JupyterHub: { ...net.JupyterHub, authenticator_class: 'shared-password' }, ...cfg });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, re);
      assert.doesNotMatch(r.out, /at .*\.js:\d+/, 'no stack trace');
    });
  }
  test('dummy: enable_auth_state without JUPYTERHUB_CRYPT_KEY', () => {
    const r = runJhub({ ...net, JupyterHub: { ...net.JupyterHub, authenticator_class: 'dummy' }, Authenticator: { enable_auth_state: true } });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /auth_state is enabled, but encryption is not available/);
  });
  test('dummy: invalid name in admin_users', () => {
    const r = runJhub({ ...net, JupyterHub: { ...net.JupyterHub, authenticator_class: 'dummy' }, Authenticator: { admin_users: ['bad/name'] } });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /(username 'bad\/name' is not valid|Invalid user name "bad\/name")/);
  });
  test('generic-oauth: allowed_groups without manage_groups', () => {
    const r = runJhub({
      ...net,
      JupyterHub: { ...net.JupyterHub, authenticator_class: 'generic-oauth' },
      GenericOAuthenticator: { client_id: 'x', authorize_url: 'http://127.0.0.1:9/auth', token_url: 'http://127.0.0.1:9/token', userdata_url: 'http://127.0.0.1:9/me', allowed_groups: ['g'] },
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /GenericOAuthenticator\.allowed_groups requires GenericOAuthenticator\.manage_groups = True/);
  });
});

describe('auto_login with a form authenticator (DummyAuthenticator)', () => {
  let hub: RunningHub;
  before(async () => {
    hub = await startHub({ config: { Authenticator: { auto_login: true, admin_users: ['admin'] }, JupyterHub: { redirect_to_server: false } } });
  });
  after(async () => {
    await hub?.stop();
  });
  test('GET login shows no form: the request itself carries no credentials → 403 (JupyterHub: "auto_login failed, just 403")', async () => {
    const r = await fetch(`${hub.url}/hub/login?next=%2Fhub%2Fhome`, { redirect: 'manual' });
    assert.equal(r.status, 403);
    assert.doesNotMatch(await r.text(), /name="password"/);
    assert.equal(dbUser(hub, ''), undefined);
  });
  test('logout renders the logout page instead of sending the browser back to login', async () => {
    const r = await fetch(`${hub.url}/hub/logout`, { redirect: 'manual' });
    assert.equal(r.status, 200);
  });
});

describe('blocked_users at start-up (JupyterHub.init_blocked_users)', () => {
  let hub: RunningHub | undefined;
  after(async () => {
    await hub?.cleanup();
  });
  test('a now-blocked user loses admin, roles, groups, tokens and cookies after a restart', async () => {
    hub = await startHub({ config: { JupyterHub: { redirect_to_server: false } } });
    const dir = hub.dir;
    const ports = hub.ports;
    assert.equal((await hub.apiFetch('/users/xavier', { method: 'POST', body: '{}' })).status, 201);
    assert.equal((await hub.apiFetch('/users/xavier', { method: 'PATCH', body: JSON.stringify({ admin: true }) })).status, 200);
    assert.equal((await hub.apiFetch('/groups/team', { method: 'POST', body: JSON.stringify({ users: ['xavier'] }) })).status, 201);
    const tr = await hub.apiFetch('/users/xavier/tokens', { method: 'POST', body: '{}' });
    assert.equal(tr.status, 201);
    const token = ((await tr.json()) as { token: string }).token;
    const mine = await fetch(`${hub.api}/users/xavier`, { headers: { authorization: `token ${token}` } });
    assert.equal(mine.status, 200);
    const { res, client } = await login(hub, 'xavier');
    assert.equal(res.status, 302);
    assert.equal((await client.get(`${hub.url}/hub/home`)).status, 200);
    assert.equal(await hub.stop(), 0);

    hub = await startHub({ dir, ports, config: { JupyterHub: { redirect_to_server: false }, Authenticator: { blocked_users: ['xavier'] } } });
    // the token of the blocked user is refused by the API
    const refused = await fetch(`${hub.api}/users/xavier`, { headers: { authorization: `token ${token}` } });
    assert.equal(refused.status, 403);
    assert.equal((await fetch(`${hub.api}/user`, { headers: { authorization: `token ${token}` } })).status, 403);
    // the old login cookie no longer works, and a new login is refused
    const home = await client.get(`${hub.url}/hub/home`);
    assert.equal(home.status, 302);
    assert.match(home.headers.get('location')!, /^\/hub\/login/);
    const again = await login(hub, 'xavier');
    assert.equal(again.res.status, 403);
    assert.ok(!again.client.jar.has('jupyterhub-hub-login'));
    // the user still exists, without admin flag, roles, groups or tokens; others are untouched
    const model = await hub.apiFetch('/users/xavier');
    assert.equal(model.status, 200);
    const m = (await model.json()) as { admin: boolean; groups: string[]; roles: string[] };
    assert.equal(m.admin, false);
    assert.deepEqual(m.groups, []);
    assert.deepEqual(m.roles, []);
    const db = new Database(path.join(dir, 'jupyterhub.sqlite'), { readonly: true });
    try {
      const uid = dbUser(hub, 'xavier')!.id;
      assert.equal((db.prepare('select count(*) as n from api_tokens where user_id = ?').get(uid) as { n: number }).n, 0);
      assert.equal((db.prepare('select count(*) as n from user_role_map where user_id = ?').get(uid) as { n: number }).n, 0);
    } finally {
      db.close();
    }
    assert.match(hub.output(), /Removing admin permissions from blocked user xavier/);
    assert.match(hub.output(), /Removing blocked user xavier from groups: team/);
    assert.equal((await hub.apiFetch('/groups/team')).status, 200);
    assert.equal((await login(hub, 'yolanda')).res.status, 302);
  });
});

void ROOT;
