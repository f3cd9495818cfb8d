import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Config, ConfigError } from '../../src/config/config.js';
import { allClasses, getClass, resolveClassAlias, traitsOf } from '../../src/config/schema.js';
import { renderPublicTypes } from '../../src/config/typegen.js';
import { ROOT } from './helpers.js';

test('every class has help, every trait has help and a valid default', () => {
  const c = new Config({ env: {} });
  for (const cls of allClasses()) {
    assert.ok(cls.help, cls.name);
    if (cls.parent) assert.ok(getClass(cls.parent), `${cls.name} parent`);
    for (const t of traitsOf(cls.name)) {
      assert.ok(t.help, `${cls.name}.${t.name} help`);
      // resolving every default must work (dynamic defaults included)
      c.get(cls.name, t.name);
    }
  }
});

test('authenticator aliases resolve (case-insensitive)', () => {
  const cases: [string, string][] = [
    ['default', 'PAMAuthenticator'],
    ['pam', 'PAMAuthenticator'],
    ['PAM', 'PAMAuthenticator'],
    ['dummy', 'DummyAuthenticator'],
    ['shared-password', 'SharedPasswordAuthenticator'],
    ['null', 'NullAuthenticator'],
    ['generic-oauth', 'GenericOAuthenticator'],
    ['Generic-OAuth', 'GenericOAuthenticator'],
    ['local-generic-oauth', 'LocalGenericOAuthenticator'],
    ['jupyterhub.auth.PAMAuthenticator', 'PAMAuthenticator'],
    ['jupyterhub.auth.DummyAuthenticator', 'DummyAuthenticator'],
    ['jupyterhub.auth.LocalAuthenticator', 'LocalAuthenticator'],
    ['jupyterhub.authenticators.shared.SharedPasswordAuthenticator', 'SharedPasswordAuthenticator'],
    ['oauthenticator.generic.GenericOAuthenticator', 'GenericOAuthenticator'],
    ['oauthenticator.GenericOAuthenticator', 'GenericOAuthenticator'],
    ['oauthenticator.generic.LocalGenericOAuthenticator', 'LocalGenericOAuthenticator'],
  ];
  for (const [alias, name] of cases) assert.equal(resolveClassAlias('authenticator', alias).name, name, alias);
});

test('spawner and proxy aliases resolve', () => {
  const cases: [string, string][] = [
    ['default', 'LocalProcessSpawner'],
    ['localprocess', 'LocalProcessSpawner'],
    ['simple', 'SimpleLocalProcessSpawner'],
    ['jupyterhub.spawner.LocalProcessSpawner', 'LocalProcessSpawner'],
    ['jupyterhub.spawner.SimpleLocalProcessSpawner', 'SimpleLocalProcessSpawner'],
    ['sudospawner.SudoSpawner', 'SudoSpawner'],
  ];
  for (const [alias, name] of cases) assert.equal(resolveClassAlias('spawner', alias).name, name, alias);
  for (const a of ['default', 'configurable-http-proxy', 'jupyterhub.proxy.ConfigurableHTTPProxy'])
    assert.equal(resolveClassAlias('proxy', a).name, 'ConfigurableHTTPProxy');
});

test('known but unimplemented classes give "not available yet"', () => {
  for (const a of ['systemdspawner.SystemdSpawner', 'dockerspawner.DockerSpawner', 'dockerspawner.SwarmSpawner', 'kubespawner.KubeSpawner', 'batchspawner.SlurmSpawner']) {
    assert.throws(() => resolveClassAlias('spawner', a), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${a} is not available yet in jhub: `), a);
  }
  assert.throws(() => resolveClassAlias('authenticator', 'github'), /github is not available yet in jhub/);
});

test('unknown class names list the known ones', () => {
  assert.throws(
    () => resolveClassAlias('spawner', 'localproces'),
    (e: Error) => e instanceof ConfigError && /unknown class 'localproces' for JupyterHub.spawner_class; known: .*localprocess/.test(e.message),
  );
});

test('traitsOf includes inherited traits, subclass redeclarations win', () => {
  const names = traitsOf('LocalProcessSpawner').map((t) => t.name);
  for (const n of ['cmd', 'notebook_dir', 'pre_spawn_hook', 'interrupt_timeout', 'shell_cmd']) assert.ok(names.includes(n), n);
  const envKeep = traitsOf('LocalProcessSpawner').find((t) => t.name === 'env_keep')!;
  assert.ok((envKeep.default as string[]).includes('PATH'));
  assert.ok(traitsOf('LocalGenericOAuthenticator').some((t) => t.name === 'add_user_cmd'));
  assert.ok(traitsOf('LocalGenericOAuthenticator').some((t) => t.name === 'username_key'));
  assert.ok(traitsOf('JupyterHub').some((t) => t.name === 'log_level'));
});

test('src/config/public.ts is up to date with the schema', () => {
  const file = readFileSync(path.join(ROOT, 'src/config/public.ts'), 'utf8');
  assert.equal(file, renderPublicTypes(), 'regenerate src/config/public.ts (see its header)');
});
