/**
 * jhub-sudo-helper: run by the hub as `sudo -nH -u <user> jhub-sudo-helper` (SudoSpawner).
 * Reads one JSON request on stdin, writes one JSON line on stdout:
 *
 *   {"action": "spawn", "cmd": [...], "env": {...}}  → {"pid": N}
 *       starts cmd detached (own process group) as the invoking user, in their home
 *       directory, with env + USER/HOME/SHELL of that user; output goes to our stderr.
 *   {"action": "kill", "pid": N, "signal": "SIGTERM", "group": false} → {"alive": bool}
 *   {"action": "poll", "pid": N} → {"alive": bool}
 *   "debug": true in any request writes one line about it to stderr (c.SudoSpawner.debug_mediator).
 * A process that has exited but is not reaped yet (zombie) counts as not alive.
 *
 * Errors: {"error": "..."} and exit status 1. It never runs anything as another user: sudo
 * already switched to the target account (see docs/spawners.md for the sudoers line).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

function reply(o: Record<string, unknown>, code = 0): never {
  process.stdout.write(JSON.stringify(o) + '\n');
  process.exit(code);
}

/** Exists and has not exited: a zombie (exited, not reaped yet, e.g. under an init that does not reap) is dead. */
function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  let req: { action?: string; cmd?: unknown; env?: Record<string, string>; pid?: number; signal?: string; group?: boolean };
  try {
    req = JSON.parse(input);
  } catch {
    reply({ error: 'invalid JSON request' }, 1);
  }
  const info = os.userInfo();
  if ((req as { debug?: boolean }).debug) {
    const what = req.action === 'spawn' ? JSON.stringify(req.cmd) : `pid ${req.pid}${req.action === 'kill' ? ` ${req.signal ?? 'SIGTERM'}${req.group ? ' (group)' : ''}` : ''}`;
    process.stderr.write(`jhub-sudo-helper: ${req.action} as ${info.username} (uid ${info.uid}): ${what}\n`);
  }
  switch (req.action) {
    case 'spawn': {
      if (!Array.isArray(req.cmd) || !req.cmd.length || !req.cmd.every((x) => typeof x === 'string')) reply({ error: 'cmd must be a non-empty list of strings' }, 1);
      const cmd = req.cmd as string[];
      const env = { ...(req.env ?? {}), USER: info.username, HOME: info.homedir, SHELL: info.shell || '/bin/sh' };
      const cwd = fs.existsSync(info.homedir) ? info.homedir : '/';
      const child = spawn(cmd[0], cmd.slice(1), { env, cwd, detached: true, stdio: ['ignore', 2, 2] });
      child.once('error', (e) => reply({ error: `failed to start ${cmd[0]}: ${e.message}` }, 1));
      child.once('spawn', () => {
        child.unref();
        reply({ pid: child.pid });
      });
      return;
    }
    case 'kill': {
      const pid = Number(req.pid);
      if (!(pid > 1)) reply({ error: 'invalid pid' }, 1);
      try {
        process.kill(req.group ? -pid : pid, (req.signal ?? 'SIGTERM') as NodeJS.Signals);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') reply({ error: (e as Error).message }, 1);
        reply({ alive: false });
      }
      reply({ alive: alive(pid) });
      return;
    }
    case 'poll':
      reply({ alive: alive(Number(req.pid)) });
      return;
    default:
      reply({ error: `unknown action ${JSON.stringify(req.action)}` }, 1);
  }
}

main().catch((e) => reply({ error: (e as Error).message }, 1));
