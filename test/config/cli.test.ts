import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fromStrings, parseArgs } from '../../src/cli/args.js';
import { ConfigError } from '../../src/config/config.js';
import { allClasses, findTrait, traitsOf } from '../../src/config/schema.js';
import { generatedClasses } from '../../src/config/render.js';
import { jhub, load, SEEDS, tmpdir, withFiles } from './helpers.js';

const HOME = '/home/jhub-test-home';
const env = { ...process.env, HOME };

function showJson(args: string[], cwd = tmpdir(), e: NodeJS.ProcessEnv = env) {
  const r = jhub(['--show-config-json', ...args], { cwd, env: e });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
}

test('--version prints the JupyterHub-compatible version', () => {
  const r = jhub(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '5.3.0\n');
});

test('-h shows usage, aliases and flags; --help-all lists every trait of every class', () => {
  const h = jhub(['-h']);
  assert.equal(h.code, 0);
  for (const s of ['--port', '--ip', '--url', '--base-url', '--ssl-key', '--db', '--log-level', '--debug', '--no-db', '--generate-config', 'token [username]', 'upgrade-db'])
    assert.ok(h.stdout.includes(s), s);
  const all = jhub(['--help-all']);
  assert.equal(all.code, 0);
  for (const c of allClasses()) for (const t of c.traits) assert.ok(all.stdout.includes(`--${c.name}.${t.name}=<`), `${c.name}.${t.name}`);
  assert.match(all.stdout, /--JupyterHub.port=<Int>\n {4}Public TCP port of the proxy.\n {4}Default: 8000/);
});

test('seed command lines: aliases with space and = forms', () => {
  const a = showJson(['--ip', '10.0.1.2', '--port', '443', '--ssl-key', 'my_ssl.key', '--ssl-cert', 'my_cert.cert']);
  assert.deepEqual(a.JupyterHub, { ip: '10.0.1.2', port: 443, ssl_key: 'my_ssl.key', ssl_cert: 'my_cert.cert' });
  const b = showJson(['--ip=192.168.1.2', '--port=443']);
  assert.deepEqual(b.JupyterHub, { ip: '192.168.1.2', port: 443 });
  const c = showJson(['--Application.show_config=True']);
  assert.equal(c.Application.show_config, true);
});

test("--Spawner.notebook_dir='~/assignments': ~ is the hub's home; quotes that reach the hub prevent it", () => {
  const r = jhub(['--show-config-json', '--Spawner.notebook_dir=~/assignments'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).Spawner.notebook_dir, `${HOME}/assignments`);
  assert.match(r.stderr, /'~' was expanded to the hub's home directory/);
  const q = showJson(["--Spawner.notebook_dir='~/assignments'"]);
  assert.equal(q.Spawner.notebook_dir, '~/assignments');
  const dq = showJson(['--JupyterHub.db_url="sqlite:///x.sqlite"']);
  assert.equal(dq.JupyterHub.db_url, 'sqlite:///x.sqlite');
});

test('every trait type from the command line', () => {
  const j = showJson([
    '--JupyterHub.trusted_alt_names=a', '--JupyterHub.trusted_alt_names', 'b',
    "--Spawner.args=['--x', '--y']",
    '--Spawner.environment', 'A=1', '--Spawner.environment=B=x=y',
    '--JupyterHub.tornado_settings={"headers": {"X": "1"}, "slow_spawn_timeout": 5}',
    '--Authenticator.admin_users=alice', '--Authenticator.admin_users=bob', '--Authenticator.admin_users=alice',
    "--Authenticator.blocked_users={'x', 'y'}",
    '--JupyterHub.cookie_max_age_days=0.5',
    '--JupyterHub.reset_db=1', '--JupyterHub.cleanup_servers', 'false', '--JupyterHub.debug_db',
    '--JupyterHub.cookie_secret=abcdef',
    '--JupyterHub.named_server_limit_per_user=3',
    '--JupyterHub.default_url=/hub/home',
    '--Spawner.mem_limit=2G',
    '--JupyterHub.spawn_throttle_retry_range=(1, 2)',
    '--LocalAuthenticator.add_user_cmd=useradd',
    '--LocalAuthenticator.uids', 'alice=1001',
    '--JupyterHub.authenticator_class=DUMMY',
    '--JupyterHub.init_spawners_timeout', '-1',
  ]);
  assert.deepEqual(j.JupyterHub.trusted_alt_names, ['a', 'b']);
  assert.deepEqual(j.Spawner.args, ['--x', '--y']);
  assert.deepEqual(j.Spawner.environment, { A: '1', B: 'x=y' });
  assert.deepEqual(j.JupyterHub.tornado_settings, { headers: { X: '1' }, slow_spawn_timeout: 5 });
  assert.deepEqual(j.Authenticator.admin_users, ['alice', 'bob']);
  assert.deepEqual(j.Authenticator.blocked_users, ['x', 'y']);
  assert.equal(j.JupyterHub.cookie_max_age_days, 0.5);
  assert.equal(j.JupyterHub.reset_db, true);
  assert.equal(j.JupyterHub.cleanup_servers, false);
  assert.equal(j.JupyterHub.debug_db, true);
  // Union(Bytes, Unicode): like traitlets, the command line gives bytes (shown as hex)
  assert.equal(j.JupyterHub.cookie_secret, Buffer.from('abcdef').toString('hex'));
  assert.equal(j.JupyterHub.named_server_limit_per_user, 3);
  assert.equal(j.JupyterHub.default_url, '/hub/home');
  assert.equal(j.Spawner.mem_limit, 2 * 1024 ** 3);
  assert.deepEqual(j.JupyterHub.spawn_throttle_retry_range, [1, 2]);
  assert.deepEqual(j.LocalAuthenticator.add_user_cmd, ['useradd']);
  assert.deepEqual(j.LocalAuthenticator.uids, { alice: 1001 });
  assert.equal(j.JupyterHub.authenticator_class, 'DummyAuthenticator');
  assert.equal(j.JupyterHub.init_spawners_timeout, -1);
});

test('flags and the remaining aliases', () => {
  const j = showJson(['--debug', '--no-db', '--upgrade-db', '--url', 'http://:9000', '--base-url=/x/', '--pid-file', 'p.pid', '--db', 'sqlite:///y.sqlite', '--log-level=WARN']);
  assert.equal(j.Application.log_level, 'WARN');
  assert.equal(j.JupyterHub.upgrade_db, true);
  assert.equal(j.JupyterHub.bind_url, 'http://:9000');
  assert.equal(j.JupyterHub.base_url, '/x/');
  assert.equal(j.JupyterHub.pid_file, 'p.pid');
  assert.equal(j.JupyterHub.db_url, 'sqlite:///y.sqlite');
  const n = showJson(['--no-db']);
  assert.equal(n.JupyterHub.db_url, 'sqlite:///:memory:');
  const d = showJson(['--debug']);
  assert.equal(d.Application.log_level, 'DEBUG');
});

test('unknown options: error naming it, "did you mean", exit 1, no stack', () => {
  const r = jhub(['--prot=8000']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Unrecognized option: '--prot'. Did you mean '--port'\?/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const t = jhub(['--JupyterHub.prot=1']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /JupyterHub has no trait 'prot'. Did you mean '--JupyterHub.port'\?/);
  const c = jhub(['--JupyterHb.port=1']);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /unknown class 'JupyterHb'. Did you mean '--JupyterHub.port'\?/);
  const v = jhub(['--port=eighty']);
  assert.equal(v.code, 1);
  assert.match(v.stderr, /invalid value for --port: expected an int, not "eighty"/);
  const s = jhub(['tokn']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /Unrecognized argument: 'tokn'. Did you mean 'token'\?/);
});

test('config file errors: one line with file:line, exit 1', () => {
  const dir = withFiles({ 'jupyterhub_config.py': "c = get_config()\nc.JupyterHub.port = 'x'\n" });
  const r = jhub(['--show-config'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^\[E \d{4}-\d\d-\d\d [\d:.]+ JupyterHub app\] jupyterhub_config.py:2: invalid value for JupyterHub.port: expected an int, not the str 'x'\n$/);
  const m = jhub(['-f', 'missing.py'], { cwd: dir });
  assert.equal(m.code, 1);
  assert.equal(m.stderr, 'ERROR: Failed to find specified config file: missing.py\n');
});

test('command line beats the config file; -f with a seed file', () => {
  const cfg = path.join(SEEDS, '000_4be220bdd31270ac.py');
  const j = showJson(['-f', cfg, '--port', '8443']);
  assert.equal(j.JupyterHub.port, 8443);
  assert.equal(j.JupyterHub.hub_port, 54321);
});

test('no python3 on PATH: clear error for the .py file; a .json config still works', () => {
  const dir = withFiles({ 'jupyterhub_config.py': 'c.JupyterHub.port = 1\n', 'alt.json': '{"JupyterHub": {"port": 2}}' });
  const noPy = { HOME, PATH: '/nonexistent-dir' };
  const r = jhub(['--show-config-json'], { cwd: dir, env: noPy });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /'python3' was not found on PATH/);
  const j = showJson(['-f', 'alt.json'], dir, noPy);
  assert.equal(j.JupyterHub.port, 2);
});

test('--generate-config writes every trait; the file loads back; -y and refusal without a TTY', async () => {
  const dir = tmpdir();
  const r = jhub(['--generate-config', '-f', path.join(dir, 'jupyterhub_config.py')], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(path.join(dir, 'jupyterhub_config.py'), 'utf8');
  for (const c of generatedClasses()) for (const t of c.traits) assert.ok(text.includes(`\n# c.${c.name}.${t.name} = `), `${c.name}.${t.name}`);
  assert.match(text, /\n# c.JupyterHub.port = 8000\n/);
  assert.match(text, /\n# c.Authenticator.admin_users = set\(\)\n/);
  assert.match(text, /\n# c.JupyterHub.authenticator_class = 'jupyterhub.auth.PAMAuthenticator'\n/);
  // loads back: nothing set
  const { config } = await load({ cwd: dir });
  assert.deepEqual(config.toJSON(), {});
  // every commented assignment is valid when uncommented
  writeFileSync(path.join(dir, 'all.py'), text.replace(/^# (c\.\w+\.\w+ = .*)$/gm, '$1'));
  const { config: all } = await load({ cwd: dir, configFile: 'all.py', env: {} });
  assert.equal(all.get('JupyterHub', 'port'), 8000);
  assert.equal(all.get('JupyterHub', 'authenticator_class'), 'PAMAuthenticator');
  assert.deepEqual(all.get('JupyterHub', 'spawn_throttle_retry_range'), [30, 60]);
  // refuses to overwrite without -y when there is no TTY
  const again = jhub(['--generate-config', '-f', 'jupyterhub_config.py'], { cwd: dir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists.*-y/);
  writeFileSync(path.join(dir, 'jupyterhub_config.py'), '# mine\n');
  const yes = jhub(['--generate-config', '-f', 'jupyterhub_config.py', '-y'], { cwd: dir });
  assert.equal(yes.code, 0, yes.stderr);
  assert.ok(readFileSync(path.join(dir, 'jupyterhub_config.py'), 'utf8').length > 1000);
});

test('--show-config prints the explicit settings', () => {
  const dir = withFiles({ 'jupyterhub_config.py': "c.JupyterHub.port = 1\nc.Authenticator.admin_users = {'a'}\n" });
  const r = jhub(['--show-config'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /JupyterHub:\n {2}\.port = 1\n/);
  assert.match(r.stdout, /Authenticator:\n {2}\.admin_users = \['a'\]/);
  // c.Application.show_config = True in the file does the same (seed 003)
  const s = jhub([], { cwd: withFiles({ 'jupyterhub_config.py': 'c.Application.show_config = True\nc.JupyterHub.port = 2\n' }) });
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /\.port = 2/);
});

test('parseArgs: subcommands and structured result', () => {
  const t = parseArgs(['token', 'alice', '-f', 'x.py', '--db=sqlite:///t.sqlite', '--log-level', 'DEBUG']);
  assert.equal(t.command, 'token');
  assert.equal(t.tokenUser, 'alice');
  assert.equal(t.configFile, 'x.py');
  assert.equal(t.cliConfig.JupyterHub.db_url.value, 'sqlite:///t.sqlite');
  assert.equal(t.cliConfig.Application.log_level.value, 'DEBUG');
  assert.equal(parseArgs(['token']).tokenUser, undefined);
  assert.equal(parseArgs(['upgrade-db', '-f', 'y.py']).command, 'upgrade-db');
  assert.equal(parseArgs([]).command, 'run');
  assert.equal(parseArgs(['--generate-config', '-y']).answerYes, true);
  assert.equal(parseArgs(['--generate-config']).command, 'generate-config');
  assert.equal(parseArgs(['--upgrade-db']).cliConfig.JupyterHub.upgrade_db.value, true);
  assert.equal(parseArgs(['--port', '1', '-h']).command, 'help');
  assert.throws(() => parseArgs(['--port']), (e: Error) => e instanceof ConfigError && /needs a value/.test(e.message));
  assert.throws(() => parseArgs(['--Spawner.pre_spawn_hook=x']), /cannot be given on the command line/);
  const def = findTrait('JupyterHub', 'cookie_secret')!.def;
  assert.deepEqual(fromStrings(def, ['abc'], '--x'), Buffer.from('abc'));
  assert.equal(fromStrings(findTrait('JupyterHub', 'default_url')!.def, ['/x'], '--x'), '/x');
  const bytes = fromStrings({ name: 'b', type: 'Bytes', help: '' }, ["b'xyz'"], '--x') as Buffer;
  assert.equal(bytes.toString(), 'xyz');
  assert.ok(traitsOf('JupyterHub').length > 80);
});

test('TypeScript config syntax error gives file:line', async () => {
  const dir = withFiles({ 'jupyterhub_config.ts': 'export default (c: any) => {\n  c.JupyterHub.port = ;\n};\n' });
  const r = jhub(['--show-config'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /jupyterhub_config.ts:2: /);
  const left = (await import('node:fs')).readdirSync(dir);
  assert.deepEqual(left, ['jupyterhub_config.ts']);
});
