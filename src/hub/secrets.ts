/**
 * The hub's secrets: the cookie secret (spec config.md §6.1), the proxy API token (§6.3)
 * and the auth_state encryption keys (§6.2). Errors are ConfigErrors with a clear message;
 * secrets are never logged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { ConfigError, type Config } from '../config/config.js';
import { CryptKeeper, CryptError } from '../util/crypto.js';
import { getLogger } from '../util/log.js';

const log = getLogger('JupyterHub', 'app');

function expandUser(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function decodeSecretText(text: string, where: string): Buffer {
  const s = text.trim();
  if (!s) throw new ConfigError(`${where} is empty: delete it to have a new secret generated, or put 64 hex characters in it (openssl rand -hex 32)`);
  if (/^([a-f0-9]{2})+$/i.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/\n\r=_-]+$/.test(s)) {
    const b = Buffer.from(s.replace(/\s+/g, ''), 'base64');
    if (b.length >= 16) {
      log.warn(`${where} holds a base64 secret (legacy format); hex is preferred (openssl rand -hex 32)`);
      return b;
    }
  }
  throw new ConfigError(`${where} does not hold a valid secret (expected hex, e.g. from 'openssl rand -hex 32', or base64)`);
}

export function loadCookieSecret(config: Config, env: NodeJS.ProcessEnv, cwd: string): Buffer {
  let secret: Buffer | null = null;
  if (config.isSet('JupyterHub', 'cookie_secret')) {
    const v = config.get<Buffer | string>('JupyterHub', 'cookie_secret');
    if (Buffer.isBuffer(v)) secret = v;
    else if (typeof v === 'string' && /^([a-f0-9]{2})+$/i.test(v.trim())) secret = Buffer.from(v.trim(), 'hex');
    else {
      const o = config.origin('JupyterHub', 'cookie_secret');
      throw new ConfigError(`${o.file ? `${o.file}:${o.line}: ` : ''}JupyterHub.cookie_secret must be bytes or a hex string of even length`);
    }
  } else if (env.JPY_COOKIE_SECRET) {
    secret = decodeSecretText(env.JPY_COOKIE_SECRET, 'JPY_COOKIE_SECRET');
  } else {
    const file = path.resolve(cwd, expandUser(config.get<string>('JupyterHub', 'cookie_secret_file')));
    let text: string | null = null;
    try {
      const st = fs.statSync(file);
      if (process.platform !== 'win32' && st.mode & 0o077) {
        throw new ConfigError(
          `cookie_secret_file ${file} can be read or written by other users (mode ${(st.mode & 0o777).toString(8)}): run 'chmod 600 ${file}'`,
        );
      }
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EACCES') throw new ConfigError(`cannot read cookie_secret_file ${file}: permission denied`);
      if (err.code !== 'ENOENT') throw new ConfigError(`cannot read cookie_secret_file ${file}: ${err.message}`);
    }
    if (text !== null) {
      secret = decodeSecretText(text, `cookie_secret_file ${file}`);
    } else {
      const fresh = crypto.randomBytes(32);
      log.info(`Writing cookie_secret to ${file}`);
      let fd: number;
      try {
        fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      } catch (e) {
        throw new ConfigError(`cannot create cookie_secret_file ${file}: ${(e as Error).message}`);
      }
      try {
        fs.writeSync(fd, fresh.toString('hex') + '\n');
      } finally {
        fs.closeSync(fd);
      }
      try {
        fs.chmodSync(file, 0o600);
      } catch (e) {
        log.warn(`Failed to set permissions on ${file}: ${(e as Error).message}`);
      }
      secret = fresh;
    }
  }
  if (secret.length > 32) log.warn(`Cookie secret is ${secret.length} bytes; 32 bytes is enough`);
  if (secret.length < 16) throw new ConfigError(`cookie secret is only ${secret.length} bytes; use 32 random bytes (openssl rand -hex 32)`);
  return secret;
}

/** Proxy API token: ConfigurableHTTPProxy.auth_token, else CONFIGPROXY_AUTH_TOKEN, else random per start. */
export function loadProxyToken(config: Config, env: NodeJS.ProcessEnv): { token: string; generated: boolean } {
  const t = config.get<string>('ConfigurableHTTPProxy', 'auth_token');
  if (t) return { token: t, generated: false };
  if (env.CONFIGPROXY_AUTH_TOKEN) return { token: env.CONFIGPROXY_AUTH_TOKEN, generated: false };
  return { token: crypto.randomBytes(32).toString('hex'), generated: true };
}

/** auth_state keys: CryptKeeper.keys from config, else JUPYTERHUB_CRYPT_KEY (';'-separated). */
export function loadCryptKeeper(config: Config, env: NodeJS.ProcessEnv): CryptKeeper {
  try {
    const fromConfig = config.get<unknown[]>('CryptKeeper', 'keys') ?? [];
    if (fromConfig.length) return new CryptKeeper(fromConfig.map((k) => (Buffer.isBuffer(k) ? k : CryptKeeper.fromEnv(String(k)).keys[0])));
    return CryptKeeper.fromEnv(env.JUPYTERHUB_CRYPT_KEY);
  } catch (e) {
    if (e instanceof CryptError) throw new ConfigError(`JUPYTERHUB_CRYPT_KEY: ${e.message}`);
    throw e;
  }
}
