/**
 * PAMAuthenticator (config.md §5.3), the default: checks user name and password with the
 * system's PAM stack (service `login` by default), then the PAM account check.
 *
 * PAM is reached through `src/auth/pam/pam_helper.py`, a ctypes wrapper around libpam run
 * with python3 (JHUB_PYTHON) for each call — the same approach as JupyterHub's `pamela`.
 * Chosen over a native Node addon (needs node-gyp and a compiler at install) and a C helper
 * built with the hub (needs libpam headers at build time): it only needs libpam.so.0 at run
 * time and python3, which jhub already uses for Python config files. Each call is a separate
 * process, so a crashing or hanging PAM module cannot take the hub down (calls time out).
 * The password goes to the helper on stdin only.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserRow } from '../db/schema.js';
import { log, truncateName, type AuthContext, type AuthModel } from './base.js';
import { LocalAuthenticator, getpwnam, getpwuid, inAnyGroup } from './local.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/src/auth → src/auth/pam/pam_helper.py */
export const PAM_HELPER = path.resolve(here, '../../../src/auth/pam/pam_helper.py');

export interface PamResult {
  ok: boolean;
  stage?: string;
  error?: string;
}

export interface PamRequest {
  op: 'authenticate' | 'open_session' | 'close_session';
  user: string;
  password?: string;
  otp?: string;
  service: string;
  encoding: string;
  check_account?: boolean;
  rhost?: string;
}

/** Run one PAM request through the helper. */
export function pamCall(req: PamRequest, opts: { python?: string; timeoutMs?: number } = {}): Promise<PamResult> {
  const python = opts.python || process.env.JHUB_PYTHON || 'python3';
  return new Promise((resolve) => {
    const p = spawn(python, ['-I', PAM_HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, stage: 'helper', error: `cannot run ${python}: ${e.message}` });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out) as PamResult);
      } catch {
        resolve({ ok: false, stage: 'helper', error: `PAM helper failed (exit ${code}): ${err.trim().split('\n').pop() ?? ''}` });
      }
    });
    p.stdin.on('error', () => {});
    p.stdin.end(JSON.stringify(req));
  });
}

export class PAMAuthenticator extends LocalAuthenticator {
  private openSessions = false;

  override async init(): Promise<void> {
    await super.init();
    this.openSessions = !!this.cfg<boolean>('open_sessions');
  }

  private get service(): string {
    return this.cfg<string>('service') || 'login';
  }
  private get encoding(): string {
    return this.cfg<string>('encoding') || 'utf8';
  }

  override async authenticate(ctx: AuthContext | null, data: Record<string, string>): Promise<string | null> {
    const username = String(data.username ?? '');
    const password = String(data.password ?? '');
    const ip = ctx?.request.ip ?? '';
    if (!username) return null;
    const r = await pamCall({
      op: 'authenticate',
      user: username,
      password,
      otp: data.otp || undefined,
      service: this.service,
      encoding: this.encoding,
      check_account: !!this.cfg<boolean>('check_account'),
      rhost: ip || undefined,
    });
    if (!r.ok) {
      const what = r.stage === 'account' ? 'PAM Account Check failed' : 'PAM Authentication failed';
      log.warn(`${what} ('${truncateName(username)}'${ip ? '@' + ip : ''}): ${r.error}`);
      return null;
    }
    return username;
  }

  override async isAdmin(ctx: AuthContext | null, model: AuthModel): Promise<boolean | null> {
    const base = await super.isAdmin(ctx, model);
    const groups = this.cfgSet('admin_groups');
    if (base || !groups.size) return base;
    // authoritative when set; a lookup failure is an error (500), as in JupyterHub
    try {
      return await inAnyGroup(model.name, groups, true);
    } catch (e) {
      log.error(`PAM Admin Group Check failed (${model.name}${ctx ? '@' + ctx.request.ip : ''}): ${(e as Error).message}`);
      throw e;
    }
  }

  override async preSpawnStart(user: UserRow): Promise<void> {
    if (!this.openSessions) return;
    const r = await pamCall({ op: 'open_session', user: user.name, service: this.service, encoding: this.encoding });
    if (!r.ok) {
      log.warn(`Failed to open PAM session for ${user.name}: ${r.error}`);
      log.warn('Disabling PAM sessions from now on.');
      this.openSessions = false;
    }
  }

  override async postSpawnStop(user: UserRow): Promise<void> {
    if (!this.openSessions) return;
    const r = await pamCall({ op: 'close_session', user: user.name, service: this.service, encoding: this.encoding });
    if (!r.ok) {
      log.warn(`Failed to close PAM session for ${user.name}: ${r.error}`);
      log.warn('Disabling PAM sessions from now on.');
      this.openSessions = false;
    }
  }

  /** With pam_normalize_username: round-trip name → uid → name through the user database, then username_map. */
  override async normalizeLoginName(username: string): Promise<string> {
    if (!this.cfg<boolean>('pam_normalize_username')) return this.normalizeUsername(username);
    const pw = await getpwnam(username);
    if (!pw) throw new Error(`getpwnam(): name not found: '${truncateName(username)}'`);
    const back = await getpwuid(pw.uid);
    const name = back?.name ?? username;
    const map = this.cfg<Record<string, string>>('username_map') ?? {};
    return Object.prototype.hasOwnProperty.call(map, name) ? String(map[name]) : name;
  }
}
