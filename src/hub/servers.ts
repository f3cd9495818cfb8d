/**
 * The contract between the REST API / pages and the spawning machinery. The spawning
 * module implements `ServerManager` and sets `hub.servers`; API handlers and pages only
 * call it (they never touch spawner processes directly).
 */
import type { UserRow, SpawnerRow } from '../db/schema.js';

export type PendingAction = 'spawn' | 'stop' | 'check' | null;

/** One event of the spawn progress stream (rest-api.md §8.10). */
export interface ProgressEvent {
  progress?: number;
  message?: string;
  html_message?: string;
  ready?: true;
  failed?: true;
  url?: string;
}

/** Server model of the REST API (rest-api.md §6.2). */
export interface ServerModel {
  name: string;
  full_name: string;
  last_activity: string | null;
  started: string | null;
  pending: PendingAction;
  ready: boolean;
  stopped: boolean;
  url: string;
  user_options: Record<string, unknown> | null;
  progress_url: string;
  full_url: string | null;
  full_progress_url: string | null;
  state?: Record<string, unknown>;
}

export interface StartResult {
  /** 'ready': started and routed within slow_spawn_timeout (→ 201); 'pending': still going (→ 202). */
  status: 'ready' | 'pending';
}
export interface StopResult {
  /** 'stopped' (→ 204) or 'pending' (→ 202). */
  status: 'stopped' | 'pending';
}

export interface ServerManager {
  /**
   * Start a server. `options` (possibly undefined: reuse the last ones) become user_options.
   * Throws HttpError with JupyterHub's status and message for every refusal (400 named servers
   * disabled/limit/already running/pending, 429 throttled with Retry-After, 500 failed).
   */
  start(user: UserRow, serverName: string, options: Record<string, unknown> | undefined): Promise<StartResult>;
  /** Stop a server; `remove` deletes a named server's record afterwards. */
  stop(user: UserRow, serverName: string, opts?: { remove?: boolean }): Promise<StopResult>;
  /** Pending action of a server, if any. */
  pending(userId: number, serverName: string): PendingAction;
  /** Running, routed and no pending action. */
  ready(userId: number, serverName: string): boolean;
  /** Server model from its database row (state only when includeState). */
  model(user: UserRow, row: SpawnerRow, opts?: { includeState?: boolean }): ServerModel;
  /**
   * Progress events of the current or last spawn: past events first, then live ones, ending
   * with the final ready/failed event. Null if the server is not starting, not ready and has
   * no recorded failure.
   */
  progress(user: UserRow, serverName: string): AsyncIterable<ProgressEvent> | null;
  /** Stop every server of a user (before deleting the user). */
  stopAll(user: UserRow): Promise<void>;
}

declare module './app.js' {
  interface Hub {
    servers: ServerManager;
  }
}
