import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Config, ConfigError } from '../../src/config/config.js';
import { load, ROOT, withFiles } from './helpers.js';

const rejectsWith = (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    assert.match(e.message, re);
    return true;
  });

test('lazy container operations merge with defaults and across sections', async () => {
  const dir = withFiles({
    'jupyterhub_config.py': [
      'c = get_config()',
      "c.Spawner.environment.update({'A': '1'})",
      "c.Spawner.environment['B'] = '2'",
      "c.LocalProcessSpawner.env_keep.append('MY_VAR')",
      "c.LocalProcessSpawner.env_keep.prepend(['FIRST'])",
      "c.LocalProcessSpawner.env_keep.insert(1, 'SECOND')",
      "c.Authenticator.admin_users.add('alice')",
      "c.Authenticator.admin_users.update({'bob', 'alice'})",
      "c.JupyterHub.services.append({'name': 'a'})",
      "c.JupyterHub.services.extend([{'name': 'b'}])",
      "c.JupyterHub.trusted_alt_names = ['x']",
      "c.JupyterHub.trusted_alt_names.append('y')",
      '',
    ].join('\n'),
  });
  const { config: c } = await load({ cwd: dir });
  assert.deepEqual(c.get('LocalProcessSpawner', 'environment'), { A: '1', B: '2' });
  const keep = c.get<string[]>('LocalProcessSpawner', 'env_keep');
  assert.equal(keep[0], 'FIRST');
  assert.ok(keep.includes('PATH') && keep.includes('SECOND'));
  assert.equal(keep[keep.length - 1], 'MY_VAR');
  // the base Spawner is not affected by the LocalProcessSpawner section
  assert.deepEqual(c.get('Spawner', 'env_keep'), ['JUPYTERHUB_SINGLEUSER_APP']);
  assert.deepEqual([...c.get<string[]>('Authenticator', 'admin_users')].sort(), ['alice', 'bob']);
  assert.deepEqual(c.get('JupyterHub', 'services'), [{ name: 'a' }, { name: 'b' }]);
  assert.deepEqual(c.get('JupyterHub', 'trusted_alt_names'), ['x', 'y']);
  assert.equal(c.origin('Spawner', 'environment').line, 3);
});

test('lazy operations from the file merge with a command-line value and vice versa', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': "c.JupyterHub.trusted_alt_names.append('fromfile')\n" });
  const { config: c } = await load({ cwd: dir, cliArgs: { JupyterHub: { trusted_alt_names: { value: ['a'], arg: '--JupyterHub.trusted_alt_names=a' } } } });
  // the command line assigns: it replaces the lazy value of the file
  assert.deepEqual(c.get('JupyterHub', 'trusted_alt_names'), ['a']);
  const dir2 = withFiles({ 'jupyterhub_config.py': "c.Spawner.environment = {'A': 'file'}\n", 'jupyterhub_config.json': '{"Spawner": {"environment": {"B": "json"}}}' });
  const { config: c2 } = await load({ cwd: dir2 });
  assert.deepEqual(c2.get('Spawner', 'environment'), { B: 'json' });
});

test('wrong container method for the trait type is an error with file:line', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': "\nc.Authenticator.admin_users.append('x')\n" });
  await rejectsWith(load({ cwd: dir }), /^jupyterhub_config.py:2: Authenticator.admin_users is a set: use add\/update/);
  const dir2 = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port.append(1)\n' });
  await rejectsWith(load({ cwd: dir2 }), /^jupyterhub_config.py:1: JupyterHub.port is not a container/);
});

test('load_subconfig runs another file into the same config (relative to the file)', async () => {
  const dir = withFiles({
    'jupyterhub_config.py': "c.JupyterHub.port = 1\nload_subconfig('sub/extra.py')\nc.JupyterHub.hub_port = 2\nload_subconfig('missing.py')\n",
  });
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub/extra.py'), "import os\nc.JupyterHub.port = 3\nc.Spawner.default_url = '/lab'\nc.JupyterHub.base_url = os.path.basename(os.path.dirname(__file__))\n");
  const { config: c, warnings } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'port'), 3);
  assert.equal(c.get('JupyterHub', 'hub_port'), 2);
  assert.equal(c.get('Spawner', 'default_url'), '/lab');
  assert.equal(c.get('JupyterHub', 'base_url'), '/sub/');
  assert.equal(c.origin('JupyterHub', 'port').file, path.join(dir, 'sub/extra.py'));
  assert.equal(c.origin('JupyterHub', 'port').line, 2);
  assert.equal(c.files.length, 2);
  assert.ok(warnings.some((w) => /missing.py not found/.test(w)));
});

test('jupyterhub_config.json next to the .py is loaded after it, with higher priority', async () => {
  const dir = withFiles({
    'hub.py': 'c.JupyterHub.port = 1\nc.JupyterHub.hub_port = 2\n',
    'hub.json': '{\n  "JupyterHub": {\n    "port": 8000\n  }\n}\n',
  });
  const { config: c } = await load({ cwd: dir, configFile: 'hub.py' });
  assert.equal(c.get('JupyterHub', 'port'), 8000);
  assert.equal(c.get('JupyterHub', 'hub_port'), 2);
  assert.deepEqual(c.origin('JupyterHub', 'port'), { source: 'file', file: path.join(dir, 'hub.json'), line: 3 });
});

test('precedence: defaults < file < json < command line < set()', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port = 1\nc.JupyterHub.hub_port = 2\nc.JupyterHub.ip = "a"\n', 'jupyterhub_config.json': '{"JupyterHub": {"hub_port": 3, "ip": "b"}}' });
  const { config: c } = await load({ cwd: dir, cliArgs: { JupyterHub: { ip: { value: 'c', arg: '--ip c' } } } });
  assert.equal(c.get('JupyterHub', 'port'), 1);
  assert.equal(c.get('JupyterHub', 'hub_port'), 3);
  assert.equal(c.get('JupyterHub', 'ip'), 'c');
  assert.deepEqual(c.origin('JupyterHub', 'ip'), { source: 'command line', arg: '--ip c' });
  assert.equal(c.get('JupyterHub', 'db_url'), 'sqlite:///jupyterhub.sqlite');
  assert.equal(c.isSet('JupyterHub', 'db_url'), false);
  c.set('JupyterHub', 'db_url', 'sqlite:///:memory:');
  assert.equal(c.get('JupyterHub', 'db_url'), 'sqlite:///:memory:');
  assert.equal(c.isSet('JupyterHub', 'db_url'), true);
  assert.equal(c.get('JupyterHub', 'ip'), 'c');
});

test('the most specific section wins; dynamic defaults follow other values', async () => {
  const dir = withFiles({
    'jupyterhub_config.py': [
      'c.Spawner.start_timeout = 10',
      'c.LocalProcessSpawner.start_timeout = 20',
      'c.JupyterHub.cookie_max_age_days = 1',
      'c.OAuthenticator.enable_auth_state = True',
      "c.Authenticator.allowed_users = {'x'}",
      '',
    ].join('\n'),
  });
  const { config: c } = await load({ cwd: dir, env: { OAUTH_CLIENT_ID: 'from-env' } });
  assert.equal(c.get('Spawner', 'start_timeout'), 10);
  assert.equal(c.get('LocalProcessSpawner', 'start_timeout'), 20);
  assert.equal(c.get('SimpleLocalProcessSpawner', 'start_timeout'), 20);
  assert.equal(c.get('JupyterHub', 'oauth_token_expires_in'), 86400);
  assert.equal(c.get('GenericOAuthenticator', 'refresh_pre_spawn'), true);
  assert.equal(c.get('PAMAuthenticator', 'refresh_pre_spawn'), false);
  assert.equal(c.get('GenericOAuthenticator', 'client_id'), 'from-env');
  assert.equal(c.get('PAMAuthenticator', 'allow_existing_users'), true);
  assert.equal(c.get('GenericOAuthenticator', 'allow_existing_users'), false);
  assert.equal(c.get('DummyAuthenticator', 'allow_all'), false);
  assert.equal(new Config({ env: {} }).get('DummyAuthenticator', 'allow_all'), true);
});

test('unknown trait and unknown class warn with "did you mean"', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.prot = 1\nc.Spawnr.cmd = ["x"]\nc.JupyterHub.port = 2\n' });
  const { config: c, warnings } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'port'), 2);
  assert.ok(warnings.some((w) => w === 'jupyterhub_config.py:1: Config option `prot` not recognized by `JupyterHub`. Did you mean `port`?'), warnings.join('\n'));
  assert.ok(warnings.some((w) => /^jupyterhub_config.py:2: unknown configurable class `Spawnr`.*Did you mean `Spawner`\?/.test(w)), warnings.join('\n'));
  assert.throws(() => c.get('JupyterHub', 'prot'), /JupyterHub has no trait 'prot'. Did you mean `port`\?/);
});

test('wrong type is an error naming the file and line', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': "c = get_config()\n\nc.JupyterHub.port = 'eighty'\n" });
  await rejectsWith(load({ cwd: dir }), /^jupyterhub_config.py:3: invalid value for JupyterHub.port: expected an int, not the str 'eighty'$/);
  const d2 = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port = 8000.0\n' });
  await rejectsWith(load({ cwd: d2 }), /:1: invalid value for JupyterHub.port: expected an int, not the float 8000.0/);
  const d3 = withFiles({ 'jupyterhub_config.py': "c.Spawner.args = ['a', 3]\n" });
  await rejectsWith(load({ cwd: d3 }), /:1: invalid value for Spawner.args: item 1: expected a str, not the int 3/);
  const d4 = withFiles({ 'jupyterhub_config.py': "c.JupyterHub.spawner_class = 'nosuch.Spawner'\n" });
  await rejectsWith(load({ cwd: d4 }), /:1: invalid value for JupyterHub.spawner_class: unknown class 'nosuch.Spawner'/);
});

test('Python syntax errors and exceptions: file:line and message, no traceback', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port = 1\nif True\n  pass\n' });
  await rejectsWith(load({ cwd: dir }), /^jupyterhub_config.py:2: error in config file: SyntaxError: /);
  const d2 = withFiles({ 'jupyterhub_config.py': "import os\n\nc.JupyterHub.ip = os.environ['JHUB_TEST_SURELY_UNSET']\n" });
  await rejectsWith(load({ cwd: d2, env: { PATH: process.env.PATH } }), /^jupyterhub_config.py:3: error in config file: KeyError: 'JHUB_TEST_SURELY_UNSET'$/);
  const d3 = withFiles({ 'jupyterhub_config.py': "c.JupyterHub.services = [{'command': [sys.executable]}]\n" });
  await rejectsWith(load({ cwd: d3 }), /^jupyterhub_config.py:1: error in config file: NameError: name 'sys' is not defined/);
  const d4 = withFiles({ 'jupyterhub_config.py': 'import sys\nsys.exit(3)\n' });
  await rejectsWith(load({ cwd: d4 }), /^jupyterhub_config.py:2: error in config file: the config file called exit\(3\)/);
});

test('Python functions cross through the Python bridge; where no function is allowed: error with file:line', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'def hook(spawner):\n    pass\n\nc.Spawner.pre_spawn_hook = hook\n' });
  const { config: c } = await load({ cwd: dir });
  try {
    assert.equal(typeof c.get('Spawner', 'pre_spawn_hook'), 'function');
    assert.ok(c.bridge?.running);
  } finally {
    c.close();
  }
  const d2 = withFiles({ 'jupyterhub_config.py': "def f():\n    pass\nc.JupyterHub.port = f\n" });
  await rejectsWith(load({ cwd: d2 }), /^jupyterhub_config.py:3: invalid value for JupyterHub.port: expected an int, not the Python function f/);
  const d3 = withFiles({ 'jupyterhub_config.py': 'import threading\nc.JupyterHub.port = threading.Lock()\n' });
  await rejectsWith(load({ cwd: d3 }), /^jupyterhub_config.py:2: JupyterHub.port is set to a Python lock/);
});

test('stand-in modules: imported classes cross by name', async () => {
  const dir = withFiles({
    'jupyterhub_config.py': [
      'from jupyterhub.auth import DummyAuthenticator',
      'from jupyterhub.spawner import SimpleLocalProcessSpawner',
      'import dockerspawner, kubespawner, batchspawner, systemdspawner, sudospawner, jupyterhub.app',
      'from oauthenticator.generic import GenericOAuthenticator',
      'c.JupyterHub.authenticator_class = DummyAuthenticator',
      'c.JupyterHub.spawner_class = SimpleLocalProcessSpawner',
      'assert issubclass(GenericOAuthenticator, __import__("oauthenticator").OAuthenticator)',
      'c.DockerSpawner.image = "x"',
      '',
    ].join('\n'),
  });
  const { config: c } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'authenticator_class'), 'DummyAuthenticator');
  assert.equal(c.get('JupyterHub', 'spawner_class'), 'SimpleLocalProcessSpawner');
});

test('no python3 on PATH: clear error for .py, .json still works', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port = 1\n', 'only.json': '{"JupyterHub": {"port": 2}}' });
  const env = { PATH: '/nonexistent-dir' };
  await rejectsWith(load({ cwd: dir, env }), /cannot load .*jupyterhub_config.py: 'python3' was not found on PATH/);
  const { config: c } = await load({ cwd: dir, env, configFile: 'only.json' });
  assert.equal(c.get('JupyterHub', 'port'), 2);
});

test('a Python config that runs too long is stopped', async () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'while True:\n    pass\n' });
  const { loadConfig } = await import('../../src/config/loader.js');
  await rejectsWith(
    loadConfig({ cwd: dir, cliArgs: {}, env: process.env, log: { warn() {} }, pythonTimeoutMs: 300 }),
    /took longer than 0 s and was stopped|and was stopped/,
  );
});

test('JSON config: values, errors with line numbers', async () => {
  const dir = withFiles({ 'c.json': '{\n  "JupyterHub": {"port": 8001, "cookie_secret": "ab"},\n  "Spawner": {"args": ["--x"]}\n}\n', 'bad.json': '{\n  "JupyterHub": {\n    "port": 1,\n  }\n}\n', 'type.json': '{\n  "JupyterHub": {\n    "port": "x"\n  }\n}\n' });
  const { config: c } = await load({ cwd: dir, configFile: 'c.json' });
  assert.equal(c.get('JupyterHub', 'port'), 8001);
  assert.deepEqual(c.get('Spawner', 'args'), ['--x']);
  await rejectsWith(load({ cwd: dir, configFile: 'bad.json' }), /^bad.json:\d: invalid JSON/);
  await rejectsWith(load({ cwd: dir, configFile: 'type.json' }), /^type.json:3: invalid value for JupyterHub.port: expected an int, not the str 'x'/);
});

test('YAML config: values and line numbers', async () => {
  const dir = withFiles({
    'jupyterhub_config.yaml': 'JupyterHub:\n  port: 8002\n  services:\n    - name: a\n      url: http://127.0.0.1:1\nAuthenticator:\n  admin_users: [alice, alice, bob]\n',
    'bad.yaml': 'JupyterHub:\n  port: [1\n',
    'type.yml': 'JupyterHub:\n  port: 1\n  hub_port: nope\n',
  });
  const { config: c } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'port'), 8002);
  assert.deepEqual(c.get('JupyterHub', 'services'), [{ name: 'a', url: 'http://127.0.0.1:1' }]);
  assert.deepEqual(c.get('Authenticator', 'admin_users'), ['alice', 'bob']);
  assert.equal(c.origin('JupyterHub', 'port').line, 2);
  await rejectsWith(load({ cwd: dir, configFile: 'bad.yaml' }), /^bad.yaml:\d+: invalid YAML/);
  await rejectsWith(load({ cwd: dir, configFile: 'type.yml' }), /^type.yml:3: invalid value for JupyterHub.hub_port/);
});

test('TypeScript config with a hook, lazy containers and type imports', async () => {
  const dir = withFiles({
    'jupyterhub_config.ts': [
      `import type { Config } from ${JSON.stringify(path.join(ROOT, 'src/config/public.js'))};`,
      'interface Extra { n: number }',
      'const extra: Extra = { n: 8003 };',
      'export default function (c: Config): void {',
      '  c.JupyterHub.port = extra.n as number;',
      '  c.Spawner.pre_spawn_hook = async (spawner: unknown) => { (spawner as { x?: number }).x = 1; };',
      "  c.Spawner.environment.FOO = 'bar';",
      "  c.LocalProcessSpawner.env_keep.push('MINE');",
      "  c.GenericOAuthenticator.normalize_username = (name: string) => name.split('@')[0];",
      "  c.JupyterHub.ip = 42 as unknown as string;",
      '}',
      '',
    ].join('\n'),
  });
  await rejectsWith(load({ cwd: dir }), /^jupyterhub_config.ts:10: invalid value for JupyterHub.ip: expected a str, not the int 42/);
  writeFileSync(path.join(dir, 'jupyterhub_config.ts'), (await import('node:fs')).readFileSync(path.join(dir, 'jupyterhub_config.ts'), 'utf8').replace('  c.JupyterHub.ip = 42 as unknown as string;\n', ''));
  const { config: c } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'port'), 8003);
  const hook = c.get<(s: { x?: number }) => Promise<void>>('Spawner', 'pre_spawn_hook');
  const sp: { x?: number } = {};
  await hook(sp);
  assert.equal(sp.x, 1);
  assert.deepEqual(c.get('Spawner', 'environment'), { FOO: 'bar' });
  assert.ok(c.get<string[]>('LocalProcessSpawner', 'env_keep').includes('PATH'));
  assert.ok(c.get<string[]>('LocalProcessSpawner', 'env_keep').includes('MINE'));
  assert.equal(c.get<(n: string) => string>('GenericOAuthenticator', 'normalize_username')('a@b'), 'a');
  assert.equal(c.origin('JupyterHub', 'port').line, 5);
});

test('TypeScript config: the typescript package compiles it on every Node.js (enums, namespaces, parameter properties; no warning)', async () => {
  // Node 22.13+/24 has module.stripTypeScriptTypes, which rejects these (strip-only) and prints
  // an ExperimentalWarning: the config must read the same whatever Node.js runs the hub.
  const dir = withFiles({
    'jupyterhub_config.ts': [
      'enum Port { Public = 8123 }',
      'namespace Names { export const spawner: string = "simple"; }',
      'class Where { constructor(public ip: string) {} }',
      "const where: Where = new Where('127.0.0.2');",
      'export default (c: any): void => {',
      '  c.JupyterHub.port = Port.Public;',
      '  c.JupyterHub.ip = where.ip;',
      '  c.JupyterHub.spawner_class = Names.spawner;',
      '};',
      '',
    ].join('\n'),
    'bad.ts': 'const a = 1;\nconst x: = 2;\n',
  });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const { config: c } = await load({ cwd: dir });
    assert.equal(c.get('JupyterHub', 'port'), 8123);
    assert.equal(c.get('JupyterHub', 'ip'), '127.0.0.2');
    assert.equal(c.get('JupyterHub', 'spawner_class'), 'SimpleLocalProcessSpawner');
    assert.equal(c.origin('JupyterHub', 'ip').line, 7);
    await rejectsWith(load({ cwd: dir, configFile: 'bad.ts' }), /^bad.ts:2: syntax error in config file: .*TS1110/);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});

test('JavaScript config via the global get_config(), and errors with file:line', async () => {
  const dir = withFiles({
    'jupyterhub_config.mjs': "const c = get_config();\nc.JupyterHub.port = 8004;\nc.Authenticator.post_auth_hook = (a, h, auth) => auth;\n",
    'throws.mjs': "export default (c) => {\n  c.JupyterHub.port = 1;\n  throw new Error('boom');\n};\n",
  });
  const { config: c } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'port'), 8004);
  assert.equal(typeof c.get('Authenticator', 'post_auth_hook'), 'function');
  assert.equal(c.origin('JupyterHub', 'port').line, 2);
  await rejectsWith(load({ cwd: dir, configFile: 'throws.mjs' }), /^.*throws.mjs:3: error in config file: Error: boom/);
});

test('a missing named config file is an error; a missing default one is skipped', async () => {
  const dir = withFiles({});
  await rejectsWith(load({ cwd: dir, configFile: 'nope.py' }), /^Failed to find specified config file: nope.py$/);
  const { config: c } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'port'), 8000);
  assert.deepEqual(c.files, []);
});

test('values are frozen and cached; set() validates', () => {
  const c = new Config({ env: {} });
  const keep = c.get<string[]>('LocalProcessSpawner', 'env_keep');
  assert.throws(() => keep.push('x'));
  assert.equal(c.get('LocalProcessSpawner', 'env_keep'), keep);
  assert.throws(() => c.set('JupyterHub', 'port', 'x'), /invalid value for JupyterHub.port/);
  c.set('Spawner', 'mem_limit', '1G');
  assert.equal(c.get('Spawner', 'mem_limit'), 1024 ** 3);
  c.set('JupyterHub', 'base_url', 'hub');
  assert.equal(c.get('JupyterHub', 'base_url'), '/hub/');
  c.set('JupyterHub', 'log_level', 'debug');
  assert.equal(c.get('JupyterHub', 'log_level'), 'DEBUG');
  assert.throws(() => c.get('NoSuchClass', 'x'), /unknown configurable class 'NoSuchClass'/);
});
