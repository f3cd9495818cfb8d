/**
 * auth_state encryption is Fernet, readable by Python's cryptography (as JupyterHub
 * stores it), with key rotation and the key formats of JUPYTERHUB_CRYPT_KEY.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CryptKeeper, CryptError, parseCryptKey, signValue, unsignValue } from '../../src/util/crypto.js';
import { VENV_BIN } from '../helpers/hub.js';

const python = fs.existsSync(path.join(VENV_BIN, 'python')) ? path.join(VENV_BIN, 'python') : 'python3';

function py(code: string, input: string): string {
  return execFileSync(python, ['-c', code], { input, encoding: 'utf8' }).trim();
}

describe('CryptKeeper (Fernet)', () => {
  const hexKey = crypto.randomBytes(32).toString('hex');

  it('round-trips and is decrypted by Python cryptography.fernet, and the reverse', () => {
    const keeper = CryptKeeper.fromEnv(hexKey);
    const state = { access_token: 'tok', groups: ['a', 'ü'], n: 1 };
    const token = keeper.encrypt(state);
    assert.deepEqual(keeper.decrypt(token), state);
    const b64 = Buffer.from(hexKey, 'hex').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const fromPy = py(
      `import sys, json; from cryptography.fernet import Fernet; f = Fernet(sys.argv[1] if len(sys.argv) > 1 else ${JSON.stringify(b64)}); ` +
        `t = sys.stdin.read().strip(); print(json.dumps(json.loads(f.decrypt(t.encode())))); `,
      token,
    );
    assert.deepEqual(JSON.parse(fromPy), state);
    const pyToken = py(`from cryptography.fernet import Fernet; import sys; print(Fernet(${JSON.stringify(b64)}).encrypt(sys.stdin.read().encode()).decode())`, JSON.stringify({ from: 'python' }));
    assert.deepEqual(keeper.decrypt(pyToken), { from: 'python' });
  });

  it('rotates keys: the first encrypts, all decrypt', () => {
    const old = CryptKeeper.fromEnv(hexKey);
    const token = old.encrypt({ v: 1 });
    const rotated = CryptKeeper.fromEnv(`${crypto.randomBytes(32).toString('hex')};${hexKey}`);
    assert.deepEqual(rotated.decrypt(token), { v: 1 });
    const fresh = rotated.encrypt({ v: 2 });
    assert.throws(() => old.decrypt(fresh), CryptError);
  });

  it('accepts hex, URL-safe base64 and raw 32-byte keys; refuses others with the documented message', () => {
    const raw = crypto.randomBytes(32);
    assert.deepEqual(parseCryptKey(raw.toString('hex')), raw);
    assert.deepEqual(parseCryptKey(raw.toString('base64url') + '='), raw);
    assert.equal(parseCryptKey('x'.repeat(32)).length, 32);
    assert.throws(() => parseCryptKey('tooshort'), /Encryption keys must be 32 bytes, hex or base64-encoded\./);
  });

  it('tampered tokens are refused', () => {
    const keeper = CryptKeeper.fromEnv(hexKey);
    const token = keeper.encrypt({ v: 1 });
    const bad = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    assert.throws(() => keeper.decrypt(bad), CryptError);
    assert.throws(() => new CryptKeeper([]).encrypt({}), /JUPYTERHUB_CRYPT_KEY/);
  });
});

describe('signed values (login cookie)', () => {
  const secret = crypto.randomBytes(32);
  it('verify, and refuse tampering, another cookie name, another secret and expiry', () => {
    const v = signValue(secret, 'jupyterhub-hub-login', 'cookie-id-1', 60);
    assert.equal(unsignValue(secret, 'jupyterhub-hub-login', v), 'cookie-id-1');
    assert.equal(unsignValue(secret, 'other-cookie', v), null);
    assert.equal(unsignValue(crypto.randomBytes(32), 'jupyterhub-hub-login', v), null);
    const [val, exp, mac] = v.split('|');
    assert.equal(unsignValue(secret, 'jupyterhub-hub-login', `${Buffer.from('cookie-id-2').toString('base64url')}|${exp}|${mac}`), null);
    assert.equal(unsignValue(secret, 'jupyterhub-hub-login', `${val}|${Number(exp) + 1000}|${mac}`), null);
    assert.equal(unsignValue(secret, 'jupyterhub-hub-login', signValue(secret, 'jupyterhub-hub-login', 'x', -10)), null);
    assert.equal(unsignValue(secret, 'jupyterhub-hub-login', 'garbage'), null);
  });
});
