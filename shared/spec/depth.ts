/**
 * A linear pre-scan of spec text (YAML block or flow style, and so JSON) for its nesting depth,
 * run before the YAML parser: the parser can run out of memory on a small, deeply nested text
 * (20 KB nested 10,000 deep), so the depth must be known without it.
 *
 * The count is an upper bound for what matters: every `[` / `{` outside a quoted scalar opens a
 * level, and in block context every `- `, `? `, `: ` indicator and every `key:` opens one, closed
 * again when a later line is indented no deeper. It never counts less than the parser would nest
 * through flow collections or compact block entries (`- - - x`), which are how a small text nests
 * deeply; text inside quoted or block scalars (`|`, `>`) is skipped the way YAML reads it. It may
 * count a little more than the parser (a stray `[` in a plain scalar), never enough to matter
 * against the default limit, which is far above real specs.
 */

export interface DepthScan {
  /** The deepest nesting seen (when over the limit: the first depth above it). */
  depth: number;
  /** 1-based line where the limit was first exceeded (or where the deepest nesting is). */
  line: number;
}

const SPACE = new Set([' ', '\t', '\r']);
/** After one of these (in flow context), a quote opens a quoted scalar; elsewhere it is a literal. */
const QUOTE_AFTER = new Set(['', '[', '{', ',', ':', '?']);

/** The nesting depth of `text`, stopping as soon as it exceeds `limit`. */
export function scanDepth(text: string, limit = Infinity): DepthScan {
  const n = text.length;
  const stack: number[] = []; // columns of the open block levels
  let flow = 0;
  let quote = ''; // the open quote character, '' outside quoted scalars
  let prev = ''; // last significant character seen in flow context
  let blockScalarIndent = -1; // while >= 0, lines indented deeper belong to a `|` / `>` scalar
  let max = 0;
  let maxAt = 0;
  let over = false;
  let lineStart = 0;

  const deeper = (at: number): boolean => {
    const depth = stack.length + flow;
    if (depth > max) {
      max = depth;
      maxAt = at;
    }
    over = max > limit;
    return over;
  };

  /** From p inside a quoted scalar: the index after its closing quote, or -1 if the line ends first. */
  const closeQuote = (p: number, end: number): number => {
    while (p < end) {
      const c = text[p];
      if (quote === '"') {
        if (c === '\\') {
          p += 2;
          continue;
        }
        if (c === '"') {
          quote = '';
          return p + 1;
        }
      } else if (c === "'") {
        if (text[p + 1] === "'") {
          p += 2;
          continue;
        }
        quote = '';
        return p + 1;
      }
      p++;
    }
    return -1;
  };

  /** The index of a mapping `:` (followed by a space or the line's end) from p, or -1 (a comment ends the search). */
  const keyColon = (p: number, end: number): number => {
    for (; p < end; p++) {
      const c = text[p]!;
      if (c === ':' && (p + 1 >= end || SPACE.has(text[p + 1]!))) return p;
      if (c === '#' && p > 0 && SPACE.has(text[p - 1]!)) return -1;
    }
    return -1;
  };

  /** Flow context (brackets, quoted scalars at token starts) to the end of the line. */
  const scanFlow = (p: number, end: number): void => {
    while (p < end) {
      if (quote) {
        const q = closeQuote(p, end);
        if (q < 0) return;
        p = q;
        prev = '"';
        continue;
      }
      const c = text[p]!;
      if (SPACE.has(c)) {
        p++;
        continue;
      }
      if (c === '#' && (p === lineStart || SPACE.has(text[p - 1]!))) return;
      if (c === '[' || c === '{') {
        flow++;
        if (deeper(p)) return;
      } else if (c === ']' || c === '}') {
        if (flow > 0) flow--;
      } else if ((c === '"' || c === "'") && QUOTE_AFTER.has(prev)) {
        quote = c;
      }
      prev = c;
      p++;
    }
  };

  /** Block context: indicators and keys open levels; a flow collection or quoted scalar hands over. */
  const scanBlock = (p: number, end: number, indent: number): void => {
    for (;;) {
      while (p < end && SPACE.has(text[p]!)) p++;
      if (p >= end) return;
      const c = text[p]!;
      const separated = p + 1 >= end || SPACE.has(text[p + 1]!);
      if ((c === '-' || c === '?' || c === ':') && separated) {
        stack.push(p - lineStart);
        if (deeper(p)) return;
        p++;
        continue;
      }
      if (c === '#') return;
      if (c === '&' || c === '!') {
        while (p < end && !SPACE.has(text[p]!)) p++; // an anchor or tag, then the node
        continue;
      }
      if (c === '|' || c === '>') {
        blockScalarIndent = indent;
        return;
      }
      if (c === '[' || c === '{') {
        prev = '';
        scanFlow(p, end);
        return;
      }
      if (c === '"' || c === "'") {
        quote = c;
        const q = closeQuote(p + 1, end);
        if (q < 0) return;
        p = q;
      }
      // A plain or quoted scalar: a key when `: ` follows, else the node ends with the line.
      const colon = keyColon(p, end);
      if (colon < 0) return;
      stack.push(p - lineStart);
      if (deeper(p)) return;
      p = colon + 1;
    }
  };

  while (lineStart < n && !over) {
    let end = text.indexOf('\n', lineStart);
    if (end < 0) end = n;
    let p = lineStart;
    while (p < end && (text[p] === ' ' || text[p] === '\t')) p++;
    const indent = p - lineStart;
    const blank = p >= end || text[p] === '\r' || (text[p] === '#' && !quote);
    if (quote) {
      // A quoted scalar that spans lines: its text is skipped whatever the context.
      if (flow > 0) scanFlow(lineStart, end);
      else {
        const q = closeQuote(lineStart, end);
        if (q >= 0) {
          const colon = keyColon(q, end);
          if (colon >= 0) {
            stack.push(q - lineStart);
            if (!deeper(q)) scanBlock(colon + 1, end, indent);
          }
        }
      }
    } else if (blockScalarIndent >= 0 && (blank || indent > blockScalarIndent)) {
      // inside a literal or folded block scalar: text, not structure
    } else if (flow > 0) {
      blockScalarIndent = -1;
      scanFlow(lineStart, end);
    } else if (!blank) {
      blockScalarIndent = -1;
      while (stack.length > 0 && stack[stack.length - 1]! >= indent) stack.pop();
      if (indent === 0 && /^(---|\.\.\.)(\s|$)/.test(text.slice(p, p + 4))) {
        stack.length = 0; // a document marker
        scanBlock(p + 3, end, indent);
      } else scanBlock(p, end, indent);
    }
    lineStart = end + 1;
  }
  return { depth: max, line: lineNumberAt(text, maxAt) };
}

function lineNumberAt(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at >= 0 && at < index; at = text.indexOf('\n', at + 1)) line++;
  return line;
}
