/**
 * LocalAuthenticator (config.md §5.2): users are system accounts. Allows members of
 * UNIX `allowed_groups`, and can create missing accounts with `add_user_cmd`.
 * System lookups go through getent/id (NSS: works with LDAP/SSSD too).
 */
import { execFile, spawn } from 'node:child_process';
import { ConfigError } from '../config/errors.js';
import { Authenticator, log, type AuthModel } from './base.js';
import type { UserRow } from '../db/schema.js';

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout ?? '') });
    });
  });
}

/** A name safe to pass as a lookup argument (never an option). */
function safeName(name: string): boolean {
  return !!name && !name.startsWith('-') && !/[\x00-\x1f\x7f:]/.test(name);
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export async function getpwnam(name: string): Promise<PasswdEntry | null> {
  if (!safeName(name)) return null;
  const r = await run('getent', ['passwd', name]);
  if (r.code !== 0) return null;
  const f = r.stdout.trim().split('\n')[0].split(':');
  if (f.length < 7) return null;
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

export async function getpwuid(uid: number): Promise<PasswdEntry | null> {
  const r = await run('getent', ['passwd', String(uid)]);
  if (r.code !== 0) return null;
  const f = r.stdout.trim().split('\n')[0].split(':');
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

/** gid of a group, or null if there is no such group. */
export async function getgrnam(group: string): Promise<number | null> {
  if (!safeName(group)) return null;
  const r = await run('getent', ['group', group]);
  if (r.code !== 0) return null;
  const f = r.stdout.trim().split('\n')[0].split(':');
  return f.length >= 3 ? Number(f[2]) : null;
}

/** All gids of a user (primary + supplementary), like os.getgrouplist(name, pw_gid). */
export async function userGids(name: string): Promise<Set<number>> {
  const pw = await getpwnam(name);
  if (!pw) throw new Error(`no such system user: ${name}`);
  const r = await run('id', ['-G', '--', name]);
  const gids = new Set<number>([pw.gid]);
  if (r.code === 0) for (const g of r.stdout.trim().split(/\s+/)) if (/^\d+$/.test(g)) gids.add(Number(g));
  return gids;
}

/** Whether the user is in any of the groups (unknown groups are logged and skipped). */
export async function inAnyGroup(name: string, groups: Iterable<string>, strict = false): Promise<boolean> {
  let gids: Set<number>;
  try {
    gids = await userGids(name);
  } catch (e) {
    if (strict) throw e;
    return false;
  }
  for (const g of groups) {
    const gid = await getgrnam(g);
    if (gid === null) {
      if (strict) throw new Error(`No such group: [${g}]`);
      log.error(`No such group: [${g}]`);
      continue;
    }
    if (gids.has(gid)) return true;
  }
  return false;
}

/** The add_user_cmd for `name`: USERNAME replaced in every argument, then --uid N, then the name. */
export function addUserCommand(cmd: string[], name: string, uids: Record<string, number>): string[] {
  const out = cmd.map((a) => a.split('USERNAME').join(name));
  if (Object.prototype.hasOwnProperty.call(uids, name)) out.push('--uid', String(uids[name]));
  out.push(name);
  return out;
}

/** Mixin implementation shared by LocalAuthenticator and LocalGenericOAuthenticator. */
export async function ensureSystemUser(auth: Authenticator, name: string): Promise<void> {
  if (await getpwnam(name)) return;
  if (!auth.cfg<boolean>('create_system_users'))
    throw new Error(`User ${name} does not exist on the system. Set LocalAuthenticator.create_system_users=True to automatically create system users from jupyterhub users.`);
  if (!safeName(name)) throw new Error(`Cannot create system user with name '${name}'`);
  const cmd = addUserCommand(auth.cfg<string[]>('add_user_cmd') ?? [], name, auth.cfg<Record<string, number>>('uids') ?? {});
  if (!cmd.length || !cmd[0]) throw new Error('add_user_cmd is empty');
  log.info(`Creating user: ${cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`)).join(' ')}`);
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => resolve({ code: 127, out: e.message }));
    p.on('close', (code) => resolve({ code, out }));
  });
  if (result.code !== 0) throw new Error(`Failed to create system user ${name}: ${result.out.trim()}`);
}

export class LocalAuthenticator extends Authenticator {
  allowedGroups = new Set<string>();

  override async init(): Promise<void> {
    await super.init();
    this.allowedGroups = this.cfgSet('allowed_groups');
    if (this.cfg<boolean>('create_system_users') && process.platform === 'darwin') throw new ConfigError("I don't know how to create users on OS X");
  }

  protected override hasOtherAllowConfig(): boolean {
    return this.allowedGroups.size > 0;
  }

  override async checkAllowed(username: string, model?: AuthModel): Promise<boolean> {
    if (await this.checkAllowedGroups(username)) return true;
    return super.checkAllowed(username, model);
  }

  async checkAllowedGroups(username: string): Promise<boolean> {
    if (!this.allowedGroups.size) return false;
    return inAnyGroup(username, this.allowedGroups);
  }

  override async addUser(user: Pick<UserRow, 'name'>): Promise<void> {
    await ensureSystemUser(this, user.name);
    await super.addUser(user);
  }
}
