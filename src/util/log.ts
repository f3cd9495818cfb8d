/**
 * Server logging. One line per event with level, time, component and module, in
 * JupyterHub's layout by default:
 *
 *   [I 2026-12-03 17:00:00.123 JupyterHub app] message
 *
 * or one JSON object per line (`--log-format=json` / JHUB_LOG_FORMAT=json), produced by pino.
 */
import pino from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, critical: 60 };
const LETTER: Record<number, string> = { 10: 'D', 20: 'D', 30: 'I', 40: 'W', 50: 'E', 60: 'C' };

export interface Logger {
  debug(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
  isDebug(): boolean;
  child(module: string): Logger;
}

let format: 'text' | 'json' = process.env.JHUB_LOG_FORMAT === 'json' ? 'json' : 'text';
let out: NodeJS.WritableStream = process.stderr;
/**
 * Log output that failed (a closed pipe: the terminal or the process manager that read our
 * stderr went away) is dropped from then on. Without this, the stream's EPIPE became an
 * uncaught exception whose own log line failed again, in a loop, and the hub ignored SIGTERM.
 */
let broken: NodeJS.WritableStream | null = null;
function watch(s: NodeJS.WritableStream): void {
  s.on('error', () => {
    broken = s;
  });
}
watch(out);
function emit(text: string): void {
  if (broken === out) return;
  try {
    out.write(text);
  } catch {
    broken = out;
  }
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** pino destination writing JupyterHub-style lines (or raw JSON). */
const destination = {
  write(line: string): void {
    if (format === 'json') {
      emit(line);
      return;
    }
    let o: { level: number; time: number; name?: string; module?: string; msg?: string; err?: { stack?: string } };
    try {
      o = JSON.parse(line);
    } catch {
      emit(line);
      return;
    }
    const where = o.module ? `${o.name ?? 'JupyterHub'} ${o.module}` : (o.name ?? 'JupyterHub');
    let text = `[${LETTER[o.level] ?? 'I'} ${formatTime(o.time)} ${where}] ${o.msg ?? ''}\n`;
    if (o.err?.stack && root.isLevelEnabled('debug')) text += o.err.stack + '\n';
    emit(text);
  },
};

const root = pino(
  {
    level: 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.epochTime,
    formatters: { level: (_label, number) => ({ level: number }) },
  },
  destination,
);

export function setLogLevel(level: string | number): void {
  let l: string;
  if (typeof level === 'number') {
    l = level <= 10 ? 'debug' : level <= 20 ? 'info' : level <= 30 ? 'warn' : level <= 40 ? 'error' : 'fatal';
    // Python logging numbers: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL
  } else {
    l = level.toLowerCase();
    if (l === 'warning') l = 'warn';
    if (l === 'critical') l = 'fatal';
    if (!(l in LEVELS)) throw new Error(`invalid log level '${level}': use DEBUG, INFO, WARN, ERROR or CRITICAL`);
  }
  root.level = l;
}
export function getLogLevel(): string {
  return root.level;
}
export function setLogFormat(f: 'text' | 'json'): void {
  format = f;
}
/** Redirect output (tests). */
export function setLogStream(s: NodeJS.WritableStream): void {
  out = s;
  watch(s);
}

function wrap(p: pino.Logger): Logger {
  const fmt = (msg: string, args: unknown[]): [Record<string, unknown>, string] | [string] => {
    const err = args.find((a) => a instanceof Error) as Error | undefined;
    let m = msg;
    const rest = args.filter((a) => a !== err);
    if (rest.length) m += ' ' + rest.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    if (err) return [{ err: { message: err.message, stack: err.stack } }, m];
    return [m];
  };
  return {
    debug: (msg, ...args) => p.isLevelEnabled('debug') && p.debug(...(fmt(msg, args) as [string])),
    info: (msg, ...args) => p.info(...(fmt(msg, args) as [string])),
    warn: (msg, ...args) => p.warn(...(fmt(msg, args) as [string])),
    error: (msg, ...args) => p.error(...(fmt(msg, args) as [string])),
    isDebug: () => p.isLevelEnabled('debug'),
    child: (module: string) => wrap(p.child({ module })),
  } as Logger;
}

const cache = new Map<string, Logger>();
/** A logger for a component (`JupyterHub`, `ConfigurableHTTPProxy`, ...) and module (`app`, `proxy`, ...). */
export function getLogger(name = 'JupyterHub', module?: string): Logger {
  const key = `${name}\0${module ?? ''}`;
  let l = cache.get(key);
  if (!l) {
    l = wrap(root.child(module ? { name, module } : { name }));
    cache.set(key, l);
  }
  return l;
}
