// Environment variables in a config file: `${NAME}` and `${NAME:-default}`,
// replaced in the YAML text before it is parsed, so they work in any value
// (and in keys). The rules that keep them apart from the per-request
// template variables (`${client_ip}`, `${request_id}`, ... in
// template-syntax.ts), which are all lower-case:
//
// - a reference is `${` followed by an upper-case letter or "_": the name is
//   [A-Z_][A-Z0-9_]*. A name with a lower-case letter in it is never one.
// - `${NAME:-default}` takes the default when NAME is unset or empty; the
//   default is the text up to the first "}", inserted as written.
// - `$${NAME}` writes `${NAME}` itself, unexpanded.
// - references in YAML comments are left alone.
// - an unset NAME without a default, or `${NAME` followed by anything else
//   ("${NAME-x}", "${NAME" with no "}"), is an issue at its line and column.
//
// Values are inserted as text, on one line: a value with a line break is
// refused, so line numbers never change and a later issue's column can be
// mapped back to the text as written (toSource). Inside a quoted YAML
// string a value stays text whatever it holds ("\" and '"' are escaped in
// double quotes, "'" doubled in single quotes). Unquoted, a value is read as
// YAML would read it written there: `weight: ${W}` with W=3 is the number 3;
// quote the reference to keep any value a string.

import { CST, Lexer } from 'yaml';
import type { Position, PositionedIssue } from './yaml-document.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

/** A position in the text as written; `variable` when it falls inside a value that came from one. */
export interface SourcePosition extends Position {
  variable?: string;
}

export type EnvExpansion =
  | {
      ok: true;
      text: string;
      /** Where a position (1-based line and column) of the expanded text is in the text as written. */
      toSource: (position: Position) => SourcePosition;
    }
  | { ok: false; issues: PositionedIssue[] };

/** One replacement on a line, in columns (0-based, end exclusive) of the text as written and as expanded. */
interface Replacement {
  sourceStart: number;
  sourceEnd: number;
  outStart: number;
  outEnd: number;
  variable: string | undefined;
  /** The reference opens a quoted string ("${HOST}..."), whose value starts at the quote. */
  afterQuote: boolean;
}

const REFERENCE_START = /\$?\$\{(?=[A-Z_])/g;
const NAME = /[A-Z_][A-Z0-9_]*/y;

export function expandEnv(text: string, env: Environment): EnvExpansion {
  const regions = quoteAndCommentRegions(text);
  const lineStarts = startsOfLines(text);
  const issues: PositionedIssue[] = [];
  const byLine = new Map<number, Replacement[]>();
  let out = '';
  let copied = 0;
  // Per line: how much longer the expanded text is so far (columns after the last replacement shift by it).
  let shiftLine = -1;
  let shift = 0;

  const replace = (start: number, end: number, value: string, variable: string | undefined, afterQuote = false): void => {
    const line = lineOf(lineStarts, start);
    if (line !== shiftLine) {
      shiftLine = line;
      shift = 0;
    }
    const lineStart = lineStarts[line - 1] ?? 0;
    const sourceStart = start - lineStart;
    const sourceEnd = end - lineStart;
    const replacement = { sourceStart, sourceEnd, outStart: sourceStart + shift, outEnd: sourceStart + shift + value.length, variable, afterQuote };
    shift += value.length - (end - start);
    const list = byLine.get(line);
    if (list) list.push(replacement);
    else byLine.set(line, [replacement]);
    out += text.slice(copied, start) + value;
    copied = end;
  };
  const issueAt = (offset: number, message: string): void => {
    const line = lineOf(lineStarts, offset);
    issues.push({ line, column: offset - (lineStarts[line - 1] ?? 0) + 1, path: [], message });
  };

  for (const match of text.matchAll(REFERENCE_START)) {
    const escaped = match[0].startsWith('$$');
    const start = match.index + (escaped ? 1 : 0);
    const region = regionAt(regions, start);
    if (region === 'comment') continue;
    if (escaped) {
      replace(match.index, match.index + 3, '${', undefined);
      continue;
    }
    NAME.lastIndex = start + 2;
    const name = (NAME.exec(text) as RegExpExecArray)[0];
    const afterName = start + 2 + name.length;
    const next = text[afterName] ?? '';
    // "${Client_IP}": a name with lower-case letters is not an environment variable.
    if (/[a-z]/.test(next)) continue;
    const lineEnd = endOfLine(text, start);
    const close = text.indexOf('}', afterName);
    const closed = close !== -1 && close < lineEnd;
    let fallback: string | undefined;
    if (next === '}') {
      fallback = undefined;
    } else if (text.startsWith(':-', afterName) && closed) {
      fallback = text.slice(afterName + 2, close);
    } else {
      const shown = closed ? text.slice(start, close + 1) : text.slice(start, afterName);
      issueAt(start, `"${shown}" is not an environment variable reference; write \${${name}} or \${${name}:-default} ("$\${" for a literal "\${")`);
      continue;
    }
    const end = next === '}' ? afterName + 1 : close + 1;
    const value = env[name];
    if (fallback !== undefined && (value === undefined || value === '')) {
      replace(start, end, fallback, name, opensQuote(regions, start));
      continue;
    }
    if (value === undefined) {
      issueAt(start, `environment variable ${name} is not set (write \${${name}:-default} for a default)`);
      continue;
    }
    if (/[\r\n]/.test(value)) {
      issueAt(start, `environment variable ${name} holds a line break; weir inserts values on one line`);
      continue;
    }
    replace(start, end, escapeFor(region, value), name, opensQuote(regions, start));
  }
  if (issues.length > 0) return { ok: false, issues };
  out += text.slice(copied);
  return { ok: true, text: out, toSource: (position) => toSource(byLine, position) };
}

function toSource(byLine: ReadonlyMap<number, Replacement[]>, { line, column }: Position): SourcePosition {
  const replacements = byLine.get(line);
  if (!replacements) return { line, column };
  const at = column - 1;
  let shift = 0;
  for (const replacement of replacements) {
    if (at < replacement.outStart) {
      // An issue about a quoted value points at its opening quote: the value is the variable's.
      if (at === replacement.outStart - 1 && replacement.afterQuote && replacement.variable !== undefined) {
        return { line, column: column - shift, variable: replacement.variable };
      }
      break;
    }
    if (at < replacement.outEnd) {
      const position: SourcePosition = { line, column: replacement.sourceStart + 1 };
      if (replacement.variable !== undefined) position.variable = replacement.variable;
      return position;
    }
    shift = replacement.outEnd - replacement.sourceEnd;
  }
  return { line, column: column - shift };
}

type Region = 'comment' | 'double' | 'single' | 'plain';

interface RegionRange {
  start: number;
  end: number;
  kind: Exclude<Region, 'plain'>;
}

/**
 * Where the comments and quoted strings are in the text as written, from the
 * yaml library's lexer (which reads any text, valid or not). In a flow
 * collection an unquoted `${X}` is split into several tokens, but none of
 * them is a comment or a quoted string, which is all that matters here.
 */
function quoteAndCommentRegions(text: string): RegionRange[] {
  const regions: RegionRange[] = [];
  let offset = 0;
  let afterScalarMark = false;
  for (const token of new Lexer().lex(text)) {
    // The lexer's markers for a document, a flow's end and a scalar are not in the text.
    if (token === CST.DOCUMENT || token === CST.FLOW_END || token === CST.SCALAR) {
      afterScalarMark = token === CST.SCALAR;
      continue;
    }
    const type = afterScalarMark ? 'scalar' : CST.tokenType(token);
    if (type === 'comment') regions.push({ start: offset, end: offset + token.length, kind: 'comment' });
    else if (type === 'double-quoted-scalar') regions.push({ start: offset, end: offset + token.length, kind: 'double' });
    else if (type === 'single-quoted-scalar') regions.push({ start: offset, end: offset + token.length, kind: 'single' });
    afterScalarMark = false;
    offset += token.length;
  }
  // Should the lexer ever not account for every character, knowing nothing is safer than knowing wrong.
  return offset === text.length ? regions : [];
}

/** Whether `offset` is right after the opening quote of a quoted string. */
function opensQuote(regions: readonly RegionRange[], offset: number): boolean {
  return regions.some((region) => region.kind !== 'comment' && region.start === offset - 1);
}

function regionAt(regions: readonly RegionRange[], offset: number): Region {
  for (const region of regions) {
    if (offset < region.start) return 'plain';
    if (offset < region.end) return region.kind;
  }
  return 'plain';
}

function escapeFor(region: Region, value: string): string {
  if (region === 'double') return value.replace(/[\\"]/g, (char) => `\\${char}`);
  if (region === 'single') return value.replaceAll("'", "''");
  return value;
}

function startsOfLines(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line of an offset. */
function lineOf(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

function endOfLine(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end === -1 ? text.length : end;
}
