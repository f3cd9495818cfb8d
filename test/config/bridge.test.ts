/**
 * The Python bridge: functions and subclass methods of a jupyterhub_config.py run in a
 * long-lived python3 process (real python3, real hub).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Config, PythonHookError } from '../../src/config/config.js';
import type { Hub } from '../../src/hub/app.js';
import { Spawner } from '../../src/spawners/base.js';
import type { UserRow } from '../../src/db/schema.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { CookieClient, xsrfFrom } from '../auth/client.js';
import { load, withFiles } from './helpers.js';

const env = { ...process.env, JHUB_PYTHON_HOOK_TIMEOUT: '1' };

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function spawnerFor(config: Config, name = 'alice'): Spawner {
  const hub = { config, env: {} } as unknown as Hub;
  const user = { id: 1, name, admin: 0 } as unknown as UserRow;
  return new Spawner({ hub, user, name: '', id: 1, configClass: 'LocalProcessSpawner' });
}

const HOOKS_PY = `
import asyncio
from jupyterhub.spawner import LocalProcessSpawner

def my_hook(spawner):
    spawner.environment['GREETING'] = 'hello ' + spawner.user.name
    spawner.args = spawner.args + ['--debug']
    spawner.notebook_dir = '/srv/' + spawner.user.name
    spawner.user_options['seen'] = True

c.Spawner.pre_spawn_hook = my_hook
c.Spawner.environment = {'UPPER': lambda spawner: spawner.user.name.upper(), 'PLAIN': 'v'}
c.Spawner.args = ['--a']

async def stop_hook(spawner):
    await asyncio.sleep(0.01)
    spawner.environment['STOPPED'] = str(spawner.environment.get('GREETING'))

c.Spawner.post_stop_hook = stop_hook

def bad_hook(authenticator, handler, authentication):
    return authentication['missing']

c.Authenticator.post_auth_hook = bad_hook

def loop_forever(userdata):
    while True:
        pass

c.GenericOAuthenticator.username_claim = loop_forever

async def async_loop(spawner, auth_state):
    while True:
        pass

c.Spawner.auth_state_hook = async_loop

class MySpawner(LocalProcessSpawner):
    def options_from_form(self, formdata):
        return {'size': formdata['size'][0] + '-' + self.user.name}

c.JupyterHub.spawner_class = MySpawner
c.JupyterHub.template_vars = {'who': lambda user: 'tv', 'n': 1}
`;

describe('Python bridge (no hub)', () => {
  let c: Config;
  before(async () => {
    ({ config: c } = await load({ cwd: withFiles({ 'jupyterhub_config.py': HOOKS_PY }), env }));
  });
  after(() => c?.close());

  test('pre_spawn_hook and environment lambdas: the mutations of the spawner snapshot come back', async () => {
    const sp = spawnerFor(c);
    await sp.runPreSpawnHook();
    assert.deepEqual(sp.args, ['--a', '--debug']);
    assert.equal(sp.trait('notebook_dir'), '/srv/alice');
    assert.deepEqual(sp.userOptions, { seen: true });
    const envv = await sp.getEnv();
    assert.equal(envv.GREETING, 'hello alice');
    assert.equal(envv.UPPER, 'ALICE'); // the lambda survived the round trip
    assert.equal(envv.PLAIN, 'v');
    // async def hook, awaited in Python
    await sp.runPostStopHook();
    assert.equal((sp.trait('environment') as Record<string, unknown>).STOPPED, 'hello alice');
    // the configuration itself is unchanged
    assert.deepEqual(Object.keys(c.get('Spawner', 'environment')).sort(), ['PLAIN', 'UPPER']);
  });

  test('a subclass method (options_from_form) with self; template_vars functions', async () => {
    assert.equal(c.get('JupyterHub', 'spawner_class'), 'LocalProcessSpawner');
    const sp = spawnerFor(c, 'bob');
    assert.deepEqual(await sp.optionsFromForm({ size: ['xl'] }), { size: 'xl-bob' });
    const tv = c.get<Record<string, unknown>>('JupyterHub', 'template_vars');
    assert.equal(tv.n, 1);
    assert.equal(await (tv.who as (u: unknown) => Promise<unknown>)(null), 'tv');
  });

  test('a hook that raises: <file>:<line>: <function> raised <ExcType>: <message>', async () => {
    const hook = c.get<(...a: unknown[]) => Promise<unknown>>('Authenticator', 'post_auth_hook');
    await assert.rejects(hook(null, null, { name: 'x' }), (e: Error) => {
      assert.ok(e instanceof PythonHookError);
      assert.equal(e.message, "jupyterhub_config.py:22: bad_hook raised KeyError: 'missing'");
      return true;
    });
  });

  test('a hook that loops forever: time-out error (sync and async), the bridge keeps working', async () => {
    const pid = c.bridge!.pid;
    const claim = c.get<(u: unknown) => unknown>('GenericOAuthenticator', 'username_claim');
    assert.throws(() => claim({}), /^PythonHookError: jupyterhub_config.py:2[78]: loop_forever timed out: it did not return within 1 s/);
    // a pure Python loop is interrupted inside Python: same process
    assert.equal(c.bridge!.pid, pid);
    // an async def that never yields cannot be cancelled by asyncio: the process is replaced
    const sp = spawnerFor(c);
    await assert.rejects(sp.runAuthStateHook({}), /async_loop timed out: it did not return within 1 s \(the Python bridge was restarted\)/);
    await waitFor(() => !alive(pid), 'the old Python process to end');
    await sp.runPreSpawnHook();
    assert.equal((await sp.getEnv()).GREETING, 'hello alice');
  });

  test('the Python process is killed: it is restarted and calls work again', async () => {
    const pid = c.bridge!.pid!;
    process.kill(pid, 'SIGKILL');
    const sp = spawnerFor(c, 'carol');
    await sp.runPreSpawnHook(); // waits for the restarted process
    assert.equal((await sp.getEnv()).GREETING, 'hello carol');
    assert.notEqual(c.bridge!.pid, pid);
    assert.ok(alive(c.bridge!.pid));
  });

  test('close() stops the Python process', async () => {
    const { config: c2 } = await load({ cwd: withFiles({ 'jupyterhub_config.py': 'c.Spawner.pre_spawn_hook = lambda s: None\n' }), env });
    const pid = c2.bridge!.pid;
    assert.ok(alive(pid));
    c2.close();
    await waitFor(() => !alive(pid), 'the Python process to exit after close()');
    await assert.rejects(c2.get<(s: unknown) => Promise<unknown>>('Spawner', 'pre_spawn_hook')({}), /the Python bridge is stopped/);
  });
});

describe('Python bridge: what does not cross', () => {
  test('a config without callables starts no persistent process', async () => {
    const { config: c } = await load({ cwd: withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port = 8001\nc.Spawner.environment = {"A": "b"}\n' }), env });
    assert.equal(c.bridge, undefined);
    assert.equal(c.get('JupyterHub', 'port'), 8001);
  });

  test('an overridden method jhub does not call: error naming the method and its line', async () => {
    const py = [
      'from jupyterhub.auth import DummyAuthenticator',
      'class MyAuth(DummyAuthenticator):',
      '    def _helper(self, x):',
      '        return x',
      '    def normalize_username(self, username):',
      '        return self._helper(username)',
      '    async def check_allowed(self, username, model):',
      '        return True',
      'c.JupyterHub.authenticator_class = MyAuth',
      '',
    ].join('\n');
    await assert.rejects(load({ cwd: withFiles({ 'jupyterhub_config.py': py }), env }), (e: Error) => {
      assert.match(e.message, /^jupyterhub_config.py:7: the method MyAuth.check_allowed \(of the class set as JupyterHub.authenticator_class at jupyterhub_config.py:9\) is not supported: jhub calls only normalize_username, authenticate, load_managed_roles/);
      return true;
    });
  });
});

describe('Python bridge in a running hub: a subclass overriding normalize_username', () => {
  let hub: RunningHub;
  const configPy = [
    'from jupyterhub.auth import DummyAuthenticator',
    '',
    'class MyDummy(DummyAuthenticator):',
    '    def normalize_username(self, username):',
    "        if username == 'loop':",
    '            while True:',
    '                pass',
    '        username = username.lower()',
    "        username = username.split('@')[0]",
    '        return username',
    '',
    'c.JupyterHub.authenticator_class = MyDummy',
    '',
  ].join('\n');

  before(async () => {
    hub = await startHub({ configPy, env: { JHUB_PYTHON_HOOK_TIMEOUT: '1' } });
  });
  after(async () => {
    await hub?.cleanup();
  });

  async function login(username: string): Promise<Response> {
    const client = new CookieClient();
    const page = await client.get(`${hub.url}/hub/login`);
    const xsrf = xsrfFrom(await page.text());
    const res = await client.postForm(`${hub.url}/hub/login`, { username, password: 'x', _xsrf: xsrf });
    await res.arrayBuffer();
    return res;
  }
  async function userNames(): Promise<string[]> {
    const r = await hub.apiFetch('/users');
    assert.equal(r.status, 200);
    return ((await r.json()) as { name: string }[]).map((u) => u.name).sort();
  }

  test('log in as Foo.Bar@Example.org creates the user foo.bar', async () => {
    const res = await login('Foo.Bar@Example.org');
    assert.equal(res.status, 302);
    assert.ok((await userNames()).includes('foo.bar'));
    assert.ok(!(await userNames()).some((n) => /example/i.test(n)));
  });

  test('a normalize_username that loops forever: the login fails, the hub still answers', async () => {
    const res = await login('loop');
    assert.notEqual(res.status, 302);
    assert.match(hub.output(), /normalize_username timed out/);
    const r = await fetch(`${hub.url}/hub/api/`);
    assert.equal(r.status, 200);
    assert.equal((await login('Second@Example.org')).status, 302);
    assert.ok((await userNames()).includes('second'));
  });

  test('the Python process is killed: restarted, logins keep working', async () => {
    const m = /Python process \(pid (\d+)\)/.exec(hub.output());
    assert.ok(m, hub.output());
    process.kill(Number(m[1]), 'SIGKILL');
    await hub.waitForOutput(/Python bridge for jupyterhub_config.py: .*restarting it/);
    assert.equal((await login('Third@Example.org')).status, 302);
    assert.ok((await userNames()).includes('third'));
  });

  test('the Python process ends with the hub', async () => {
    const pids = [...hub.output().matchAll(/pid (\d+)\)/g)].map((x) => Number(x[1]));
    await hub.stop();
    for (const pid of pids) await waitFor(() => !alive(pid), `python ${pid} to exit with the hub`);
  });
});
