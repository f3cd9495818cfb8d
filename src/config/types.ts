/**
 * The typed trait schema. Every configurable option of jhub is declared once as a
 * TraitDef inside a ClassDef; loading, validation, `--help-all`, `--generate-config`
 * and the docs are all derived from these declarations.
 */

export type TraitType =
  | 'Unicode'
  | 'Int'
  | 'Float'
  | 'Bool'
  | 'List'
  | 'Set'
  | 'Tuple'
  | 'Dict'
  | 'Bytes'
  | 'Enum'
  | 'Any'
  | 'Command' // list of strings, or a single string (split on whitespace)
  | 'URLPrefix' // string that always starts and ends with '/'
  | 'ByteSpecification' // int, or string with K/M/G/T suffix → bytes
  | 'Callable'
  | 'Union' // see `union` for the member types
  | 'Type'; // a class: object, dotted import path or registered alias

/** A value that came from a config file and is a function (only possible in .ts/.js configs). */
export type Hook = (...args: any[]) => unknown;

export interface TraitDef {
  name: string;
  type: TraitType;
  /** Member types of a Union trait (e.g. ['Unicode', 'Callable']). */
  union?: TraitType[];
  /** Element type of a List/Set/Tuple or value type of a Dict, when uniform. */
  items?: TraitType;
  /** Allowed values of an Enum. */
  values?: readonly string[];
  /** Static default, or a function computing it from the rest of the configuration. */
  default?: unknown;
  dynamicDefault?: (ctx: DefaultContext) => unknown;
  /** Text shown for the default in help output when it is dynamic. */
  defaultText?: string;
  /** Whether `null`/None is an accepted value. */
  allowNone?: boolean;
  help: string;
  /** Minimum for Int/Float. */
  min?: number;
  /** For `Type` traits: which registry of class aliases the value is resolved against. */
  kind?: 'authenticator' | 'spawner' | 'proxy';
  /**
   * Extra check/normalisation run after type coercion. Return the (possibly normalised)
   * value or throw an Error whose message explains what is wrong.
   */
  validate?: (value: unknown) => unknown;
  deprecated?: {
    since: string;
    /** `Class.trait` that replaces it; the value is forwarded there with a warning. */
    replacement?: string;
    message?: string;
  };
}

export interface ClassDef {
  name: string;
  /** Parent configurable class: its traits are inherited and its config section applies. */
  parent?: string;
  help: string;
  traits: TraitDef[];
  /**
   * Names JupyterHub or third-party packages use for this class (dotted import paths,
   * entry-point aliases) so that `c.JupyterHub.spawner_class = 'sudospawner.SudoSpawner'`
   * resolves to it.
   */
  aliases?: string[];
  /** Set for classes that are known (so config lines are accepted) but not available in jhub yet. */
  unavailable?: string;
}

export interface DefaultContext {
  /** The class the value is being resolved for (e.g. 'GenericOAuthenticator'). */
  cls: string;
  /** Resolved value of another trait of the same configuration (for dynamic defaults). */
  get(cls: string, name: string): unknown;
  env: NodeJS.ProcessEnv;
}

/** Where a configured value came from, for error messages. */
export interface Origin {
  source: 'default' | 'file' | 'command line' | 'env' | 'program';
  file?: string;
  line?: number;
  arg?: string;
}
