/**
 * SudoSpawner for real (docs/spawners.md "SudoSpawner: running the hub without root"): the hub
 * runs as an unprivileged account, a sudoers drop-in with the documented line lets it run
 * bin/jhub-sudo-helper as the members of a group, and a member's jupyterhub-singleuser server
 * is started, reached through the proxy and stopped through the REST API. No mocks: real
 * accounts, a real group, real sudo. Needs root (to create them) and /usr/bin/sudo
 * (scripts/deps.sh test installs it); anything missing is a failure with a message, not a skip.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startHub, type RunningHub } from '../helpers/hub.js';
import { api, ensureUsers, removeSystemUser, run, userPythonEnv, waitFor } from './helpers.js';

const RAND = crypto.randomBytes(3).toString('hex');
const HUB_ACCOUNT = `jhsudo_${RAND}`;
const GROUP = `jhsudousers_${RAND}`;
const MEMBER = `jhsudou_${RAND}`;
const OUTSIDER = `jhsudox_${RAND}`;
const SUDOERS = `/etc/sudoers.d/jhub-test-${RAND}`;
/**
 * Where the unprivileged hub runs jhub from: the checkout when every account can reach it,
 * else an installed copy (bin, dist, src, node_modules) in a world-readable directory, as an
 * operator would install jhub under /usr/local/lib/jhub. Decided in before().
 */
let INSTALL = ROOT;
let HELPER = path.join(ROOT, 'bin', 'jhub-sudo-helper');

/** The sudoers drop-in of docs/spawners.md, with this test's names. */
function sudoersText(): string {
  const alias = `JHUB_SUDO_HELPER_${RAND.toUpperCase()}`;
  return [
    '# The command the hub is allowed to run.',
    `Cmnd_Alias ${alias} = ${HELPER}`,
    '',
    `# Allow the hub account to run it on behalf of anybody in ${GROUP}.`,
    `${HUB_ACCOUNT} ALL=(%${GROUP}) NOPASSWD:${alias}`,
    '',
  ].join('\n');
}

/** Run a shell command as `user` (setpriv, as the hub itself is run); resolves to the exit code. */
function shAs(user: string, script: string): number {
  const pw = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':');
  try {
    execFileSync('setpriv', [`--reuid=${pw[2]}`, `--regid=${pw[3]}`, '--init-groups', '--', '/bin/sh', '-c', script], { cwd: '/', stdio: 'ignore', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
    return 0;
  } catch (e) {
    return (e as { status?: number }).status ?? 1;
  }
}

function psField(field: string, pid: number): string {
  try {
    return execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // ps exits 1 when there is no such process
  }
}

describe('SudoSpawner: unprivileged hub, servers through sudo and jhub-sudo-helper', { timeout: 600000 }, () => {
  let hub: RunningHub | undefined;
  let created: string[] = [];
  let groupCreated = false;
  let pid = 0;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test creates system accounts, a group and a sudoers drop-in: run it as root');
    assert.ok(fs.existsSync('/usr/bin/sudo'), '/usr/bin/sudo is missing: install it (apt-get install -y sudo, or scripts/deps.sh test)');
    assert.ok(fs.existsSync('/usr/sbin/visudo'), '/usr/sbin/visudo is missing (package sudo)');
    const nnp = /NoNewPrivs:\s*1/.test(fs.readFileSync('/proc/self/status', 'utf8'));
    assert.ok(!nnp, 'the test runs with no_new_privs set (e.g. systemd NoNewPrivileges=true or a container option): sudo cannot work under it');
    const sudoers = fs.readFileSync('/etc/sudoers', 'utf8');
    assert.match(sudoers, /^[@#]includedir\s+\/etc\/sudoers\.d\s*$/m, '/etc/sudoers does not include /etc/sudoers.d');
    // The helper's "#!/usr/bin/env node" runs under sudo's secure_path.
    const securePath = /^Defaults\s+secure_path\s*=\s*"?([^"\n]+)"?/m.exec(sudoers)?.[1] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    assert.ok(
      securePath.split(':').some((d) => fs.existsSync(path.join(d, 'node'))),
      `node is not on sudo's secure_path (${securePath}): jhub-sudo-helper cannot start (link node into /usr/local/bin)`,
    );

    await run('groupadd', [GROUP]);
    groupCreated = true;
    await run('useradd', ['-m', '-s', '/bin/bash', HUB_ACCOUNT]);
    created.push(HUB_ACCOUNT);
    await run('useradd', ['-m', '-s', '/bin/bash', '-G', GROUP, MEMBER]);
    created.push(MEMBER);
    await run('useradd', ['-m', '-s', '/bin/bash', OUTSIDER]);
    created.push(OUTSIDER);

    // The hub account and the users run jhub's code: if this checkout is not reachable by
    // others (a clone under /root, mode 700, is not), install a copy the way an operator would.
    if (shAs(HUB_ACCOUNT, `test -r '${path.join(ROOT, 'node_modules', 'fastify', 'package.json')}' && test -r '${path.join(ROOT, 'bin', 'jhub')}'`) !== 0) {
      INSTALL = fs.mkdtempSync('/tmp/jhub-install-');
      for (const d of ['bin', 'dist', 'src', 'node_modules', 'package.json']) execFileSync('cp', ['-a', path.join(ROOT, d), INSTALL]);
      execFileSync('chmod', ['-R', 'a+rX', INSTALL]);
      HELPER = path.join(INSTALL, 'bin', 'jhub-sudo-helper');
    }
    for (const u of [HUB_ACCOUNT, MEMBER]) {
      for (const f of [HELPER, path.join(INSTALL, 'bin', 'jhub'), path.join(INSTALL, 'dist', 'src', 'cli', 'jhub-sudo-helper.js'), path.join(INSTALL, 'dist', 'src', 'cli', 'jhub.js'), path.join(INSTALL, 'node_modules', 'fastify', 'package.json')]) {
        assert.equal(
          shAs(u, `test -r '${f}'`),
          0,
          `${f} is not readable by the unprivileged account ${u}: the checkout (${ROOT}) and its node_modules must be world-readable and every directory above it traversable (chmod o+rx) for the hub to run without root`,
        );
      }
    }

    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-sudoers-')), 'sudoers');
    fs.writeFileSync(tmp, sudoersText(), { mode: 0o440 });
    try {
      execFileSync('visudo', ['-cf', tmp], { stdio: 'pipe' });
    } catch (e) {
      assert.fail(`visudo rejects the documented sudoers lines:\n${sudoersText()}\n${(e as { stderr?: Buffer }).stderr}`);
    }
    fs.copyFileSync(tmp, SUDOERS);
    fs.chmodSync(SUDOERS, 0o440);
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
    execFileSync('visudo', ['-c'], { stdio: 'pipe' });
    assert.equal(shAs(HUB_ACCOUNT, `sudo -n -l -u ${MEMBER} '${HELPER}' >/dev/null 2>&1`), 0, `sudo does not let ${HUB_ACCOUNT} run ${HELPER} as ${MEMBER} with ${SUDOERS}`);
    assert.notEqual(shAs(HUB_ACCOUNT, `sudo -n -l -u ${OUTSIDER} '${HELPER}' >/dev/null 2>&1`), 0, `sudo lets ${HUB_ACCOUNT} run the helper as ${OUTSIDER}, who is not in ${GROUP}`);

    const pyEnv = await userPythonEnv();
    hub = await startHub({
      runAs: HUB_ACCOUNT,
      bin: path.join(INSTALL, 'bin', 'jhub'),
      config: {
        JupyterHub: { spawner_class: 'sudospawner.SudoSpawner' },
        Authenticator: { allow_all: true, admin_users: ['admin'] },
        Spawner: { cmd: ['jupyterhub-singleuser'], environment: pyEnv, start_timeout: 120, http_timeout: 120 },
        SudoSpawner: { sudospawner_path: HELPER, debug_mediator: true },
      },
    });
    await ensureUsers(hub, [MEMBER, OUTSIDER]);
  });

  after(async () => {
    if (hub) {
      if (process.env.JHUB_TEST_VERBOSE) console.log(hub.output());
      await hub.cleanup();
    }
    fs.rmSync(SUDOERS, { force: true });
    for (const u of created.reverse()) await removeSystemUser(u);
    if (groupCreated) await run('groupdel', [GROUP]).catch(() => '');
    if (hub) fs.rmSync(hub.dir, { recursive: true, force: true });
    if (INSTALL !== ROOT) fs.rmSync(INSTALL, { recursive: true, force: true });
  });

  test('the hub runs as the unprivileged account', () => {
    assert.equal(psField('user', hub!.pid), HUB_ACCOUNT);
  });

  test('a member of the group: server started as that user, reachable through the proxy, stopped', async () => {
    const h = hub!;
    const r = await h.apiFetch(`/users/${MEMBER}/server`, { method: 'POST' });
    assert.ok([201, 202].includes(r.status), `POST server: ${r.status} ${await r.text()}\n${h.output().slice(-4000)}`);
    const model = await waitFor(
      async () => {
        const m = await api<{ servers: Record<string, { ready: boolean; pending: string | null; state: { pid?: number } }> }>(h, `/users/${MEMBER}`);
        const s = m.body.servers[''];
        if (!s) throw new Error(`server of ${MEMBER} gone while starting:\n${h.output().slice(-4000)}`);
        return s.ready ? s : null;
      },
      `${MEMBER}'s server ready`,
      180000,
    );
    pid = Number(model.state.pid);
    assert.ok(pid > 1, `no pid in the spawner state: ${JSON.stringify(model)}`);
    assert.equal(psField('user', pid), MEMBER, `process ${pid} (${psField('args', pid)}) should run as ${MEMBER}`);
    assert.match(psField('args', pid), /jupyterhub-singleuser/);
    assert.match(h.output(), new RegExp(`jhub-sudo-helper for ${MEMBER}: jhub-sudo-helper: spawn as ${MEMBER} \\(uid \\d+\\)`), 'debug_mediator: the helper reports what it does');

    const a = await fetch(`${h.url}/user/${MEMBER}/api`, { headers: { Authorization: `token ${h.adminToken}` } });
    const text = await a.text();
    assert.equal(a.status, 200, text);
    assert.match(JSON.parse(text).version, /^\d+\./);

    const d = await h.apiFetch(`/users/${MEMBER}/server`, { method: 'DELETE' });
    assert.ok([202, 204].includes(d.status), `DELETE server: ${d.status} ${await d.text()}`);
    await waitFor(async () => Object.keys((await api<{ servers: object }>(h, `/users/${MEMBER}`)).body.servers).length === 0, 'server stopped', 60000);
    // Gone: no such process, or only a zombie where the container's init does not reap orphans.
    await waitFor(() => ['', 'Z'].includes(psField('stat', pid).slice(0, 1)), `process ${pid} to exit`, 30000);
    assert.equal((await fetch(`${h.url}/user/${MEMBER}/api`, { redirect: 'manual' })).status === 200, false, 'the server still answers after the stop');
  });

  test('a user outside the group: sudo refuses, the spawn fails with its message', async () => {
    const h = hub!;
    const r = await api<{ message: string }>(h, `/users/${OUTSIDER}/server`, { method: 'POST' });
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.match(r.body.message, /jhub-sudo-helper failed for .*password is required/s);
    assert.equal((await run('pgrep', ['-u', OUTSIDER]).catch(() => '')).trim(), '', `processes of ${OUTSIDER} exist`);
  });
});
