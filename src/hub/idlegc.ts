/**
 * Idle-time garbage collection. V8 collects its old generation when allocation pushes it to a
 * limit; a hub that goes quiet after a burst (a batch of 10k users, a long listing) keeps that
 * garbage, and the resident memory under it, until the next burst. When no request has arrived
 * for a whole check interval and the heap has grown well past what the last full collection
 * left, this runs one full collection (a few milliseconds for a hub's heap; never under load).
 */
import type http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { getLogger } from '../util/log.js';

const log = getLogger('JupyterHub', 'app');

/** V8's gc(), made available at run time (bin/jhub sets --expose-gc before compiling, too). */
function gcFunction(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

export function startIdleGc(server: http.Server, intervalMs = 2000): () => void {
  const gc = gcFunction();
  if (!gc) return () => {};
  let requests = 0;
  const onRequest = () => void requests++;
  server.on('request', onRequest);
  let baseline = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const busy = requests > 0;
    requests = 0;
    if (busy) return;
    const before = process.memoryUsage().heapUsed;
    if (before < baseline + 8 * 1048576 && before < baseline * 1.5) return;
    const t0 = performance.now();
    // Compacting moves live objects together, so that whole pages go back to the system.
    v8.setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
    baseline = process.memoryUsage().heapUsed;
    log.debug(`Idle garbage collection: heap ${(before / 1048576).toFixed(1)} → ${(baseline / 1048576).toFixed(1)} MB in ${(performance.now() - t0).toFixed(1)} ms`);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    server.off('request', onRequest);
  };
}
