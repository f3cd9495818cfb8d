/**
 * What a managed service receives (singleuser-and-services.md §4), running as another
 * system user, tokens at rest, the legacy authorization endpoints, and services removed
 * from the configuration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort, type RunningHub } from '../helpers/hub.js';
import { PYTHON, ensureUsers, userToken, waitFor, startServicesHub } from './util.js';

// Dumps its environment, uid and cwd to $DUMP_FILE, then serves HTTP on JUPYTERHUB_SERVICE_URL (if any) or sleeps.
const DUMP = `
import json, os, sys, time
from urllib.parse import urlparse
info = {"env": dict(os.environ), "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "cwd": os.getcwd()}
with open(os.environ["DUMP_FILE"], "w") as f:
    json.dump(info, f)
url = os.environ.get("JUPYTERHUB_SERVICE_URL")
if url:
    from http.server import HTTPServer, SimpleHTTPRequestHandler
    u = urlparse(url)
    HTTPServer((u.hostname, u.port), SimpleHTTPRequestHandler).serve_forever()
else:
    while True:
        time.sleep(60)
`;

interface Dump {
  env: Record<string, string>;
  uid: number;
  gid: number;
  groups: number[];
  cwd: string;
}

function readDump(file: string): Dump | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Dump;
  } catch {
    return null;
  }
}

describe('managed service environment and lifecycle', () => {
  let hub: RunningHub;
  let dir: string;
  let shared: string;
  let port: number;
  const extToken = 'legacy-caller-' + 'e'.repeat(20);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-svc-env-'));
    shared = fs.mkdtempSync(path.join(os.tmpdir(), 'jhub-svc-shared-'));
    fs.chmodSync(shared, 0o777);
    port = await freePort();
    hub = await startServicesHub({
      dir,
      config: {
        JupyterHub: {
          services: [
            { name: 'dump', command: [PYTHON, '-c', DUMP], environment: { DUMP_FILE: path.join(dir, 'dump.json'), EXTRA: 'x', JUPYTERHUB_BASE_URL: '/overridden/' } },
            {
              name: 'asnobody',
              url: `http://127.0.0.1:${port}`,
              command: ['/usr/bin/python3', '-c', DUMP],
              user: 'nobody',
              cwd: shared,
              environment: { DUMP_FILE: path.join(shared, 'nobody.json') },
            },
            { name: 'caller', api_token: extToken },
          ],
        },
      },
      env: { LANG: 'C.UTF-8', SECRET_OF_HUB: 'not-for-services' },
    });
    await waitFor('dump files', async () => readDump(path.join(dir, 'dump.json')) && readDump(path.join(shared, 'nobody.json')), 20000);
  });

  after(async () => {
    await hub?.stop();
  });

  it('sets the variables of spec §4 and the environment dict last', () => {
    const d = readDump(path.join(dir, 'dump.json'))!;
    const e = d.env;
    assert.equal(e.JUPYTERHUB_SERVICE_NAME, 'dump');
    assert.match(e.JUPYTERHUB_API_TOKEN, /^[0-9a-f]{32}$/);
    assert.equal(e.JPY_API_TOKEN, e.JUPYTERHUB_API_TOKEN);
    assert.equal(e.JUPYTERHUB_API_URL, `http://127.0.0.1:${hub.ports.hub}/hub/api`);
    assert.equal(e.JUPYTERHUB_CLIENT_ID, 'service-dump');
    assert.deepEqual(JSON.parse(e.JUPYTERHUB_OAUTH_ACCESS_SCOPES), ['access:services', 'access:services!service=dump']);
    assert.equal(e.JUPYTERHUB_OAUTH_SCOPES, e.JUPYTERHUB_OAUTH_ACCESS_SCOPES);
    assert.equal(e.JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, '[]');
    assert.equal(e.JUPYTERHUB_USER, '');
    assert.equal(e.JUPYTERHUB_SERVER_NAME, '');
    assert.equal(e.JUPYTERHUB_HOST, '');
    assert.equal(e.JUPYTERHUB_PUBLIC_URL, '');
    assert.equal(e.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, '0');
    assert.equal(e.JUPYTERHUB_ACTIVITY_URL, undefined);
    assert.equal(e.JUPYTERHUB_SERVICE_URL, undefined, 'no URL configured');
    assert.equal(e.JUPYTERHUB_SERVICE_PREFIX, undefined);
    assert.equal(e.EXTRA, 'x');
    assert.equal(e.JUPYTERHUB_BASE_URL, '/overridden/', 'environment is applied last');
    assert.equal(e.LANG, 'C.UTF-8', 'env_keep');
    assert.equal(e.SECRET_OF_HUB, undefined, 'nothing else of the hub environment');
    assert.equal(e.CONFIGPROXY_AUTH_TOKEN, undefined);
    assert.equal(d.cwd, dir, "the hub's working directory by default");
  });

  it('sets URL variables and runs as the configured user, in its cwd', () => {
    const d = readDump(path.join(shared, 'nobody.json'))!;
    assert.equal(d.uid, 65534);
    assert.equal(d.gid, 65534);
    assert.ok(!d.groups.includes(0), `no root supplementary group: ${d.groups}`);
    assert.equal(d.cwd, shared);
    assert.equal(d.env.USER, 'nobody');
    assert.equal(d.env.JUPYTERHUB_USER, 'nobody');
    assert.equal(d.env.JUPYTERHUB_SERVICE_URL, `http://127.0.0.1:${port}`);
    assert.equal(d.env.JUPYTERHUB_SERVICE_PREFIX, '/services/asnobody/');
    assert.equal(d.env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/services/asnobody/oauth_callback');
    assert.equal(d.env.JUPYTERHUB_BASE_URL, '/');
  });

  it("the generated token identifies the service (and is stored only as a hash)", async () => {
    const tok = readDump(path.join(dir, 'dump.json'))!.env.JUPYTERHUB_API_TOKEN;
    const r = await fetch(`${hub.api}/user`, { headers: { Authorization: `token ${tok}` } });
    assert.equal(r.status, 200);
    const m = (await r.json()) as { kind: string; name: string };
    assert.deepEqual([m.kind, m.name], ['service', 'dump']);
    const db = new Database(path.join(dir, 'jupyterhub.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT hashed, prefix, note FROM api_tokens WHERE service_id IS NOT NULL').all() as { hashed: string; prefix: string; note: string }[];
      assert.ok(rows.length >= 3);
      for (const row of rows) {
        assert.ok(!row.hashed.includes(tok) && !row.hashed.includes(extToken));
        assert.match(row.hashed, /^(sha512|pbkdf2)\$/);
      }
      assert.ok(rows.some((r) => r.note === 'from config' && r.hashed.startsWith('pbkdf2$')), 'config tokens get the salted hash');
      assert.ok(rows.some((r) => r.note === 'generated at startup'));
    } finally {
      db.close();
    }
  });

  it('serves the legacy authorization endpoints to token-authenticated callers', async () => {
    await ensureUsers(hub, ['alice']);
    const alice = await userToken(hub, 'alice');
    const auth = { Authorization: `token ${extToken}` };
    const r = await fetch(`${hub.api}/authorizations/token/${alice}`, { headers: auth });
    assert.equal(r.status, 200);
    const m = (await r.json()) as { name: string; kind: string };
    assert.equal(m.name, 'alice');
    assert.equal(m.kind, 'user');
    assert.equal((await fetch(`${hub.api}/authorizations/token/${'0'.repeat(32)}`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${hub.api}/authorizations/token/${alice}`)).status, 403, 'needs a token');
    const post = await fetch(`${hub.api}/authorizations/token`, { method: 'POST', headers: auth });
    assert.equal(post.status, 404);
    assert.match(((await post.json()) as { message: string }).message, /removed in JupyterHub 2\.0/);
    // a value the hub never signed
    assert.equal((await fetch(`${hub.api}/authorizations/cookie/jupyterhub-services/forged`, { headers: auth })).status, 404);
  });

  it('creates and deletes external services at runtime through the API', async () => {
    const rtPort = await freePort();
    const rtToken = 'runtime-token-' + 'r'.repeat(20);
    const json = { 'Content-Type': 'application/json' };
    const c = await hub.apiFetch('/services/rt', { method: 'POST', headers: json, body: JSON.stringify({ url: `http://127.0.0.1:${rtPort}`, api_token: rtToken, info: { a: 1 } }) });
    assert.equal(c.status, 201, await c.clone().text());
    const m = (await c.json()) as { name: string; prefix: string; info: unknown };
    assert.deepEqual([m.name, m.prefix, m.info], ['rt', '/services/rt/', { a: 1 }]);
    let routes = (await (await hub.apiFetch('/proxy')).json()) as Record<string, { data: { service?: string } }>;
    assert.equal(routes['/services/rt/']?.data.service, 'rt', 'routed before the 201');
    assert.equal((await fetch(`${hub.api}/user`, { headers: { Authorization: `token ${rtToken}` } })).status, 200);
    assert.equal((await hub.apiFetch('/services/rt', { method: 'POST', headers: json, body: '{}' })).status, 409);
    assert.equal((await hub.apiFetch('/services/caller', { method: 'POST', headers: json, body: '{}' })).status, 409);
    assert.equal((await hub.apiFetch('/services/caller', { method: 'DELETE' })).status, 405);
    assert.equal((await hub.apiFetch('/services/rt', { method: 'DELETE' })).status, 200);
    routes = (await (await hub.apiFetch('/proxy')).json()) as Record<string, { data: { service?: string } }>;
    assert.equal(routes['/services/rt/'], undefined, 'route removed at once');
    assert.equal((await fetch(`${hub.api}/user`, { headers: { Authorization: `token ${rtToken}` } })).status, 403);
    assert.equal((await hub.apiFetch('/services/rt', { method: 'DELETE' })).status, 404);
  });

  it('deletes services removed from the config, with their tokens, at the next start', async () => {
    const gen = readDump(path.join(dir, 'dump.json'))!.env.JUPYTERHUB_API_TOKEN;
    const ports = hub.ports;
    const pids = await Promise.all(['dump', 'asnobody'].map(async (n) => ((await (await hub.apiFetch(`/services/${n}`)).json()) as { pid: number }).pid));
    assert.ok(pids.every((p) => p > 0));
    assert.equal(await hub.stop(), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `service process ${pid} stopped with the hub`);
    hub = await startServicesHub({ dir, ports, config: { JupyterHub: { services: [{ name: 'caller', api_token: extToken }] } } });
    const list = (await (await hub.apiFetch('/services')).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(list), ['caller']);
    assert.equal((await fetch(`${hub.api}/user`, { headers: { Authorization: `token ${gen}` } })).status, 403, 'token of the removed service');
    assert.equal((await fetch(`${hub.api}/user`, { headers: { Authorization: `token ${extToken}` } })).status, 200, 'kept service');
    assert.doesNotMatch(hub.output(), /Adding API token for service: caller/, 'not added twice');
    const db = new Database(path.join(dir, 'jupyterhub.sqlite'), { readonly: true });
    try {
      const names = (db.prepare('SELECT name FROM services').all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(names, ['caller']);
      const clients = (db.prepare("SELECT identifier FROM oauth_clients WHERE identifier LIKE 'service-%'").all() as { identifier: string }[]).map((r) => r.identifier);
      assert.deepEqual(clients, [], 'no URL → no OAuth client');
    } finally {
      db.close();
    }
  });
});
