/**
 * GenericOAuthenticator against a real OpenID Connect provider (oidc-provider, started by
 * the test as its own process): HTTP flow with manual redirects, and real Chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, freePort, startHub, type RunningHub } from '../helpers/hub.js';
import { CookieClient } from './client.js';
import { CryptKeeper } from '../../src/util/crypto.js';

const CRYPT_KEY = crypto.randomBytes(32).toString('hex');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

interface Idp {
  url: string;
  proc: ChildProcess;
  setClaims(id: string, claims: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

async function startIdp(redirectUris: string[], accessTtl = 3600): Promise<Idp> {
  const port = await freePort();
  const accounts = {
    alice: { password: 'pw-alice', claims: { preferred_username: 'alice', email: 'alice@example.org', email_verified: true, groups: ['staff', 'admins'] } },
    bob: { password: 'pw-bob', claims: { preferred_username: 'Bob', email: 'bob@example.org', email_verified: false, groups: ['staff'] } },
    carol: { password: 'pw-carol', claims: { preferred_username: 'carol', email: 'carol@example.org', email_verified: true, groups: ['outsiders'] } },
  };
  const clients = [
    {
      client_id: 'jhub-test',
      client_secret: 'jhub-test-secret-0123456789',
      redirect_uris: redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ];
  const proc = spawn(process.execPath, [path.join(ROOT, 'test/auth/fixtures/oidc_server.mjs')], {
    env: { ...process.env, OIDC_PORT: String(port), OIDC_ACCOUNTS: JSON.stringify(accounts), OIDC_CLIENTS: JSON.stringify(clients), OIDC_ACCESS_TTL: String(accessTtl) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('OIDC READY')) resolve();
    });
    proc.stderr!.on('data', (d) => (out += d));
    proc.on('exit', (c) => reject(new Error(`IdP exited ${c}: ${out}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    proc,
    async setClaims(id, claims) {
      const r = await fetch(`${url}/test/accounts/${id}`, { method: 'POST', body: JSON.stringify(claims) });
      assert.equal(r.status, 200);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

function oauthConfig(idp: Idp, extra: Record<string, unknown> = {}) {
  return {
    JupyterHub: { authenticator_class: 'generic-oauth', redirect_to_server: false },
    GenericOAuthenticator: {
      client_id: 'jhub-test',
      client_secret: 'jhub-test-secret-0123456789',
      basic_auth: true,
      authorize_url: `${idp.url}/auth`,
      token_url: `${idp.url}/token`,
      userdata_url: `${idp.url}/me`,
      scope: ['openid', 'profile', 'email', 'groups'],
      username_claim: 'preferred_username',
      login_service: 'Test IdP',
      manage_groups: true,
      auth_state_groups_key: 'oauth_user.groups',
      allowed_groups: ['staff'],
      admin_groups: ['admins'],
      enable_auth_state: true,
      username_map: { bob: 'robert' },
      ...extra,
    },
  };
}

/** Run the browser side of the flow up to (not including) the hub's callback. */
async function toCallback(hub: RunningHub, idp: Idp, login: string, password: string, c = new CookieClient(), next = '/hub/token') {
  const first = await c.follow(`${hub.url}/hub/oauth_login?next=${encodeURIComponent(next)}`);
  assert.equal(first.res.status, 200, JSON.stringify(first.hops));
  assert.ok(first.url.startsWith(`${idp.url}/interaction/`), first.url);
  const posted = await c.postForm(`${first.url}/login`, { login, password });
  assert.equal(posted.status, 303);
  const rest = await c.follow(new URL(posted.headers.get('location')!, idp.url).href, { stopAt: (l) => l.startsWith(`${hub.url}/hub/oauth_callback`) });
  assert.ok(rest.url.startsWith(`${hub.url}/hub/oauth_callback?`), rest.url);
  return { c, callback: rest.url };
}

function db(hub: RunningHub) {
  return new Database(path.join(hub.dir, 'jupyterhub.sqlite'), { readonly: true });
}
function userRow(hub: RunningHub, name: string) {
  const d = db(hub);
  try {
    const u = d.prepare('select * from users where name = ?').get(name) as { id: number; admin: number; encrypted_auth_state: string | null } | undefined;
    const groups = u ? (d.prepare('select g.name from groups g join user_group_map m on m.group_id = g.id where m.user_id = ? order by g.name').all(u.id) as { name: string }[]).map((g) => g.name) : [];
    return u ? { ...u, groups } : undefined;
  } finally {
    d.close();
  }
}

describe('GenericOAuthenticator with an OpenID Connect provider', () => {
  let idp: Idp;
  let hub: RunningHub;
  before(async () => {
    const ports = { public: await freePort(), api: await freePort(), hub: await freePort() };
    idp = await startIdp([`http://127.0.0.1:${ports.public}/hub/oauth_callback`], 2);
    hub = await startHub({
      ports,
      config: { ...oauthConfig(idp, { auth_refresh_age: 1 }), Authenticator: { admin_users: ['admin'] } },
      env: { JUPYTERHUB_CRYPT_KEY: CRYPT_KEY },
    });
  });
  after(async () => {
    await hub?.stop();
    await idp?.stop();
  });

  test('login page shows the "Sign in with" button', async () => {
    const html = await (await fetch(`${hub.url}/hub/login?next=%2Fhub%2Ftoken`)).text();
    assert.match(html, /Sign in with Test IdP/);
    assert.match(html, /href="\/hub\/oauth_login\?next=%2Fhub%2Ftoken"/);
  });

  test('oauth_login redirects with PKCE S256 and a signed state cookie', async () => {
    const r = await fetch(`${hub.url}/hub/oauth_login?next=/hub/token`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    const u = new URL(r.headers.get('location')!);
    assert.equal(u.origin + u.pathname, `${idp.url}/auth`);
    assert.equal(u.searchParams.get('client_id'), 'jhub-test');
    assert.equal(u.searchParams.get('response_type'), 'code');
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(u.searchParams.get('code_challenge'));
    assert.equal(u.searchParams.get('redirect_uri'), `${hub.url}/hub/oauth_callback`);
    assert.equal(u.searchParams.get('scope'), 'openid profile email groups');
    const state = JSON.parse(Buffer.from(u.searchParams.get('state')!, 'base64url').toString());
    assert.equal(state.next_url, '/hub/token');
    const cookie = r.headers.getSetCookie().find((c) => c.startsWith('oauthenticator-state='))!;
    assert.match(cookie, /Path=\//);
    assert.match(cookie, /HttpOnly/i);
  });

  test('login: username from claims, groups → admin, auth_state encrypted at rest; replayed code → 400', async () => {
    const { c, callback } = await toCallback(hub, idp, 'alice', 'pw-alice');
    const stateCookie = c.jar.get('oauthenticator-state')!;
    const r = await c.get(callback);
    assert.equal(r.status, 302, await r.text());
    assert.equal(r.headers.get('location'), '/hub/token');
    assert.ok(c.jar.has('jupyterhub-hub-login'));
    const u = userRow(hub, 'alice')!;
    assert.equal(u.admin, 1);
    assert.deepEqual(u.groups, ['admins', 'staff']);
    // encrypted at rest: the raw sqlite file holds no token or claim in clear text
    const raw = fs.readFileSync(path.join(hub.dir, 'jupyterhub.sqlite')).toString('latin1');
    assert.ok(u.encrypted_auth_state && u.encrypted_auth_state.startsWith('gAAAAA'));
    assert.ok(!raw.includes('alice@example.org'));
    assert.ok(!raw.includes('access_token'));
    const state = new CryptKeeper([Buffer.from(CRYPT_KEY, 'hex')]).decrypt(u.encrypted_auth_state!) as Record<string, any>;
    assert.equal(state.oauth_user.email, 'alice@example.org');
    assert.ok(state.access_token);
    assert.ok(state.refresh_token);
    assert.ok(state.id_token);
    assert.deepEqual(state.scope, ['openid', 'profile', 'email', 'groups']);
    // the same code again (with the state cookie put back): the provider refuses → 400, not 500
    const replay = new CookieClient();
    replay.jar.set('oauthenticator-state', stateCookie);
    const again = await replay.get(callback);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /OAuth error: invalid_grant/);
    assert.ok(!replay.jar.has('jupyterhub-hub-login'));
  });

  test('a tampered or missing state is refused (400)', async () => {
    const { c, callback } = await toCallback(hub, idp, 'alice', 'pw-alice');
    const u = new URL(callback);
    const orig = u.searchParams.get('state')!;
    u.searchParams.set('state', Buffer.from(JSON.stringify({ state_id: 'x'.repeat(32), next_url: '//evil.com' })).toString('base64url'));
    const r = await c.get(u.href);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /OAuth state mismatch/);
    // state cookie missing
    const fresh = new CookieClient();
    u.searchParams.set('state', orig);
    const r2 = await fresh.get(u.href);
    assert.equal(r2.status, 400);
    assert.match(await r2.text(), /OAuth state missing from cookies/);
    // forged cookie (not signed by the hub)
    fresh.jar.set('oauthenticator-state', Buffer.from(JSON.stringify({ state: orig })).toString('base64url') + '|9999999999|AAAA');
    assert.equal((await fresh.get(u.href)).status, 400);
    // error from the provider, no code
    assert.equal((await fetch(`${hub.url}/hub/oauth_callback?error=access_denied&error_description=nope`)).status, 400);
    assert.equal((await fetch(`${hub.url}/hub/oauth_callback?state=x`)).status, 400);
  });

  test('username_map and normalization; allowed by group, not admin', async () => {
    const { c, callback } = await toCallback(hub, idp, 'bob', 'pw-bob');
    const r = await c.get(callback);
    assert.equal(r.status, 302);
    const u = userRow(hub, 'robert')!;
    assert.equal(u.admin, 0);
    assert.deepEqual(u.groups, ['staff']);
    assert.equal(userRow(hub, 'bob'), undefined);
  });

  test('a user in none of the allowed groups gets the 403 message', async () => {
    const { c, callback } = await toCallback(hub, idp, 'carol', 'pw-carol');
    const r = await c.get(callback);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /not currently authorized to use this hub/);
    assert.equal(userRow(hub, 'carol'), undefined);
  });

  test('auth_state is refreshed (refresh token) and group changes apply', async () => {
    const { c, callback } = await toCallback(hub, idp, 'alice', 'pw-alice');
    assert.equal((await c.get(callback)).status, 302);
    const keeper = new CryptKeeper([Buffer.from(CRYPT_KEY, 'hex')]);
    const before = keeper.decrypt(userRow(hub, 'alice')!.encrypted_auth_state!) as Record<string, any>;
    await idp.setClaims('alice', { groups: ['staff'] });
    // wait past the access token lifetime (2 s) and auth_refresh_age (1 s)
    await new Promise((r) => setTimeout(r, 3100));
    const page = await c.get(`${hub.url}/hub/login`);
    assert.equal(page.status, 302, 'still logged in after the refresh');
    const u = userRow(hub, 'alice')!;
    const afterState = keeper.decrypt(u.encrypted_auth_state!) as Record<string, any>;
    assert.notEqual(afterState.access_token, before.access_token);
    assert.deepEqual(afterState.oauth_user.groups, ['staff']);
    assert.deepEqual(u.groups, ['staff']);
    assert.equal(u.admin, 0, 'admin_groups is authoritative');
    assert.match(hub.output(), /Refreshed the OAuth tokens of alice/);
    await idp.setClaims('alice', { groups: ['staff', 'admins'] });
  });

  test('logout deletes the session and clears the cookies', async () => {
    const { c, callback } = await toCallback(hub, idp, 'bob', 'pw-bob');
    assert.equal((await c.get(callback)).status, 302);
    const r = await c.get(`${hub.url}/hub/logout`);
    assert.equal(r.status, 302);
    assert.ok(!c.jar.has('jupyterhub-hub-login'));
  });

  test('real Chromium: sign in through the provider', async (t) => {
    const exe = '/usr/bin/chromium';
    if (!fs.existsSync(exe)) return t.skip('chromium is not installed');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: exe,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const page = await browser.newPage();
      await page.goto(`${hub.url}/hub/login?next=%2Fhub%2Ftoken`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'auth-oauth-login-page.png') });
      await page.click('#login-oauth');
      await page.waitForSelector('#idp-login');
      await page.fill('#idp-login', 'alice');
      await page.fill('#idp-password', 'pw-alice');
      await page.screenshot({ path: path.join(ARTIFACTS, 'auth-oauth-idp-form.png') });
      await Promise.all([page.waitForURL(`${hub.url}/hub/token`), page.click('#idp-submit')]);
      await page.screenshot({ path: path.join(ARTIFACTS, 'auth-oauth-after-login.png') });
      const cookies = await page.context().cookies(hub.url + '/hub/');
      assert.ok(cookies.some((k) => k.name === 'jupyterhub-hub-login'));
      // the signed-in browser is not sent to the login page again
      const resp = await page.goto(`${hub.url}/hub/login`);
      assert.ok(!page.url().includes('/hub/login'), page.url());
      void resp;
    } finally {
      await browser.close();
    }
  });
});

describe('GenericOAuthenticator with the user name from email', () => {
  let idp: Idp;
  let hub: RunningHub;
  before(async () => {
    const ports = { public: await freePort(), api: await freePort(), hub: await freePort() };
    idp = await startIdp([`http://127.0.0.1:${ports.public}/hub/oauth_callback`]);
    const cfg = oauthConfig(idp, { username_claim: 'email', allow_all: true, enable_auth_state: false, manage_groups: false, userdata_from_id_token: true, basic_auth: false });
    const g = cfg.GenericOAuthenticator as Record<string, unknown>;
    delete g.allowed_groups;
    delete g.admin_groups;
    delete g.auth_state_groups_key;
    hub = await startHub({ ports, config: { ...cfg, Authenticator: { admin_users: ['admin'] } } });
  });
  after(async () => {
    await hub?.stop();
    await idp?.stop();
  });
  test('a verified email becomes the user name (from the validated id_token)', async () => {
    const { c, callback } = await toCallback(hub, idp, 'alice', 'pw-alice');
    const r = await c.get(callback);
    assert.equal(r.status, 302);
    const u = userRow(hub, 'alice@example.org')!;
    assert.ok(u);
    assert.equal(u.encrypted_auth_state, null, 'no auth_state without enable_auth_state');
    assert.match(hub.output(), /OpenID Connect discovery document/);
  });
  test('an unverified email claim is refused', async () => {
    const { c, callback } = await toCallback(hub, idp, 'bob', 'pw-bob');
    const r = await c.get(callback);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /not verified/);
    assert.equal(userRow(hub, 'bob@example.org'), undefined);
  });
});

describe('GenericOAuthenticator with auto_login', () => {
  let idp: Idp;
  let hub: RunningHub;
  before(async () => {
    const ports = { public: await freePort(), api: await freePort(), hub: await freePort() };
    idp = await startIdp([`http://127.0.0.1:${ports.public}/hub/oauth_callback`]);
    const cfg = oauthConfig(idp, { auto_login: true, allow_all: true, enable_auth_state: false, manage_groups: false });
    const g = cfg.GenericOAuthenticator as Record<string, unknown>;
    delete g.allowed_groups;
    delete g.admin_groups;
    delete g.auth_state_groups_key;
    hub = await startHub({ ports, config: { ...cfg, Authenticator: { admin_users: ['admin'] } } });
  });
  after(async () => {
    await hub?.stop();
    await idp?.stop();
  });

  test('GET login skips the login page: {hub}oauth_login?next=... → the provider, then back to next', async () => {
    const c = new CookieClient();
    const r = await c.get(`${hub.url}/hub/login?next=%2Fhub%2Fhome`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/hub/oauth_login?next=%2Fhub%2Fhome');
    assert.doesNotMatch(await r.text(), /Sign in with/);
    const o = await c.get(new URL(r.headers.get('location')!, hub.url).href);
    assert.equal(o.status, 302);
    const u = new URL(o.headers.get('location')!);
    assert.equal(u.origin + u.pathname, `${idp.url}/auth`);
    assert.equal(JSON.parse(Buffer.from(u.searchParams.get('state')!, 'base64url').toString()).next_url, '/hub/home');
    // the whole flow lands on next
    const { callback } = await toCallback(hub, idp, 'alice', 'pw-alice', c, '/hub/home');
    const done = await c.get(callback);
    assert.equal(done.status, 302);
    assert.equal(done.headers.get('location'), '/hub/home');
    assert.equal((await c.get(`${hub.url}/hub/home`)).status, 200);
  });

  test('an unsafe next is replaced by the default after-login URL; no next → plain oauth_login', async () => {
    for (const evil of ['//evil.com', 'https://evil.com/x', 'javascript:alert(1)']) {
      const r = await fetch(`${hub.url}/hub/login?next=${encodeURIComponent(evil)}`, { redirect: 'manual' });
      assert.equal(r.status, 302);
      assert.equal(r.headers.get('location'), '/hub/oauth_login?next=%2Fhub%2Fhome', evil);
    }
    // a backslash is escaped into a path on this site (JupyterHub's _validate_next_url)
    const bs = await fetch(`${hub.url}/hub/login?next=${encodeURIComponent('/\\evil.com')}`, { redirect: 'manual' });
    const next = new URL(bs.headers.get('location')!, hub.url).searchParams.get('next')!;
    assert.equal(next, '/%5Cevil.com');
    const plain = await fetch(`${hub.url}/hub/login`, { redirect: 'manual' });
    assert.equal(plain.headers.get('location'), '/hub/oauth_login');
  });

  test('GET {hub} anonymous → login → straight into the OAuth flow', async () => {
    const c = new CookieClient();
    const { hops, url } = await c.follow(`${hub.url}/hub/`, { stopAt: (l) => l.startsWith(`${idp.url}/auth`) });
    assert.deepEqual(
      hops.map((h) => h.location),
      ['/hub/login?next=%2Fhub%2F', '/hub/oauth_login?next=%2Fhub%2F', url],
    );
  });

  test('logout shows the logout page instead of restarting the flow', async () => {
    const r = await fetch(`${hub.url}/hub/logout`, { redirect: 'manual' });
    assert.equal(r.status, 200);
  });
});
