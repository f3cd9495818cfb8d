/** An operator's Python script (requests) against the hub, as against JupyterHub. */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, VENV_BIN, type RunningHub } from '../helpers/hub.js';
import { apiHub } from './util.js';

let hub: RunningHub;
before(async () => {
  hub = await apiHub();
});
after(async () => {
  await hub?.stop();
});

it('python requests script: create, paginate, token, whoami, delete', async () => {
  const { stdout } = await promisify(execFile)(path.join(VENV_BIN, 'python'), [path.join(ROOT, 'test/api/client_script.py'), hub.api, hub.adminToken, 'py'], { timeout: 120000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(out.created, 25);
  assert.equal(out.listed, 25);
  assert.equal(out.pages, 3);
  assert.equal(out.whoami, 'py-0');
  assert.equal(out.forbidden, 403);
  assert.equal(out.remaining, 0);
  assert.match(out.version, /^\d+\.\d+/);
});

it('serves its OpenAPI description; real responses validate against it', async () => {
  const { OPENAPI, validate, responseSchema, call } = await import('./util.js');
  const r = await fetch(`${hub.api}/openapi.json`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), OPENAPI);
  assert.equal((await fetch(`${hub.api}/openapi.yaml`)).status, 200);
  await call(hub, '/users', { method: 'POST', json: { usernames: ['oa1', 'oa2'] } });
  await call(hub, '/groups/oag', { method: 'POST', json: { users: ['oa1'] } });
  const checks: [string, string, string, number, string?][] = [
    ['/', '/', 'get', 200],
    ['/info', '/info', 'get', 200],
    ['/user', '/user', 'get', 200],
    ['/users', '/users', 'get', 200],
    ['/users/oa1', '/users/{name}', 'get', 200],
    ['/users/nobody', '/users/{name}', 'get', 404],
    ['/groups', '/groups', 'get', 200],
    ['/groups/oag', '/groups/{name}', 'get', 200],
    ['/services', '/services', 'get', 200],
    ['/proxy', '/proxy', 'get', 200],
    ['/users/oa1/tokens', '/users/{name}/tokens', 'get', 200],
  ];
  for (const [p, spec, method, status] of checks) {
    const res = await call(hub, p);
    assert.equal(res.status, status, p);
    const schema = responseSchema(spec, method, status);
    assert.ok(schema, `schema for ${method} ${spec} ${status}`);
    assert.deepEqual(validate(res.body, schema), [], p);
  }
});
