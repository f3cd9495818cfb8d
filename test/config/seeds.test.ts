import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/config.js';
import { load, SEEDS } from './helpers.js';

const seed = (name: string) => path.join(SEEDS, name);

test('seed 000: basic network/security/auth/spawner/service settings', async () => {
  const { config: c, warnings } = await load({ configFile: seed('000_4be220bdd31270ac.py'), cwd: SEEDS });
  assert.equal(c.get('JupyterHub', 'ip'), '10.0.1.2');
  assert.equal(c.get('JupyterHub', 'port'), 443);
  assert.equal(c.get('JupyterHub', 'hub_ip'), '0.0.0.0');
  assert.equal(c.get('JupyterHub', 'hub_port'), 54321);
  assert.equal(c.get('JupyterHub', 'hub_connect_ip'), '10.0.1.4');
  assert.equal(c.get('JupyterHub', 'base_url'), '/jupyter/');
  assert.equal(c.get('JupyterHub', 'ssl_key'), '/path/to/my.key');
  assert.equal(c.get('JupyterHub', 'ssl_cert'), '/path/to/my.cert');
  assert.equal(c.get('JupyterHub', 'cookie_secret_file'), '/srv/jupyterhub/jupyterhub_cookie_secret');
  const secret = c.get<Buffer>('JupyterHub', 'cookie_secret');
  assert.ok(Buffer.isBuffer(secret));
  assert.equal(secret.toString('hex'), '0123456789abcdef'.repeat(4));
  // deprecated proxy_auth_token forwarded to the proxy
  assert.equal(c.get('ConfigurableHTTPProxy', 'auth_token'), '0bc02bede919e99a26de1e2a7a5aadfaf6228de836ec39a05a6c6942831d8fe5');
  assert.ok(warnings.some((w) => /000_4be220bdd31270ac.py:25: JupyterHub.proxy_auth_token is deprecated/.test(w)), warnings.join('\n'));
  // whitelist -> allowed_users (Set: array without duplicates)
  assert.deepEqual([...c.get<string[]>('Authenticator', 'allowed_users')].sort(), ['one', 'three', 'two']);
  assert.deepEqual(c.get('PAMAuthenticator', 'allowed_users'), c.get('Authenticator', 'allowed_users'));
  assert.deepEqual(c.get('Authenticator', 'admin_users'), ['one']);
  assert.deepEqual(c.get('PAMAuthenticator', 'admin_groups'), ['one']);
  assert.equal(c.get('LocalAuthenticator', 'create_system_users'), true);
  assert.equal(c.get('PAMAuthenticator', 'create_system_users'), true);
  assert.equal(c.get('DummyAuthenticator', 'password'), 'password');
  // ~ is not expanded for config-file values
  assert.equal(c.get('LocalProcessSpawner', 'notebook_dir'), '~/notebooks');
  assert.deepEqual(c.get('Spawner', 'args'), ['--NotebookApp.default_url=/notebooks/Welcome.ipynb']);
  const services = c.get<{ name: string; admin: boolean; command: string[] }[]>('JupyterHub', 'services');
  assert.equal(services.length, 1);
  assert.equal(services[0].name, 'cull-idle');
  assert.equal(services[0].admin, true);
  assert.match(services[0].command[0], /python/);
  assert.deepEqual(services[0].command.slice(1), ['cull_idle_servers.py', '--timeout=3600']);
  assert.deepEqual(c.origin('JupyterHub', 'port'), { source: 'file', file: seed('000_4be220bdd31270ac.py'), line: 9 });
});

test('seed 000 as printed: the bytes.fromhex placeholder is a Python error with file:line', async () => {
  const { withFiles } = await import('./helpers.js');
  const dir = withFiles({ 'jupyterhub_config.py': "c = get_config()\nc.JupyterHub.cookie_secret=bytes.fromhex('64 CHAR HEX STRING')\n" });
  await assert.rejects(load({ cwd: dir }), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^jupyterhub_config.py:2: error in config file: ValueError: non-hexadecimal number/);
    assert.doesNotMatch(e.message, /Traceback/);
    return true;
  });
});

test('seed 001: the subclass of GenericOAuthenticator loads; its normalize_username runs in Python', async () => {
  const { config: c } = await load({ configFile: seed('001_558406f3234234e9.py'), cwd: SEEDS });
  try {
    assert.equal(c.get('JupyterHub', 'authenticator_class'), 'GenericOAuthenticator');
    assert.equal(c.get('GenericOAuthenticator', 'client_id'), 'client_id');
    assert.equal(c.get('SystemdSpawner', 'unit_name_template'), 'jupyter-{USERNAME}-singleuser');
    const fn = c.get<(this: unknown, n: string) => string>('GenericOAuthenticator', 'normalize_username');
    assert.equal(typeof fn, 'function');
    assert.deepEqual(c.origin('GenericOAuthenticator', 'normalize_username'), { source: 'file', file: seed('001_558406f3234234e9.py'), line: 29 });
    // synchronous, as at the call site (Authenticator.normalizeUsername)
    assert.equal(fn.call(undefined, 'Foo.Bar@Example.org'), 'foo.bar');
  } finally {
    c.close();
  }
});

test('seed 001 without the subclass loads', async () => {
  const { config: c, warnings } = await load({ configFile: seed('001_558406f3234234e9_no_subclass.py'), cwd: SEEDS });
  assert.equal(c.get('JupyterHub', 'authenticator_class'), 'GenericOAuthenticator');
  assert.equal(c.get('GenericOAuthenticator', 'oauth_callback_url'), 'https://你的hub地址/hub/oauth_callback');
  assert.equal(c.get('GenericOAuthenticator', 'client_id'), 'client_id');
  assert.equal(c.get('GenericOAuthenticator', 'client_secret'), 'client_secret');
  assert.equal(c.get('GenericOAuthenticator', 'login_service'), '显示名称');
  assert.equal(c.get('GenericOAuthenticator', 'authorize_url'), 'https://单点登录系统/oauth/authorize');
  assert.equal(c.get('GenericOAuthenticator', 'userdata_url'), 'https://单点登录系统/user');
  assert.equal(c.get('GenericOAuthenticator', 'token_url'), 'https://单点登录系统/token');
  // deprecated username_key is forwarded to username_claim
  assert.equal(c.get('GenericOAuthenticator', 'username_claim'), 'email');
  assert.ok(warnings.some((w) => /username_key is deprecated since 16.0, use GenericOAuthenticator.username_claim/.test(w)));
  // a list for a Set trait is accepted
  assert.deepEqual(c.get('GenericOAuthenticator', 'allowed_users'), ['foo@bar.com', 'bar@baz.com']);
  assert.deepEqual(c.get('GenericOAuthenticator', 'username_map'), { 'foo@bar.com': 'foo-bar', 'bar@baz.com': 'my-local-name' });
  assert.deepEqual(c.get('LocalGenericOAuthenticator', 'add_user_cmd'), ['adduser', '-q', '--gecos', '""', '--home', '/customhome/USERNAME', '--disabled-password']);
  // LocalGenericOAuthenticator inherits the GenericOAuthenticator section
  assert.equal(c.get('LocalGenericOAuthenticator', 'client_id'), 'client_id');
  assert.equal(c.get('JupyterHub', 'spawner_class'), 'SystemdSpawner');
  assert.ok(warnings.some((w) => /SystemdSpawner .* not available yet/.test(w)));
  assert.equal(c.get('SystemdSpawner', 'dynamic_users'), true);
  assert.equal(c.get('SystemdSpawner', 'default_shell'), '/bin/zsh');
  assert.equal(c.get('SystemdSpawner', 'unit_name_template'), 'jupyter-{USERNAME}-singleuser');
  assert.equal(c.get('SystemdSpawner', 'isolate_tmp'), true);
  assert.equal(c.get('SystemdSpawner', 'isolate_devices'), false);
  assert.equal(c.get('SystemdSpawner', 'disable_user_sudo'), true);
  assert.deepEqual(c.get('SystemdSpawner', 'readonly_paths'), ['/']);
});

test('seed 001 add_user_cmd as printed (typographic quotes) is a SyntaxError with file:line', async () => {
  await assert.rejects(load({ configFile: seed('001_curly_quotes.py'), cwd: SEEDS }), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^001_curly_quotes.py:3: error in config file: SyntaxError: invalid character/);
    return true;
  });
});

test('seed 002: proxy_api_ip still feeds the proxy API URL; hex cookie secret string', async () => {
  const { config: c } = await load({ configFile: seed('002_26b23a7bd101ac26.py'), cwd: SEEDS, env: {} });
  assert.equal(c.get('JupyterHub', 'ip'), '192.168.1.2');
  assert.equal(c.get('JupyterHub', 'port'), 443);
  assert.equal(c.get('JupyterHub', 'hub_ip'), '10.0.0.5');
  assert.equal(c.get('ConfigurableHTTPProxy', 'api_url'), 'http://127.0.0.1:8001');
  assert.equal(c.get('JupyterHub', 'cookie_secret'), 'deadbeef'.repeat(8));
  assert.equal(c.get('ConfigurableHTTPProxy', 'auth_token'), 'a0'.repeat(32));
});

test('seed 003: ArchWiki settings, unknown ServerProxy section only warns', async () => {
  const { config: c, warnings } = await load({ configFile: seed('003_1642ec7c20ea4340.py'), cwd: SEEDS });
  assert.equal(c.get('JupyterHub', 'db_url'), 'sqlite:///jupyterhub.sqlite');
  assert.equal(c.get('Application', 'show_config'), true);
  assert.equal(c.get('JupyterHub', 'show_config'), true);
  assert.equal(c.get('JupyterHub', 'pid_file'), '/run/jupyterhub/jupyterhub.pid');
  assert.equal(c.get('ConfigurableHTTPProxy', 'pid_file'), '/run/jupyterhub/jupyterhub-proxy.pid');
  assert.equal(c.get('JupyterHub', 'spawner_class'), 'SystemdSpawner');
  const services = c.get<{ name: string; command: string[] }[]>('JupyterHub', 'services');
  assert.deepEqual(services[0].command.slice(1), ['-m', 'jupyterhub_idle_culler', '--timeout=3600']);
  assert.ok(warnings.some((w) => /003_1642ec7c20ea4340.py:22: unknown configurable class `ServerProxy`/.test(w)), warnings.join('\n'));
  assert.equal((c.toJSON().ServerProxy.servers as Record<string, { timeout: number }>)['code-server'].timeout, 20);
});

test('seed 003: sudospawner alias', async () => {
  const { withFiles } = await import('./helpers.js');
  const dir = withFiles({ 'jupyterhub_config.py': "c.JupyterHub.spawner_class='sudospawner.SudoSpawner'\n" });
  const { config: c } = await load({ cwd: dir });
  assert.equal(c.get('JupyterHub', 'spawner_class'), 'SudoSpawner');
  assert.deepEqual(c.get('SudoSpawner', 'sudo_args'), ['-nH']);
});

test('seed 004: services (the second assignment replaces the first)', async () => {
  const { config: c } = await load({ configFile: seed('004_006c18f2c470e003.py'), cwd: SEEDS });
  assert.deepEqual(c.get('JupyterHub', 'services'), [{ name: 'my-web-service', url: 'https://10.0.1.1:1984', api_token: 'super-secret' }]);
});
