/** Small builders so that the trait tables stay readable. */
import type { TraitDef, TraitType } from '../types.js';

type Extra = Partial<Omit<TraitDef, 'name' | 'type' | 'help'>>;

function mk(type: TraitType) {
  return (name: string, dflt: unknown, help: string, extra: Extra = {}): TraitDef => ({
    name,
    type,
    default: dflt,
    help,
    ...extra,
  });
}

export const unicode = mk('Unicode');
export const int = mk('Int');
export const float = mk('Float');
export const bool = mk('Bool');
export const list = mk('List');
export const set = mk('Set');
export const tuple = mk('Tuple');
export const dict = mk('Dict');
export const any = mk('Any');
export const command = mk('Command');
export const bytespec = mk('ByteSpecification');

export function callable(name: string, help: string, extra: Extra = {}): TraitDef {
  return { name, type: 'Callable', default: null, allowNone: true, help, ...extra };
}

export function union(name: string, members: TraitType[], dflt: unknown, help: string, extra: Extra = {}): TraitDef {
  return { name, type: 'Union', union: members, default: dflt, help, ...extra };
}

export function enumT(name: string, values: readonly string[], dflt: unknown, help: string, extra: Extra = {}): TraitDef {
  return { name, type: 'Enum', values, default: dflt, help, ...extra };
}

export function envDefault(varName: string, fallback = ''): Extra {
  return {
    dynamicDefault: (ctx) => ctx.env[varName] ?? fallback,
    defaultText: fallback ? `$${varName} or '${fallback}'` : `$${varName}`,
  };
}

export function deprecated(since: string, replacement?: string, message?: string): Extra {
  return { deprecated: { since, replacement, message } };
}

/** Python logging level names and numbers, as accepted by traitlets' log_level. */
export const LOG_LEVELS = ['0', '10', '20', '30', '40', '50', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'] as const;

export function normalizeLogLevel(v: unknown): unknown {
  const map: Record<string, string> = {
    '0': 'NOTSET', '10': 'DEBUG', '20': 'INFO', '30': 'WARN', '40': 'ERROR', '50': 'CRITICAL',
    DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', WARNING: 'WARN', ERROR: 'ERROR', CRITICAL: 'CRITICAL', NOTSET: 'NOTSET',
  };
  const key = String(v).toUpperCase();
  if (!(key in map)) throw new Error(`expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(v)}`);
  return map[key];
}
