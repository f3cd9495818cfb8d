/**
 * import() for modules that are not part of the bundle: operators' ES module config files.
 * The bundled commands are compiled by bin/entry.mjs through vm.Script with a V8 code cache,
 * and on Node 20 code restored from a cache cannot call import() itself; bin/entry.mjs then
 * provides one from a real module under this symbol.
 */
const HOOK = Symbol.for('jhub.importExternal');

export function importExternal<T = Record<string, unknown>>(specifier: string): Promise<T> {
  const hook = (globalThis as Record<symbol, unknown>)[HOOK] as ((s: string) => Promise<T>) | undefined;
  return hook ? hook(specifier) : (import(specifier) as Promise<T>);
}
