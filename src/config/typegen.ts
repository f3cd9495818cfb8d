/** Generates src/config/public.ts (the `Config` type for TypeScript config files) from the schema. */
import { allClasses } from './schema.js';
import type { TraitDef, TraitType } from './types.js';

function tsType(t: TraitType, def: Partial<TraitDef>): string {
  const item = def.items ? tsType(def.items, {}) : 'any';
  switch (t) {
    case 'Unicode':
    case 'URLPrefix':
      return 'string';
    case 'Int':
    case 'Float':
      return 'number';
    case 'ByteSpecification':
      return 'number | string';
    case 'Bool':
      return 'boolean';
    case 'List':
    case 'Set':
    case 'Tuple':
      return `${item.includes(' ') ? `(${item})` : item}[]`;
    case 'Command':
      return 'string | string[]';
    case 'Dict':
      return `Record<string, ${item}>`;
    case 'Bytes':
      return 'Buffer';
    case 'Enum':
      return [...(def.values ?? []).map((v) => JSON.stringify(v)), ...(def.values?.includes('10') ? ['number'] : [])].join(' | ');
    case 'Callable':
      return 'Hook';
    case 'Type':
      return 'string | Function';
    case 'Union':
      return (def.union ?? []).map((u) => tsType(u, { items: def.items })).join(' | ');
    default:
      return 'any';
  }
}

export function renderPublicTypes(): string {
  const out: string[] = [
    '/* eslint-disable */',
    '// Generated from the trait schema by src/config/typegen.ts: do not edit by hand.',
    '// Regenerate: node -e "import(\'./dist/src/config/typegen.js\').then(m => process.stdout.write(m.renderPublicTypes()))" > src/config/public.ts',
    '//',
    '// Use in a TypeScript config file:',
    "//   import type { Config } from './path/to/jhub/src/config/public.js';",
    '//   export default (c: Config) => { c.JupyterHub.port = 8000; };',
    '',
    '/** A function value (hook) in a TypeScript/JavaScript config. */',
    'export type Hook = (...args: any[]) => unknown;',
    '',
  ];
  const classes = allClasses();
  for (const c of classes) {
    out.push(`/** ${c.help}${c.unavailable ? ` (Not available in jhub: ${c.unavailable}.)` : ''} */`);
    out.push(`export interface ${c.name}Config${c.parent ? ` extends ${c.parent}Config` : ''} {`);
    for (const t of c.traits) {
      out.push(`  /** ${t.help.replace(/\*\//g, '*\\/')}${t.deprecated ? ' @deprecated' : ''} */`);
      out.push(`  ${t.name}?: ${tsType(t.type, t)}${t.allowNone || t.default === null ? ' | null' : ''};`);
    }
    out.push('}', '');
  }
  out.push('/** The `c` object of a config file: one section per configurable class. */');
  out.push('export interface Config {');
  for (const c of classes) out.push(`  ${c.name}: ${c.name}Config;`);
  out.push('  /** Sections of classes unknown to jhub are accepted (with a warning). */');
  out.push('  [section: string]: any;');
  out.push('}', '');
  out.push('declare global {');
  out.push('  /** Available while a TypeScript/JavaScript config file is loaded. */');
  out.push('  function get_config(): Config;');
  out.push('}', '');
  return out.join('\n');
}
