/** "Did you mean ...?" suggestions based on edit distance. */

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[n];
}

/** Closest candidates (case-insensitive), best first; empty if none is close enough. */
export function closest(word: string, candidates: Iterable<string>, max = 3): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.floor(w.length / 3));
  const scored: [number, string][] = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let d = editDistance(w, cl);
    if (w.length >= 3 && cl.length >= 3 && (cl.includes(w) || w.includes(cl))) d = Math.min(d, 1);
    if (d <= limit) scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return [...new Set(scored.map((s) => s[1]))].slice(0, max);
}

/** ` Did you mean `x`?` or `` */
export function didYouMean(word: string, candidates: Iterable<string>, fmt: (s: string) => string = (s) => `\`${s}\``): string {
  const c = closest(word, candidates);
  if (!c.length) return '';
  return ` Did you mean ${c.map(fmt).join(' or ')}?`;
}
