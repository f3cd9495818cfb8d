// Opt-in persistent route store: a JSON file written atomically (tmp + fsync + rename),
// debounced. Route additions/removals are written within `debounceMs`; pure
// last_activity changes at most every `activityIntervalMs`.
import fs from 'node:fs';
import path from 'node:path';
import type { RouteData, RouteTable } from './routes.js';
import type { Logger } from './log.js';

const FORMAT = 'jhub-proxy-routes';

export class StoreError extends Error {}

export function loadRouteFile(file: string): Array<[string, RouteData, number]> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StoreError(`cannot read route store ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StoreError(`route store ${file} is corrupt (invalid JSON: ${(e as Error).message})`);
  }
  const d = doc as { format?: unknown; version?: unknown; routes?: unknown };
  if (!d || typeof d !== 'object' || d.format !== FORMAT || d.version !== 1 || !d.routes || typeof d.routes !== 'object') {
    throw new StoreError(`route store ${file} is corrupt (not a ${FORMAT} v1 file)`);
  }
  const out: Array<[string, RouteData, number]> = [];
  for (const [p, data] of Object.entries(d.routes as Record<string, unknown>)) {
    const r = data as RouteData;
    if (!r || typeof r !== 'object' || typeof r.target !== 'string') {
      throw new StoreError(`route store ${file} is corrupt (route ${JSON.stringify(p)} has no string target)`);
    }
    const ts = typeof r.last_activity === 'string' ? Date.parse(r.last_activity) : NaN;
    out.push([p, r, Number.isFinite(ts) ? ts : Date.now()]);
  }
  return out;
}

export class FileRouteStore {
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastActivitySum = 0;
  private activityTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly table: RouteTable,
    private readonly log: Logger,
    private readonly debounceMs = 50,
    private readonly activityIntervalMs = 10_000,
  ) {}

  /** Load the file into the table (throws StoreError when corrupt) and start tracking changes. */
  load(): number {
    const routes = loadRouteFile(this.file);
    for (const [p, data, ts] of routes) this.table.add(p, data, ts);
    this.table.onChange = () => this.schedule(this.debounceMs);
    this.lastActivitySum = this.activitySum();
    this.activityTimer = setInterval(() => {
      if (this.activitySum() !== this.lastActivitySum) this.schedule(0);
    }, this.activityIntervalMs);
    this.activityTimer.unref();
    return routes.length;
  }

  private activitySum(): number {
    let s = 0;
    for (const e of this.table.routes.values()) s += e.ts;
    return s;
  }

  private schedule(ms: number): void {
    this.dirty = true;
    if (this.closed) return;
    const due = Date.now() + ms;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
  }

  private serialise(): string {
    this.lastActivitySum = this.activitySum();
    return `{"format":"${FORMAT}","version":1,"routes":${this.table.toJson()}}\n`;
  }

  /** Write now (async), serialised with any write in progress. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    const text = this.serialise();
    const tmp = `${this.file}.tmp-${process.pid}`;
    this.writing = (async () => {
      try {
        const fh = await fs.promises.open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.promises.rename(tmp, this.file);
      } catch (e) {
        this.dirty = true;
        this.log.error('Failed to write route store %s: %s', this.file, (e as Error).message);
      }
    })();
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
  }

  /** Synchronous final write (shutdown). */
  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty && this.activitySum() === this.lastActivitySum) return;
    this.dirty = false;
    const text = this.serialise();
    const tmp = `${this.file}.tmp-${process.pid}-sync`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.activityTimer) clearInterval(this.activityTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    this.flushSync();
  }
}

export function ensureStoreDir(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
}
