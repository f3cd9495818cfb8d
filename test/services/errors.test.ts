/**
 * Bad service definitions and misbehaving services: the hub refuses to start (exit status 1)
 * with a clear message where JupyterHub refuses to start, and logs + retries where it keeps
 * running.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startHub, type RunningHub } from '../helpers/hub.js';
import { PYTHON, exitCode, startServicesHub } from './util.js';

async function refuses(services: unknown[], message: RegExp): Promise<string> {
  const hub = await startHub({ config: { JupyterHub: { services } }, wait: false });
  try {
    const code = await exitCode(hub);
    assert.equal(code, 1, hub.output());
    assert.match(hub.output(), message);
    return hub.output();
  } finally {
    await hub.stop('SIGKILL');
  }
}

describe('service definitions the hub refuses', () => {
  it('a duplicate name', async () => void (await refuses([{ name: 'dup', api_token: 'a'.repeat(32) }, { name: 'dup', api_token: 'b'.repeat(32) }], /Duplicate service name "dup": JupyterHub\.services\[0\] and JupyterHub\.services\[1\]/)));
  it('a URL that is not http(s)', async () => void (await refuses([{ name: 'ftp', url: 'ftp://127.0.0.1:21' }], /Unsupported scheme in URL for service ftp: ftp:\/\/127\.0\.0\.1:21\. Must be http\[s\]/)));
  it('a URL that is not a URL', async () => void (await refuses([{ name: 'nourl', url: 'localhost:8000 ' }], /Unsupported scheme in URL for service nourl/)));
  it('an unknown field, with a suggestion', async () => void (await refuses([{ name: 'typo', comand: ['true'] }], /No such service field: comand \(did you mean 'command'\?\)/)));
  it('a command that is neither a list nor a str', async () => void (await refuses([{ name: 'num', command: 42 }], /'command' must be a list of str \(or a single str\), not 42/)));
  it('a name with a slash', async () => void (await refuses([{ name: 'a/b' }], /Service names must not contain '\/'/)));
  it('a missing name', async () => void (await refuses([{ url: 'http://127.0.0.1:1' }], /service spec must have a name/)));
  it('an OAuth client id without the service- prefix', async () => void (await refuses([{ name: 'x', url: 'http://127.0.0.1:1', oauth_client_id: 'x' }], /Service oauth client ids must start with 'service-'/)));
  it('OAuth settings without URL and without oauth_redirect_uri', async () => void (await refuses([{ name: 'noredirect', api_token: 'c'.repeat(32), oauth_no_confirm: true }], /Service noredirect has oauth configured, but is missing required oauth_redirect_uri/)));
  it('a non-boolean admin flag', async () => void (await refuses([{ name: 'adm', admin: 'yes' }], /'admin' must be True or False/)));
  it('an unknown system user', async () => void (await refuses([{ name: 'who', command: ['true'], user: 'no-such-user-here' }], /service who: no such system user: no-such-user-here/)));
});

describe('managed services that cannot run', () => {
  it('a command that does not exist stops the hub with exit status 1', async () => {
    const out = await refuses([{ name: 'ghost', command: ['/nonexistent/bin/ghost-service', '--flag'] }], /Cannot start service ghost: command not found: \/nonexistent\/bin\/ghost-service/);
    assert.doesNotMatch(out, /JupyterHub is now running/);
  });

  it('a command given as one string with spaces gets a hint', async () => void (await refuses([{ name: 'str', command: 'python3 -m http.server' }], /command not found: python3 -m http\.server \(a command given as one string is not split into arguments: give a list\)/)));

  it('a service with a URL that exits at once stops the hub with exit status 1', async () => {
    const port = await freePort();
    await refuses(
      [{ name: 'quick', url: `http://127.0.0.1:${port}`, command: [PYTHON, '-c', 'import sys; print("bye"); sys.exit(3)'] }],
      /Service quick exited with status 3[\s\S]*Managed service quick exited before it answered at http:\/\/127\.0\.0\.1:\d+\/services\/quick\//,
    );
  });

  it('a service without URL that exits is logged and restarted while the hub keeps running', async () => {
    let hub: RunningHub | undefined;
    try {
      hub = await startServicesHub({ config: { JupyterHub: { services: [{ name: 'flaky', command: [PYTHON, '-c', 'import sys; print("flaky run"); sys.exit(3)'] }] } } });
      await hub.waitForOutput(/Service flaky exited with status 3[\s\S]*Restarting service flaky in 1 s[\s\S]*Service flaky exited with status 3[\s\S]*Restarting service flaky in 2 s/, 30000);
      assert.equal((await fetch(`${hub.api}/`)).status, 200, 'the hub still answers');
      assert.ok((hub.output().match(/\[service flaky\] flaky run/g) ?? []).length >= 2);
    } finally {
      assert.equal(await hub?.stop(), 0);
    }
  });

  it('an external service that is not running is only a warning', async () => {
    const port = await freePort();
    let hub: RunningHub | undefined;
    try {
      hub = await startServicesHub({ config: { JupyterHub: { services: [{ name: 'away', url: `http://127.0.0.1:${port}`, api_token: 'd'.repeat(32) }] } } });
      await hub.waitForOutput(/Cannot connect to external service away at http:\/\/127\.0\.0\.1:\d+\. Is it running\?/);
      const routes = (await (await hub.apiFetch('/proxy')).json()) as Record<string, { data: { service?: string } }>;
      assert.equal(routes['/services/away/']?.data.service, 'away', 'still routed');
    } finally {
      await hub?.stop();
    }
  });
});
