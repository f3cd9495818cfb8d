/**
 * The JupyterHub command line (config.md §2): `--Class.trait=value`, aliases, flags and
 * subcommands, converted with the trait types of the schema the way traitlets does it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ConfigError } from '../config/errors.js';
import { LiteralError, parsePyLiteral } from '../config/pyliteral.js';
import { allClasses, findTrait, getClass, traitsOf } from '../config/schema.js';
import { closest } from '../config/suggest.js';
import type { TraitDef, TraitType } from '../config/types.js';
import { PySet, PyTuple } from '../config/values.js';

export type CliCommand =
  | 'run'
  | 'token'
  | 'upgrade-db'
  | 'help'
  | 'help-all'
  | 'version'
  | 'generate-config'
  | 'show-config'
  | 'show-config-json';

/** class -> trait -> converted value and the argument it came from */
export type CliConfig = Record<string, Record<string, { value: unknown; arg: string }>>;

export interface ParsedCli {
  command: CliCommand;
  cliConfig: CliConfig;
  /** -f / --config / --JupyterHub.config_file, as given. */
  configFile?: string;
  /** `jhub token USER` */
  tokenUser?: string;
  /** -y / --JupyterHub.answer_yes */
  answerYes: boolean;
  /** Messages to log as warnings once logging is set up. */
  warnings: string[];
  argv: string[];
}

/** Options taking a value (§2.2). */
export const ALIASES: Record<string, string> = {
  ip: 'JupyterHub.ip',
  port: 'JupyterHub.port',
  url: 'JupyterHub.bind_url',
  'base-url': 'JupyterHub.base_url',
  'ssl-key': 'JupyterHub.ssl_key',
  'ssl-cert': 'JupyterHub.ssl_cert',
  'pid-file': 'JupyterHub.pid_file',
  'log-file': 'JupyterHub.extra_log_file',
  f: 'JupyterHub.config_file',
  config: 'JupyterHub.config_file',
  db: 'JupyterHub.db_url',
  'log-level': 'Application.log_level',
  y: 'JupyterHub.answer_yes',
};

/** Flags (§2.3): settings applied, and their help. */
export const FLAGS: Record<string, { set: [string, string, unknown][]; help: string }> = {
  debug: { set: [['Application', 'log_level', 'DEBUG']], help: 'set log level to logging.DEBUG (maximize logging output)' },
  'generate-config': { set: [['JupyterHub', 'generate_config', true]], help: 'generate default config file' },
  'generate-certs': { set: [['JupyterHub', 'generate_certs', true]], help: 'generate certificates used for internal ssl' },
  'no-db': { set: [['JupyterHub', 'db_url', 'sqlite:///:memory:']], help: 'disable persisting state database to disk' },
  'upgrade-db': { set: [['JupyterHub', 'upgrade_db', true]], help: 'Automatically upgrade the database if needed on startup (SQLite files are backed up first)' },
  'no-ssl': { set: [['JupyterHub', 'confirm_no_ssl', true]], help: '[DEPRECATED in 0.7: does nothing]' },
  'show-config': { set: [['Application', 'show_config', true]], help: 'Show the application\'s configuration (human-readable format)' },
  'show-config-json': { set: [['Application', 'show_config_json', true]], help: 'Show the application\'s configuration (json format)' },
  'log-json': { set: [['JupyterHub', 'log_json', true]], help: 'write logs as one JSON object per line' },
};



/** Which traits hold paths users expect in *their* home (warn when the hub's ~ was used). */
const SPAWNER_PATH_TRAITS = new Set(['notebook_dir', 'default_url', 'home_dir_template', 'user_workingdir']);

export interface ParseOptions {
  env?: NodeJS.ProcessEnv;
}

/** traitlets' os.path.expanduser: `~` and `~/x` use $HOME, `~user/x` that user's home. */
export function expandUser(s: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!s.startsWith('~')) return s;
  const slash = s.indexOf('/');
  const name = slash < 0 ? s.slice(1) : s.slice(1, slash);
  const rest = slash < 0 ? '' : s.slice(slash);
  let home: string | undefined;
  if (!name) home = env.HOME || os.homedir();
  else {
    try {
      const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
      home = line?.split(':')[5];
    } catch {
      home = undefined;
    }
  }
  if (!home) return s;
  return (home.endsWith('/') && rest ? home.slice(0, -1) : home) + rest;
}

/** traitlets' Unicode.from_string: expand `~`, then drop one pair of surrounding quotes. */
export function unicodeFromString(s: string, env?: NodeJS.ProcessEnv): string {
  let v = expandUser(s, env);
  if (v.length >= 2) for (const q of ['"', "'"]) if (v[0] === q && v[v.length - 1] === q) v = v.slice(1, -1);
  return v;
}

class ArgError extends ConfigError {}

function literal(s: string, arg: string): unknown {
  try {
    return parsePyLiteral(s);
  } catch (e) {
    throw new ArgError(`invalid value for ${arg}: ${(e as LiteralError).message}`);
  }
}

/** Convert one command-line string for a scalar trait type. */
function scalarFromString(type: TraitType, s: string, def: Partial<TraitDef>, arg: string, env?: NodeJS.ProcessEnv): unknown {
  if (def.allowNone && s === 'None') return null;
  switch (type) {
    case 'Unicode':
    case 'URLPrefix':
      return unicodeFromString(s, env);
    case 'Int':
      if (!/^\s*[+-]?\d[\d_]*\s*$/.test(s)) throw new ArgError(`invalid value for ${arg}: expected an int, not ${JSON.stringify(s)}`);
      return parseInt(s.replace(/_/g, ''), 10);
    case 'Float': {
      const n = Number(s.trim());
      if (s.trim() === '' || Number.isNaN(n) && s.trim().toLowerCase() !== 'nan') throw new ArgError(`invalid value for ${arg}: expected a float, not ${JSON.stringify(s)}`);
      return n;
    }
    case 'Bool': {
      const l = s.toLowerCase();
      if (l === 'true' || l === '1') return true;
      if (l === 'false' || l === '0') return false;
      throw new ArgError(`invalid value for ${arg}: expected true/false/1/0, not ${JSON.stringify(s)}`);
    }
    case 'Bytes': {
      let v = s;
      if (v.length >= 3) for (const q of ['"', "'"]) if (v.startsWith('b' + q) && v.endsWith(q)) v = v.slice(2, -1);
      return Buffer.from(v, 'utf8');
    }
    case 'Callable':
      throw new ArgError(`${arg}: a function cannot be given on the command line; set it in a TypeScript config file`);
    default:
      // Enum, Type, ByteSpecification, Any: the string itself (validated later)
      return s;
  }
}

/** Convert the list of strings given for a trait (repeated options) to a value. */
export function fromStrings(def: TraitDef, strs: string[], arg: string, env?: NodeJS.ProcessEnv): unknown {
  const types: TraitType[] = def.type === 'Union' ? (def.union ?? []) : [def.type];
  const errors: string[] = [];
  for (const t of types) {
    try {
      return fromStringsAs(t, def, strs, arg, env);
    } catch (e) {
      if (!(e instanceof ArgError) || types.length === 1) throw e;
      errors.push(e.message);
    }
  }
  throw new ArgError(errors[0] ?? `invalid value for ${arg}`);
}

function fromStringsAs(type: TraitType, def: TraitDef, strs: string[], arg: string, env?: NodeJS.ProcessEnv): unknown {
  const itemDef: Partial<TraitDef> = { allowNone: false };
  const item = (s: string) => (def.items ? scalarFromString(def.items, s, itemDef, arg, env) : s);
  switch (type) {
    case 'List':
    case 'Set':
    case 'Tuple':
    case 'Command': {
      if (strs.length === 1) {
        const r = strs[0];
        if (r === 'None' && def.allowNone) return null;
        const pairs = type === 'Set' ? ['[]', '()', '{}'] : ['[]', '()'];
        if (r.length >= 2 && pairs.some((p) => r.startsWith(p[0]) && r.endsWith(p[1]))) {
          const v = literal(r, arg);
          return v instanceof PyTuple || v instanceof PySet ? v.items : v;
        }
        if (type === 'Command') return [unicodeFromString(r, env)];
      }
      return strs.map(type === 'Command' ? (s) => unicodeFromString(s, env) : item);
    }
    case 'Dict': {
      if (strs.length === 1 && strs[0] === 'None' && def.allowNone) return null;
      if (strs.length === 1 && strs[0].startsWith('{') && strs[0].endsWith('}')) return literal(strs[0], arg);
      const out: Record<string, unknown> = {};
      for (const s of strs) {
        const eq = s.indexOf('=');
        if (eq < 0) throw new ArgError(`invalid value for ${arg}: dict options must have the form key=value, got ${JSON.stringify(s)}`);
        out[s.slice(0, eq)] = item(s.slice(eq + 1));
      }
      return out;
    }
    default:
      return scalarFromString(type, strs[strs.length - 1], def, arg, env);
  }
}

function suggestOption(opt: string): string {
  const names = [
    ...Object.keys(ALIASES).map((a) => (a.length === 1 ? `-${a}` : `--${a}`)),
    ...Object.keys(FLAGS).map((f) => `--${f}`),
    '--help', '--help-all', '--version',
  ];
  if (opt.includes('.')) {
    for (const c of allClasses()) for (const t of traitsOf(c.name)) names.push(`--${c.name}.${t.name}`);
  }
  const hit = closest(opt, names, 3);
  return hit.length ? ` Did you mean ${hit.map((h) => `'${h}'`).join(' or ')}?` : '';
}

/** Parse the command line (without `node` and the script). */
export function parseArgs(argv: string[], opts: ParseOptions = {}): ParsedCli {
  const env = opts.env ?? process.env;
  const raw = new Map<string, { def: TraitDef; cls: string; trait: string; strs: string[]; args: string[] }>();
  const flagged: [string, string, unknown, string][] = [];
  const warnings: string[] = [];
  const special = new Set<string>();
  const positionals: string[] = [];
  const isBoolLiteral = (s: string | undefined) => s !== undefined && ['true', 'false', '1', '0'].includes(s.toLowerCase());

  const addValue = (cls: string, trait: string, value: string, arg: string) => {
    const found = findTrait(cls, trait)!;
    const key = `${cls}.${trait}`;
    let r = raw.get(key);
    if (!r) raw.set(key, (r = { def: found.def, cls, trait, strs: [], args: [] }));
    r.strs.push(value);
    r.args.push(arg);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    if (a === '-h' || a === '--help') {
      special.add('help');
      continue;
    }
    if (a === '--help-all') {
      special.add('help-all');
      continue;
    }
    if (a === '--version' || a === '-V') {
      special.add('version');
      continue;
    }
    const long = a.startsWith('--');
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let inline: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;

    let target: string | undefined;
    if (name in FLAGS && inline === undefined && long) {
      for (const [c, t, v] of FLAGS[name].set) flagged.push([c, t, v, a]);
      if (name === 'no-ssl') warnings.push('--no-ssl is deprecated and has no effect');
      continue;
    }
    if (name in ALIASES && (long || name.length === 1)) target = ALIASES[name];
    else if (long && /^[A-Za-z_]\w*\.[A-Za-z_]\w*$/.test(name)) target = name;
    if (!target) throw new ConfigError(`Unrecognized option: '${a.split('=')[0]}'.` + suggestOption(a.split('=')[0]));

    const [cls, trait] = target.split('.');
    if (!getClass(cls)) {
      const hint = closest(cls, allClasses().map((c) => c.name));
      throw new ConfigError(`Unrecognized option: '--${name}': unknown class '${cls}'.` + (hint.length ? ` Did you mean '--${hint[0]}.${trait}'?` : ''));
    }
    const found = findTrait(cls, trait);
    if (!found) {
      const hint = closest(trait, traitsOf(cls).map((t) => t.name));
      throw new ConfigError(`Unrecognized option: '--${name}': ${cls} has no trait '${trait}'.` + (hint.length ? ` Did you mean '--${cls}.${hint[0]}'?` : ''));
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (found.def.type === 'Bool') {
        // bool options work as flags: `-y`, `--JupyterHub.reset_db`
        if (isBoolLiteral(next)) inline = argv[++i];
        else inline = 'true';
      } else {
        if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next)))
          throw new ConfigError(`option ${a} needs a value (${a}=<value> or ${a} <value>)`);
        inline = argv[++i];
      }
    }
    addValue(cls, trait, inline, `${a}${eq >= 0 ? '' : ' ' + inline}`);
  }

  const cliConfig: CliConfig = {};
  for (const [c, t, v, arg] of flagged) (cliConfig[c] ??= {})[t] = { value: v, arg };
  for (const r of raw.values()) {
    const arg = r.args.length === 1 ? r.args[0] : r.args.join(' ');
    const value = fromStrings(r.def, r.strs, r.args[r.args.length - 1].split(/[= ]/)[0], env);
    (cliConfig[r.cls] ??= {})[r.trait] = { value, arg };
    if (r.cls.endsWith('Spawner') && SPAWNER_PATH_TRAITS.has(r.trait) && r.strs.some((s) => s.startsWith('~') && typeof value === 'string' && !value.startsWith('~')))
      warnings.push(
        `${arg}: '~' was expanded to the hub's home directory (${value}) for every user; ` +
          `to mean each user's home, set it in the config file or quote it for the hub ("--${r.cls}.${r.trait}='~/...'")`,
      );
  }

  let command: CliCommand = 'run';
  let tokenUser: string | undefined;
  if (positionals.length) {
    const sub = positionals[0];
    if (sub === 'token') {
      command = 'token';
      if (positionals.length > 2) throw new ConfigError(`unexpected arguments after 'token ${positionals[1]}': ${positionals.slice(2).join(' ')}`);
      tokenUser = positionals[1];
    } else if (sub === 'upgrade-db') {
      command = 'upgrade-db';
      if (positionals.length > 1) throw new ConfigError(`unexpected arguments after 'upgrade-db': ${positionals.slice(1).join(' ')}`);
    } else {
      const hint = closest(sub, ['token', 'upgrade-db']);
      throw new ConfigError(`Unrecognized argument: '${sub}'.` + (hint.length ? ` Did you mean '${hint[0]}'?` : ' Subcommands are: token, upgrade-db'));
    }
  }
  if (special.has('help')) command = 'help';
  else if (special.has('help-all')) command = 'help-all';
  else if (special.has('version')) command = 'version';
  else if (command === 'run' && cliConfig.JupyterHub?.generate_config?.value === true) command = 'generate-config';
  else if (command === 'run' && cliConfig.Application?.show_config_json?.value === true) command = 'show-config-json';
  else if (command === 'run' && cliConfig.Application?.show_config?.value === true) command = 'show-config';

  const cf = cliConfig.JupyterHub?.config_file?.value;
  return {
    command,
    cliConfig,
    configFile: typeof cf === 'string' ? cf : undefined,
    tokenUser,
    answerYes: cliConfig.JupyterHub?.answer_yes?.value === true,
    warnings,
    argv,
  };
}


