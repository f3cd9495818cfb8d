// RouteTable unit tests: the compact single-Map index must behave like a plain
// "last-added route per trie key" index (CHP trie semantics), incl. odd paths like "//a".
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { JHUB_PROXY_BIN, resolveProxyCommand } from '../../src/proxy/client.js';
import { RouteTable, trieKey, cleanPath } from '../../src/proxy/routes.js';

it('lookup matches a reference model under random adds/removes', () => {
  let seed = 1;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const segs = ['a', 'b', 'c'];
  const mkPath = () => {
    let p = '';
    const n = rnd(4);
    for (let i = 0; i < n; i++) p += '/'.repeat(rnd(5) === 0 ? 2 : 1) + segs[rnd(3)];
    if (rnd(4) === 0) p += '/';
    return p || '/';
  };
  for (let round = 0; round < 200; round++) {
    const t = new RouteTable(false);
    const routes = new Map<string, { path: string; key: string }>();
    const byKey = new Map<string, { path: string; key: string }>();
    for (let step = 0; step < 60; step++) {
      const p = cleanPath(mkPath());
      if (rnd(3) === 0) {
        const e = routes.get(p);
        if (e) {
          routes.delete(p);
          if (byKey.get(e.key) === e) byKey.delete(e.key);
        }
        assert.equal(t.remove(p)?.path, e?.path);
      } else {
        const old = routes.get(p);
        if (old && byKey.get(old.key) === old) byKey.delete(old.key);
        const e = { path: p, key: trieKey(p) };
        routes.set(p, e);
        byKey.set(e.key, e);
        t.add(p, { target: 'http://x' });
      }
      assert.deepEqual([...t.routes.keys()], [...routes.keys()]);
      for (let q = 0; q < 10; q++) {
        const rp = mkPath() + (rnd(2) ? '/zz' : '');
        const k = trieKey(rp);
        const parts = k === '/' ? [] : k.slice(1).split('/');
        let exp: string | undefined;
        for (let d = parts.length; d >= 0; d--) {
          const h = byKey.get('/' + parts.slice(0, d).join('/'));
          if (h) {
            exp = h.path;
            break;
          }
        }
        assert.equal(t.lookup(rp)?.path, exp, `round ${round} step ${step}: ${rp}`);
      }
    }
  }
});

it('JSON keeps CHP key order and a posted last_activity in place', () => {
  const t = new RouteTable(false);
  const e1 = t.add('/a', { target: 'http://x', user: 'u' }, Date.parse('2024-01-02T03:04:05.678Z'));
  assert.equal(t.entryJson(e1), '{"target":"http://x","user":"u","last_activity":"2024-01-02T03:04:05.678Z"}');
  const e2 = t.add('/b', { last_activity: 'whatever', target: 'http://y' }, Date.parse('2024-01-02T03:04:05.678Z'));
  assert.equal(t.entryJson(e2), '{"last_activity":"2024-01-02T03:04:05.678Z","target":"http://y"}');
  e1.ts = Date.parse('2030-01-01T00:00:00.000Z');
  assert.equal(JSON.parse(t.toJson())['/a'].last_activity, '2030-01-01T00:00:00.000Z');
  assert.deepEqual(Object.keys(JSON.parse(t.toJson(Date.parse('2025-01-01')))), ['/b']);
});

it("the hub starts jhub-proxy with the node flags of bin/jhub-proxy's shebang", () => {
  const shebang = fs.readFileSync(JHUB_PROXY_BIN, 'utf8').split('\n')[0];
  const flags = shebang.replace('#!/usr/bin/env -S node ', '').split(' ');
  for (const f of ['--max-semi-space-size=1', '--single-threaded']) assert.ok(flags.includes(f), `${f} on the shebang line`);
  assert.deepEqual(resolveProxyCommand(['jhub-proxy', '--port', '8000']), [process.execPath, ...flags, JHUB_PROXY_BIN, '--port', '8000']);
  assert.deepEqual(resolveProxyCommand(['configurable-http-proxy', '--port', '8000']), ['configurable-http-proxy', '--port', '8000']);
});
