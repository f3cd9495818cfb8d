/**
 * Hot queries compiled once: `prepared((db, a, b) => db.selectFrom(...).where('x', '=', a)...)`
 * builds and compiles the query the first time it runs on a database (with placeholders for
 * the arguments), then only binds new values. Works on every dialect (the SQL is Kysely's);
 * with SQLite the statement itself is also reused (see `cachingConnection` in index.ts).
 * Arguments must be plain values (no lists: an `in` list changes the SQL).
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { DB } from './schema.js';

class Arg {
  constructor(readonly index: number) {}
}

interface Plan<O> {
  query: CompiledQuery<O>;
  /** For each parameter: the argument index, or -1 for a constant of the query. */
  slots: number[];
}

export function prepared<A extends unknown[], O>(build: (db: Kysely<DB>, ...args: A) => Compilable<O>): (db: Kysely<DB>, ...args: A) => Promise<O[]> {
  const plans = new WeakMap<Kysely<DB>, Plan<O>>();
  return async (db, ...args) => {
    let plan = plans.get(db);
    if (!plan) {
      const markers = args.map((_, i) => new Arg(i)) as unknown as A;
      const query = build(db, ...markers).compile();
      plan = { query, slots: query.parameters.map((p) => (p instanceof Arg ? p.index : -1)) };
      plans.set(db, plan);
    }
    const { query, slots } = plan;
    const parameters = slots.map((s, i) => (s < 0 ? query.parameters[i] : args[s]));
    const r = await db.executeQuery<O>({ ...query, parameters });
    return r.rows;
  };
}
