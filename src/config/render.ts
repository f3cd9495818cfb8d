/** Text derived from the schema: --help, --help-all, --generate-config, --show-config. */
import type { Config } from './config.js';
import { allClasses, getClass } from './schema.js';
import type { ClassDef, TraitDef } from './types.js';
import { pyRepr, pyReprFor, typeWords } from './values.js';

const ALIAS_HELP: [string, string][] = [
  ['--ip', 'JupyterHub.ip'],
  ['--port', 'JupyterHub.port'],
  ['--url', 'JupyterHub.bind_url'],
  ['--base-url', 'JupyterHub.base_url'],
  ['--ssl-key', 'JupyterHub.ssl_key'],
  ['--ssl-cert', 'JupyterHub.ssl_cert'],
  ['--pid-file', 'JupyterHub.pid_file'],
  ['--log-file', 'JupyterHub.extra_log_file'],
  ['-f, --config', 'JupyterHub.config_file'],
  ['--db', 'JupyterHub.db_url'],
  ['--log-level', 'Application.log_level'],
  ['-y', 'JupyterHub.answer_yes'],
];

function typeName(t: TraitDef): string {
  if (t.type === 'Union') return (t.union ?? []).join(' | ');
  if (t.items && ['List', 'Set', 'Tuple', 'Dict'].includes(t.type)) return `${t.type}(${t.items})`;
  return t.type;
}

function defaultText(t: TraitDef): string {
  if (t.defaultText) return t.defaultText;
  return pyReprFor(t, t.default);
}

function wrap(text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(indent + cur);
      cur = w;
    } else cur = cur ? cur + ' ' + w : w;
  }
  if (cur) lines.push(indent + cur);
  return lines;
}

function helpFor(t: TraitDef): string {
  let h = t.help;
  if (t.deprecated) {
    const d = t.deprecated;
    h = `DEPRECATED${d.since ? ` since ${d.since}` : ''}${d.replacement ? `: use ${d.replacement}` : d.message ? `: ${d.message}` : ''}. ${h}`;
  }
  return h;
}

export function renderShortHelp(version: string): string {
  const lines = [
    `jhub ${version} - a multi-user Jupyter hub (JupyterHub-compatible command line)`,
    '',
    'Usage: jhub [subcommand] [options]',
    '',
    'Subcommands:',
    '  token [username]   create an API token for an existing user (default: the current OS user)',
    '  upgrade-db         upgrade the database schema',
    '',
    'Options:',
    '  --<Class>.<trait>=<value>  set any configurable option (see --help-all)',
    '  -h, --help                 this help',
    '  --help-all                 every configurable option with type, default and description',
    '  --version                  print the JupyterHub version this hub is compatible with',
    '',
    'Flags:',
    '  --debug              log level DEBUG',
    '  --generate-config    write a commented default config file (-f path, -y to overwrite) and exit',
    '  --generate-certs     create the internal TLS certificates and exit',
    '  --no-db              keep the database in memory (sqlite:///:memory:)',
    '  --upgrade-db         upgrade the database schema at startup (SQLite files are backed up first)',
    '  --no-ssl             deprecated, no effect',
    '  --show-config        print the configuration and exit',
    '  --show-config-json   print the configuration as JSON and exit',
    '',
    'Aliases (take a value):',
  ];
  for (const [a, target] of ALIAS_HELP) {
    const [cls, name] = target.split('.');
    const t = getClass(cls)?.traits.find((x) => x.name === name);
    lines.push(`  ${(a + ' <' + (t ? typeName(t) : 'value') + '>').padEnd(36)} = --${target}` + (t ? ` (default: ${defaultText(t)})` : ''));
  }
  lines.push('', 'Config file: jupyterhub_config.py in the current directory, or -f <file> (.py, .json, .yaml, .ts, .js).', '');
  return lines.join('\n');
}

function classHeader(c: ClassDef): string {
  return `${c.name}(${c.parent ?? 'Configurable'})`;
}

export function renderHelpAll(version: string): string {
  const out: string[] = [renderShortHelp(version), 'Class options', '=============', ''];
  for (const c of allClasses()) {
    out.push(`${classHeader(c)} options`, '-'.repeat(classHeader(c).length + 8));
    if (c.unavailable) out.push(`(known to jhub so that config files load; not available: ${c.unavailable})`);
    for (const t of c.traits) {
      out.push(`--${c.name}.${t.name}=<${typeName(t)}>`);
      out.push(...wrap(helpFor(t), 76, '    '));
      if (t.type === 'Enum') out.push(`    Choices: any of [${(t.values ?? []).join(', ')}] (case-insensitive)`);
      out.push(`    Default: ${defaultText(t)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Classes written by --generate-config: those jhub implements. */
export function generatedClasses(): ClassDef[] {
  return allClasses().filter((c) => !c.unavailable);
}

export function renderGeneratedConfig(version: string): string {
  const out: string[] = [
    `# Configuration file for jhub (JupyterHub ${version} compatible).`,
    '# Every option is listed commented out with its default; uncomment and edit what you need.',
    '# This is Python, executed like a JupyterHub config file (python3 is needed to load it).',
    '',
    'c = get_config()  #noqa',
    '',
  ];
  for (const c of generatedClasses()) {
    out.push('#' + '-'.repeat(78), `# ${classHeader(c)} configuration`, '#' + '-'.repeat(78));
    out.push(...wrap(c.help, 76, '## '), '');
    for (const t of c.traits) {
      out.push(...wrap(helpFor(t), 76, '## '));
      if (t.type === 'Enum') out.push(`#  Choices: any of [${(t.values ?? []).join(', ')}]`);
      out.push(`#  Type: ${typeName(t)} (${typeWords(t)})`);
      out.push(`#  Default: ${defaultText(t)}`);
      out.push(`# c.${c.name}.${t.name} = ${pyReprFor(t, t.default)}`, '');
    }
  }
  return out.join('\n');
}

/** --show-config: the explicitly configured values, Python-style. */
export function renderShowConfig(config: Config): string {
  const data = config.toJSON();
  const out: string[] = [];
  if (config.files.length) out.push(`Loaded config files:`, ...config.files.map((f) => `  ${f}`), '');
  for (const [cls, traits] of Object.entries(data)) {
    out.push(`${cls}:`);
    for (const [k, v] of Object.entries(traits)) out.push(`  .${k} = ${pyRepr(v)}`);
  }
  if (!Object.keys(data).length) out.push('(no options set: every value is the default)');
  return out.join('\n') + '\n';
}
