/**
 * Tokens, hashes, signed values and Fernet encryption (auth_state), on node:crypto.
 */
import crypto from 'node:crypto';

/** A new random token (API tokens, OAuth secrets, cookie ids): 32 hex characters = 128 bits, as JupyterHub's. */
export function newToken(bytes = 16): string {
  return crypto.randomBytes(bytes).toString('hex');
}

/** Fast, unsalted hash for high-entropy generated tokens: stored and looked up directly. */
export function hashToken(token: string): string {
  return 'sha512$' + crypto.createHash('sha512').update(token, 'utf8').digest('hex');
}

const PBKDF2_ROUNDS = 16384;
/** Salted, slow hash for tokens a person may have chosen (from config files). */
export function hashUserToken(token: string, salt = crypto.randomBytes(8).toString('hex'), rounds = PBKDF2_ROUNDS): string {
  const h = crypto.pbkdf2Sync(token, salt, rounds, 32, 'sha512').toString('hex');
  return `pbkdf2$${rounds}$${salt}$${h}`;
}

/** Checks a presented token against a stored hash; PBKDF2 runs on libuv's thread pool, not the event loop. */
export async function verifyToken(token: string, hashed: string): Promise<boolean> {
  if (hashed.startsWith('sha512$')) return safeEqual(hashToken(token), hashed);
  const m = /^pbkdf2\$(\d+)\$([0-9a-f]+)\$([0-9a-f]+)$/.exec(hashed);
  if (!m) return false;
  const h = await new Promise<Buffer>((resolve, reject) => crypto.pbkdf2(token, m[2], Number(m[1]), 32, 'sha512', (e, k) => (e ? reject(e) : resolve(k))));
  return safeEqual(`pbkdf2$${m[1]}$${m[2]}$${h.toString('hex')}`, hashed);
}

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

export function sha256hex(s: string | Buffer): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

/**
 * Signed cookie values: `<base64url(value)>|<expiry epoch s>|<base64url hmac>`, HMAC-SHA256
 * with the cookie secret over name, value and expiry (so a value cannot move between cookies).
 */
export function signValue(secret: Buffer, name: string, value: string, maxAgeSeconds: number): string {
  const v = Buffer.from(value, 'utf8').toString('base64url');
  const exp = Math.floor(Date.now() / 1000 + maxAgeSeconds);
  const mac = crypto.createHmac('sha256', secret).update(`${name}|${v}|${exp}`).digest('base64url');
  return `${v}|${exp}|${mac}`;
}

export function unsignValue(secret: Buffer, name: string, signed: string | undefined): string | null {
  if (!signed) return null;
  const parts = signed.split('|');
  if (parts.length !== 3) return null;
  const [v, exp, mac] = parts;
  const want = crypto.createHmac('sha256', secret).update(`${name}|${v}|${exp}`).digest('base64url');
  if (!safeEqual(want, mac)) return null;
  if (!/^\d+$/.test(exp) || Number(exp) < Date.now() / 1000) return null;
  return Buffer.from(v, 'base64url').toString('utf8');
}

export class CryptError extends Error {}

/** Parse one JUPYTERHUB_CRYPT_KEY entry: 64 hex chars, 44 chars of URL-safe base64, or a raw 32-byte string. */
export function parseCryptKey(k: string): Buffer {
  const s = k.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (s.length === 44) {
    const b = Buffer.from(s.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
    if (b.length === 32) return b;
  }
  if (Buffer.byteLength(s) === 32) return Buffer.from(s, 'utf8');
  throw new CryptError('Encryption keys must be 32 bytes, hex or base64-encoded.');
}

/**
 * Fernet (https://github.com/fernet/spec): AES-128-CBC + HMAC-SHA256, URL-safe base64.
 * Compatible with Python's cryptography.fernet, which JupyterHub uses for auth_state.
 */
export class CryptKeeper {
  readonly keys: Buffer[];
  constructor(keys: Buffer[]) {
    this.keys = keys;
  }
  static fromEnv(value: string | undefined): CryptKeeper {
    const keys = (value ?? '').split(';').filter((s) => s.trim()).map(parseCryptKey);
    return new CryptKeeper(keys);
  }
  get available(): boolean {
    return this.keys.length > 0;
  }
  encrypt(data: unknown): string {
    if (!this.available) throw new CryptError('Encryption is not available: set JUPYTERHUB_CRYPT_KEY (openssl rand -hex 32)');
    const key = this.keys[0];
    const iv = crypto.randomBytes(16);
    const c = crypto.createCipheriv('aes-128-cbc', key.subarray(16), iv);
    const ct = Buffer.concat([c.update(Buffer.from(JSON.stringify(data), 'utf8')), c.final()]);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)));
    const body = Buffer.concat([Buffer.from([0x80]), ts, iv, ct]);
    const mac = crypto.createHmac('sha256', key.subarray(0, 16)).update(body).digest();
    return Buffer.concat([body, mac]).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  }
  decrypt(token: string): unknown {
    if (!this.available) throw new CryptError('Encryption is not available: set JUPYTERHUB_CRYPT_KEY');
    const raw = Buffer.from(token.replace(/=+$/, ''), 'base64url');
    if (raw.length < 1 + 8 + 16 + 16 + 32 || raw[0] !== 0x80) throw new CryptError('invalid encrypted data');
    const body = raw.subarray(0, raw.length - 32);
    const mac = raw.subarray(raw.length - 32);
    for (const key of this.keys) {
      const want = crypto.createHmac('sha256', key.subarray(0, 16)).update(body).digest();
      if (!crypto.timingSafeEqual(want, mac)) continue;
      const iv = body.subarray(9, 25);
      const d = crypto.createDecipheriv('aes-128-cbc', key.subarray(16), iv);
      const pt = Buffer.concat([d.update(body.subarray(25)), d.final()]);
      return JSON.parse(pt.toString('utf8'));
    }
    throw new CryptError('encrypted data does not match any JUPYTERHUB_CRYPT_KEY (was the key changed?)');
  }
}
