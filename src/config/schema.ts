/** Registry of every configurable class known to jhub. */
import { ConfigError } from './errors.js';
import { closest } from './suggest.js';
import { Authenticator, DummyAuthenticator, LocalAuthenticator, NullAuthenticator, PAMAuthenticator, SharedPasswordAuthenticator } from './traits/auth.js';
import { Application, CryptKeeper, JupyterHub } from './traits/jupyterhub.js';
import { GenericOAuthenticator, LocalGenericOAuthenticator, OAuthenticator, providerClasses } from './traits/oauth.js';
import { ConfigurableHTTPProxy, Proxy } from './traits/proxy.js';
import { LocalProcessSpawner, SimpleLocalProcessSpawner, Spawner, SudoSpawner } from './traits/spawner.js';
import { batchClasses, BatchSpawnerBase, DockerSpawner, KubeSpawner, ProfilesSpawner, SwarmSpawner, SystemdSpawner, WrapSpawner } from './traits/thirdparty.js';
import type { ClassDef, TraitDef } from './types.js';

export type ClassKind = 'authenticator' | 'spawner' | 'proxy';

const CLASSES: ClassDef[] = [
  Application,
  JupyterHub,
  Spawner,
  LocalProcessSpawner,
  SimpleLocalProcessSpawner,
  SudoSpawner,
  Authenticator,
  LocalAuthenticator,
  PAMAuthenticator,
  DummyAuthenticator,
  SharedPasswordAuthenticator,
  NullAuthenticator,
  OAuthenticator,
  GenericOAuthenticator,
  LocalGenericOAuthenticator,
  Proxy,
  ConfigurableHTTPProxy,
  CryptKeeper,
  ...providerClasses,
  SystemdSpawner,
  DockerSpawner,
  SwarmSpawner,
  KubeSpawner,
  BatchSpawnerBase,
  ...batchClasses,
  WrapSpawner,
  ProfilesSpawner,
];

const byName = new Map<string, ClassDef>();
for (const c of CLASSES) {
  if (byName.has(c.name)) throw new Error(`duplicate class ${c.name}`);
  byName.set(c.name, c);
}
for (const c of CLASSES) if (c.parent && !byName.has(c.parent)) throw new Error(`${c.name}: unknown parent ${c.parent}`);

export function getClass(name: string): ClassDef | undefined {
  return byName.get(name);
}

export function allClasses(): ClassDef[] {
  return CLASSES.slice();
}

/** The class and its ancestors, root first (the order in which config sections apply). */
export function ancestors(name: string): string[] {
  const out: string[] = [];
  let c = byName.get(name);
  while (c) {
    out.unshift(c.name);
    c = c.parent ? byName.get(c.parent) : undefined;
  }
  return out;
}

export function isSubclass(name: string, base: string): boolean {
  return ancestors(name).includes(base);
}

const traitCache = new Map<string, Map<string, { def: TraitDef; owner: string }>>();
function traitMap(name: string): Map<string, { def: TraitDef; owner: string }> {
  let m = traitCache.get(name);
  if (!m) {
    m = new Map();
    for (const a of ancestors(name)) for (const t of byName.get(a)!.traits) m.set(t.name, { def: t, owner: a });
    traitCache.set(name, m);
  }
  return m;
}

/** Every trait of the class, inherited ones included (a subclass's redeclaration wins). */
export function traitsOf(className: string): TraitDef[] {
  return [...traitMap(className).values()].map((x) => x.def);
}

/** The declaration of `trait` as seen by `className`, and which class declares it. */
export function findTrait(className: string, trait: string): { def: TraitDef; owner: string } | undefined {
  if (!byName.has(className)) return undefined;
  return traitMap(className).get(trait);
}

/** 'authenticator' | 'spawner' | 'proxy' for classes under those roots. */
export function kindOf(className: string): ClassKind | undefined {
  const root = ancestors(className)[0];
  if (root === 'Authenticator') return 'authenticator';
  if (root === 'Spawner') return 'spawner';
  if (root === 'Proxy') return 'proxy';
  return undefined;
}

const TRAIT_FOR_KIND: Record<ClassKind, string> = {
  authenticator: 'JupyterHub.authenticator_class',
  spawner: 'JupyterHub.spawner_class',
  proxy: 'JupyterHub.proxy_class',
};

/**
 * Find the class a value of authenticator_class/spawner_class/proxy_class names: the
 * class name itself, an entry-point alias (case-insensitive) or a dotted import path.
 * Returns undefined when nothing matches. Does not check availability.
 */
export function lookupClassAlias(kind: ClassKind, value: string): ClassDef | undefined {
  const v = value.trim();
  const candidates = CLASSES.filter((c) => kindOf(c.name) === kind);
  const exact = candidates.find((c) => c.name === v);
  if (exact) return exact;
  const lower = v.toLowerCase();
  const byAlias = candidates.find((c) => (c.aliases ?? []).some((a) => a.toLowerCase() === lower));
  if (byAlias) return byAlias;
  if (v.includes('.')) {
    // a dotted path into a known package under another module name, e.g.
    // dockerspawner.dockerspawner.DockerSpawner or oauthenticator.generic.GenericOAuthenticator
    const parts = v.split('.');
    const last = parts[parts.length - 1];
    const pkg = parts[0];
    return candidates.find(
      (c) => c.name === last && (c.aliases ?? []).some((a) => a.includes('.') && a.split('.')[0] === pkg),
    );
  }
  return undefined;
}

/** Names listed in error messages for a kind. */
export function knownAliases(kind: ClassKind): string[] {
  const out: string[] = [];
  for (const c of CLASSES) {
    if (kindOf(c.name) !== kind || c.unavailable) continue;
    for (const a of c.aliases ?? []) if (!a.includes('.')) out.push(a);
  }
  return [...new Set(out)];
}

/**
 * Resolve a class alias to the class jhub will use. Throws a ConfigError when the name is
 * unknown, or known but not available in jhub yet.
 */
export function resolveClassAlias(kind: ClassKind, value: string): ClassDef {
  const c = lookupClassAlias(kind, value);
  if (!c) {
    const all = CLASSES.filter((x) => kindOf(x.name) === kind).flatMap((x) => [x.name, ...(x.aliases ?? [])]);
    const hint = closest(value, all);
    throw new ConfigError(
      `unknown class '${value}' for ${TRAIT_FOR_KIND[kind]}; known: ${knownAliases(kind).join(', ')}` +
        (hint.length ? ` (did you mean '${hint[0]}'?)` : ''),
    );
  }
  if (c.unavailable) throw new ConfigError(`${value} is not available yet in jhub: ${c.unavailable}`);
  return c;
}

/** Dotted Python paths of the known classes (for the Python config stand-in modules). */
export function pythonStandIns(): { name: string; parent: string | null; paths: string[] }[] {
  return CLASSES.map((c) => ({
    name: c.name,
    parent: c.parent ?? null,
    paths: (c.aliases ?? []).filter((a) => a.includes('.') && a.split('.').pop() === c.name),
  }));
}
