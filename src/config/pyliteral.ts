/** A parser for Python literals (ast.literal_eval subset), for command-line container values. */
import { PySet, PyTuple } from './values.js';

export class LiteralError extends Error {}

export function parsePyLiteral(src: string): unknown {
  let i = 0;
  const s = src;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const fail = (msg: string): never => {
    throw new LiteralError(`${msg} at position ${i} in ${JSON.stringify(src)}`);
  };
  const str = (): unknown => {
    let prefix = '';
    while (/[rbuRBU]/.test(s[i])) prefix += s[i++].toLowerCase();
    const q = s[i];
    const triple = s.slice(i, i + 3) === q.repeat(3);
    const qs = triple ? q.repeat(3) : q;
    i += qs.length;
    let out = '';
    for (;;) {
      if (i >= s.length) fail('unterminated string');
      if (s.startsWith(qs, i)) {
        i += qs.length;
        break;
      }
      const ch = s[i++];
      if (ch === '\\' && !prefix.includes('r')) {
        const e = s[i++];
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
        if (e in simple) out += simple[e];
        else if (e === 'x') {
          out += String.fromCharCode(parseInt(s.slice(i, i + 2), 16));
          i += 2;
        } else if (e === 'u') {
          out += String.fromCharCode(parseInt(s.slice(i, i + 4), 16));
          i += 4;
        } else out += '\\' + e;
      } else out += ch;
    }
    return prefix.includes('b') ? Buffer.from(out, 'latin1') : out;
  };
  const seq = (close: string): { items: unknown[]; trailingComma: boolean } => {
    const items: unknown[] = [];
    let trailingComma = false;
    ws();
    while (s[i] !== close) {
      items.push(value());
      ws();
      trailingComma = false;
      if (s[i] === ',') {
        i++;
        trailingComma = true;
        ws();
      } else if (s[i] !== close) fail(`expected ',' or '${close}'`);
    }
    i++;
    return { items, trailingComma };
  };
  const value = (): unknown => {
    ws();
    const ch = s[i];
    if (ch === undefined) return fail('unexpected end');
    if (ch === '[') {
      i++;
      return seq(']').items;
    }
    if (ch === '(') {
      i++;
      const { items, trailingComma } = seq(')');
      if (items.length === 1 && !trailingComma) return items[0];
      return new PyTuple(items);
    }
    if (ch === '{') {
      i++;
      ws();
      if (s[i] === '}') {
        i++;
        return {};
      }
      const first = value();
      ws();
      if (s[i] === ':') {
        const out: Record<string, unknown> = {};
        i++;
        out[String(first)] = value();
        ws();
        while (s[i] === ',') {
          i++;
          ws();
          if (s[i] === '}') break;
          const k = value();
          ws();
          if (s[i] !== ':') fail("expected ':'");
          i++;
          out[String(k)] = value();
          ws();
        }
        if (s[i] !== '}') fail("expected '}'");
        i++;
        return out;
      }
      const items = [first];
      while (s[i] === ',') {
        i++;
        ws();
        if (s[i] === '}') break;
        items.push(value());
        ws();
      }
      if (s[i] !== '}') fail("expected '}'");
      i++;
      return new PySet(items);
    }
    if (/[rbuRBU]?['"]/.test(s.slice(i, i + 2)) || ch === '"' || ch === "'" || /^[rbuRBU]{1,2}['"]/.test(s.slice(i, i + 3))) return str();
    const m = /^[+-]?(\d[\d_]*\.?[\d_]*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|0x[0-9a-f]+)/i.exec(s.slice(i));
    if (m) {
      i += m[0].length;
      const t = m[0].replace(/_/g, '');
      if (/^[+-]?0x/i.test(t)) return parseInt(t, 16);
      return Number(t);
    }
    const w = /^(True|False|None)\b/.exec(s.slice(i));
    if (w) {
      i += w[0].length;
      return w[0] === 'True' ? true : w[0] === 'False' ? false : null;
    }
    return fail('unsupported literal');
  };
  const v = value();
  ws();
  if (i < s.length) fail('unexpected text');
  return v;
}
