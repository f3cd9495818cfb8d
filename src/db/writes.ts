/**
 * Write tracking for caches (kept apart from index.ts so that importing it does not load Kysely).
 */
import type { Kysely, KyselyPlugin, OperationNode, QueryResult, UnknownRow } from 'kysely';
import type { DB } from './schema.js';

/**
 * Counts writes (insert/update/delete, non-select raw SQL) to the tables that request
 * identities are built from, so that caches of them (src/hub/identity.ts) can tell when
 * they are stale: `writeGeneration(db)` changes after every such write, whichever module did it.
 */
const IDENTITY_TABLES = new Set(['api_tokens', 'users', 'services', 'oauth_clients']);
export class WriteTracker implements KyselyPlugin {
  gen = 0;
  private writes = new WeakSet<object>();
  transformQuery(args: { node: OperationNode; queryId: object }) {
    if (isIdentityWrite(args.node)) {
      this.gen++;
      this.writes.add(args.queryId);
    }
    return args.node as never;
  }
  async transformResult(args: { result: QueryResult<UnknownRow>; queryId: object }) {
    // again once the write is done: a read that started in between must not be trusted
    if (this.writes.has(args.queryId)) this.gen++;
    return args.result;
  }
}
function tableOf(n: unknown): string | null {
  const o = n as { kind?: string; table?: unknown; identifier?: { name?: string }; froms?: unknown[]; node?: unknown } | undefined;
  if (!o || typeof o !== 'object') return null;
  if (o.kind === 'TableNode') return tableOf(o.table);
  if (o.kind === 'SchemableIdentifierNode') return o.identifier?.name ?? null;
  if (o.kind === 'FromNode') return o.froms?.length === 1 ? tableOf(o.froms[0]) : null;
  if (o.kind === 'AliasNode') return tableOf(o.node);
  return null;
}
function isIdentityWrite(node: OperationNode): boolean {
  const n = node as OperationNode & { into?: unknown; table?: unknown; from?: unknown; sqlFragments?: readonly string[] };
  switch (n.kind) {
    case 'SelectQueryNode':
      return false;
    case 'InsertQueryNode': {
      const t = tableOf(n.into);
      return t === null || IDENTITY_TABLES.has(t);
    }
    case 'UpdateQueryNode': {
      const t = tableOf(n.table);
      return t === null || IDENTITY_TABLES.has(t);
    }
    case 'DeleteQueryNode': {
      const t = tableOf(n.from);
      return t === null || IDENTITY_TABLES.has(t);
    }
    case 'RawNode':
      return !/^\s*(select|pragma)\b/i.test(n.sqlFragments?.[0] ?? '');
    default:
      // merge, schema changes, ...
      return true;
  }
}
const trackers = new WeakMap<object, WriteTracker>();

export function trackWrites(db: Kysely<DB>, tracker: WriteTracker): void {
  trackers.set(db, tracker);
}

/** A number that changes after every write to users, api_tokens, services or oauth_clients. */
export function writeGeneration(db: Kysely<DB>): number {
  return trackers.get(db)?.gen ?? NaN;
}
