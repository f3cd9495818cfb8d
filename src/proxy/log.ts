// Minimal synchronous line logger: `<ISO time> [JupyterHubProxy] <level>: <message>`.
import { format } from 'node:util';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  level: LogLevel;
  debug(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
  enabled(level: LogLevel): boolean;
}

export function isLogLevel(s: string): s is LogLevel {
  return Object.prototype.hasOwnProperty.call(LEVELS, s);
}

export function createLogger(
  level: LogLevel = 'info',
  component = 'JupyterHubProxy',
  write: (line: string) => void = (line) => {
    process.stdout.write(line);
  },
): Logger {
  let threshold = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, args: unknown[]): void => {
    if (LEVELS[lvl] < threshold) return;
    const text = args.length ? format(msg, ...args) : msg;
    try {
      write(`${new Date().toISOString()} [${component}] ${lvl}: ${text}\n`);
    } catch {
      // stdout gone (EPIPE): nothing sensible to do
    }
  };
  return {
    get level() {
      return level;
    },
    set level(l: LogLevel) {
      level = l;
      threshold = LEVELS[l];
    },
    debug: (m, ...a) => emit('debug', m, a),
    info: (m, ...a) => emit('info', m, a),
    warn: (m, ...a) => emit('warn', m, a),
    error: (m, ...a) => emit('error', m, a),
    enabled: (l) => LEVELS[l] >= threshold,
  };
}
