/**
 * The process launcher (see launcher.ts): a small process of its own that starts processes for
 * the hub and reports when they exit. Talks to the hub over the IPC channel of `fork()`.
 *
 * Messages in:  {id, file, args, options}
 * Messages out: {ready: true} once listening; {id, pid} once a process started;
 *               {id, error: {code, message}} if it could not be started;
 *               {id, exit: {code, signal}} when a started process has exited.
 *
 * It lives as long as the hub: it exits when the channel closes (the hub exited, however it
 * ended) and ignores the signals a terminal or a service manager sends to the hub's process
 * group, so that the hub can still follow its servers while it shuts down. The processes it
 * started run in sessions of their own and are left alone when it exits.
 */
import { spawn, type SpawnOptions } from 'node:child_process';

interface Request {
  id: number;
  file: string;
  args: string[];
  options: SpawnOptions;
}

const send = (m: unknown) => {
  if (process.connected) process.send!(m);
};

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
process.on('disconnect', () => process.exit(0));

process.on('message', (m: Request) => {
  let started = false;
  const fail = (e: NodeJS.ErrnoException) => send({ id: m.id, error: { code: e.code, message: e.message } });
  let child;
  try {
    child = spawn(m.file, m.args, m.options);
  } catch (e) {
    fail(e as NodeJS.ErrnoException);
    return;
  }
  child.once('spawn', () => {
    started = true;
    send({ id: m.id, pid: child.pid });
  });
  child.once('error', (e) => {
    if (!started) fail(e);
  });
  child.once('exit', (code, signal) => {
    if (started) send({ id: m.id, exit: { code, signal } });
  });
  child.unref();
});

send({ ready: true });
