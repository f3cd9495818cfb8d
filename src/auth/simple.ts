/**
 * Testing/simple authenticators (config.md §5.4): DummyAuthenticator,
 * SharedPasswordAuthenticator, NullAuthenticator.
 */
import crypto from 'node:crypto';
import { ConfigError } from '../config/errors.js';
import { Authenticator, log, type AuthContext, type AuthModel } from './base.js';

function sameSecret(a: string, b: string): boolean {
  // constant time regardless of lengths: compare digests
  const ha = crypto.createHash('sha256').update(a, 'utf8').digest();
  const hb = crypto.createHash('sha256').update(b, 'utf8').digest();
  return crypto.timingSafeEqual(ha, hb);
}

export class DummyAuthenticator extends Authenticator {
  override async init(): Promise<void> {
    await super.init();
    if (this.cfg<string>('password'))
      log.warn('DummyAuthenticator.password is deprecated in JupyterHub 5.3. Use SharedPasswordAuthenticator.user_password instead.');
  }
  override checkAllowConfig(): void {
    super.checkAllowConfig();
    log.warn(`Using testing authenticator ${this.cls}! This is not meant for production!`);
  }
  override async authenticate(_ctx: AuthContext | null, data: Record<string, string>): Promise<string | null> {
    const password = this.cfg<string>('password');
    if (password) return sameSecret(String(data.password ?? ''), password) ? String(data.username ?? '') : null;
    return String(data.username ?? '');
  }
}

export class SharedPasswordAuthenticator extends Authenticator {
  static readonly USER_MIN = 8;
  static readonly ADMIN_MIN = 32;
  private userPassword: string | null = null;
  private adminPassword: string | null = null;
  private passwordGroups: Record<string, string[]> = {};

  override async init(): Promise<void> {
    await super.init();
    const c = this.cls;
    const user = this.cfg<string | null>('user_password') || null;
    const admin = this.cfg<string | null>('admin_password') || null;
    if (user && user.length < SharedPasswordAuthenticator.USER_MIN)
      throw new ConfigError(`${c}.user_password must be at least ${SharedPasswordAuthenticator.USER_MIN} characters long, got ${user.length} characters`);
    if (admin && admin.length < SharedPasswordAuthenticator.ADMIN_MIN)
      throw new ConfigError(`${c}.admin_password must be at least ${SharedPasswordAuthenticator.ADMIN_MIN} characters, not ${admin.length}.`);
    if (user && admin && user === admin) throw new ConfigError(`${c}.user_password and ${c}.admin_password cannot be the same`);
    const groups = (this.cfg<Record<string, unknown>>('password_groups') ?? {}) as Record<string, unknown>;
    if (Object.keys(groups).length && !this.manageGroups)
      throw new ConfigError(`${c}.password_groups is set, but ${c}.manage_groups is not set. Explicitly set ${c}.manage_groups to True`);
    for (const [pw, g] of Object.entries(groups)) {
      if (!Array.isArray(g)) throw new ConfigError(`${c}.password_groups values must be lists of group names`);
      if (pw === user || pw === admin) throw new ConfigError(`${c}.password_groups passwords must differ from user_password and admin_password`);
    }
    this.userPassword = user;
    this.adminPassword = admin;
    this.passwordGroups = groups as Record<string, string[]>;
  }

  override checkAllowConfig(): void {
    super.checkAllowConfig();
    const c = this.cls;
    const admins = this.cfgSet('admin_users');
    if (this.adminPassword && !admins.size)
      log.warn(`${c}.admin_password set, but ${c}.admin_users is not. No admin users will be able to login. Add usernames to ${c}.admin_users to grant users admin permissions.`);
    if (admins.size && !this.adminPassword)
      log.warn(`${c}.admin_users set, but ${c}.admin_password is not. No admin users will be able to login. Set ${c}.admin_password to allow admins to login.`);
    if (!this.userPassword) {
      if (!this.adminPassword) log.error(`Neither ${c}.admin_password nor ${c}.user_password is set. Nobody will be able to login!`);
      else log.warn(`${c}.user_password not set. No non-admin users will be able to login.`);
    }
  }

  override async authenticate(_ctx: AuthContext | null, data: Record<string, string>): Promise<AuthModel | null> {
    // Compare the *normalized* name with admin_users (fixes JupyterHub 5.5.1's raw-name check, config.md §5.4).
    let username: string;
    try {
      username = this.normalizeUsername(String(data.username ?? ''));
    } catch {
      return null;
    }
    const password = String(data.password ?? '');
    if (this.adminUsers.has(username)) {
      if (this.adminPassword && sameSecret(password, this.adminPassword)) return { name: username, admin: true, groups: [] };
      return null;
    }
    if (this.userPassword && sameSecret(password, this.userPassword)) return { name: username, admin: false, groups: [] };
    for (const [pw, groups] of Object.entries(this.passwordGroups)) {
      if (sameSecret(password, pw)) return { name: username, groups: groups.map(String) };
    }
    return null;
  }
}

export class NullAuthenticator extends Authenticator {
  override get autoLogin(): boolean {
    return true;
  }
  override get loginService(): string {
    return 'null';
  }
  override get hasLogin(): boolean {
    return false;
  }
  override async authenticate(): Promise<null> {
    return null;
  }
}
