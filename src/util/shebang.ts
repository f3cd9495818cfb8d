/**
 * The node options on a script's first line (`#!/usr/bin/env -S node --flag ...`): what running
 * the script directly passes to node. Whoever starts one of our scripts with an explicit
 * `node <script>` (the hub starting jhub-proxy, the tests, the benchmarks) passes the same
 * options, so that there is one list, in the script itself.
 */
import fs from 'node:fs';

export function shebangNodeFlags(file: string): string[] {
  let first: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(512);
      first = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8').split('\n')[0];
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const m = /^#!\S*\/env\s+-S\s+node\s+(.*)$/.exec(first) ?? /^#!\S*\/node\s+(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}
