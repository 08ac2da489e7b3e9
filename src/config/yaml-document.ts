// Reads YAML text and keeps the document around, so that an issue found later
// in the parsed value (by its key path) can be pointed at its line and column.

import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { KeyPath, PathIssue } from './issue.ts';

export interface Position {
  line: number;
  column: number;
}

export type PositionedIssue = PathIssue & Position;

export type YamlReading =
  | { ok: true; value: unknown; locate: (issue: PathIssue) => Position }
  | { ok: false; issues: PositionedIssue[] };

export function readYaml(text: string): YamlReading {
  const lineCounter = new LineCounter();
  // prettyErrors off: weir formats positions itself, the bare message is wanted.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const keys = collectionKeys(doc);
  // The yaml library misreads a flow mapping or list as a key after the
  // first entry of a block mapping ("Map comment with trailing content"); the
  // issue about the key says what is wrong there.
  const keyStarts = new Set(keys.map((key) => key.start));
  const errors = doc.errors.filter((error) => !keyStarts.has(error.pos[0]));

  // A document with errors is not validated further: its values may not be
  // what the author meant, and every issue about them would be noise.
  const issues: PositionedIssue[] = errors.map((error) => {
    const at = position(error.pos[0]);
    if (error.code === 'DUPLICATE_KEY') {
      const path = keyPathAt(doc, error.pos[0]);
      const first = locate(doc, { path, message: '', atKey: true }, position);
      return { ...at, path, atKey: true, message: `duplicate key; the first one is on line ${first.line}` };
    }
    if (error.code === 'MULTIPLE_DOCS') {
      return { ...at, path: [], message: 'the file holds more than one YAML document ("---"); weir reads exactly one' };
    }
    return { ...at, path: [], message: `YAML syntax error: ${error.message}` };
  });
  issues.push(...unresolvedAliases(doc, position));
  issues.push(...keys.map(({ start, path, kind }) => ({ ...position(start), path, message: `a key must be plain text, not ${kind}` })));
  // Past this point toJS runs, which must never meet a key it would have to
  // stringify (the yaml library prints a warning for those).
  if (issues.length > 0) return { ok: false, issues };

  try {
    return { ok: true, value: doc.toJS(), locate: (issue) => locate(doc, issue, position) };
  } catch (error) {
    // Too many aliases (a "billion laughs" file) and the like.
    return { ok: false, issues: [{ ...position(0), path: [], message: `cannot read the YAML: ${(error as Error).message}` }] };
  }
}

/**
 * Where the issue's key path is in the document: the value, or the key for
 * `atKey` issues and empty values. When the path does not exist (a required
 * key is missing) it points at the nearest parent that does.
 */
function locate(doc: Document, issue: PathIssue, position: (offset: number) => Position): Position {
  let node: unknown = doc.contents;
  let offset = startOf(node) ?? 0;
  for (const [index, segment] of issue.path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) break;
      const keyStart = startOf(pair.key) ?? offset;
      const isLast = index === issue.path.length - 1;
      // Above the last segment, the key: should the rest of the path be
      // missing, the issue is about what this key holds.
      const pointAtKey = !isLast || issue.atKey === true || isEmptyScalar(pair.value);
      offset = pointAtKey ? keyStart : (startOf(pair.value) ?? keyStart);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      const start = startOf(item);
      if (start === undefined) break;
      offset = start;
      node = item;
    } else {
      break;
    }
  }
  return position(offset);
}

/** The key path of the innermost key or value that contains `offset`. */
function keyPathAt(doc: Document, offset: number): KeyPath {
  const path: KeyPath = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((item) => contains(item.key, offset) || contains(item.value, offset));
      if (pair === undefined || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      if (contains(pair.key, offset)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item, offset));
      if (index === -1) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

function unresolvedAliases(doc: Document, position: (offset: number) => Position): PositionedIssue[] {
  const issues: PositionedIssue[] = [];
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const start = startOf(alias) ?? 0;
      issues.push({
        ...position(start),
        path: keyPathAt(doc, start),
        message: `unknown alias *${alias.source}; the anchor &${alias.source} must come before it`,
      });
    },
  });
  return issues;
}

/** A key that is a mapping or a list: where it starts, and the key path of the mapping that holds it. */
interface CollectionKey {
  start: number;
  path: KeyPath;
  kind: 'a mapping' | 'a list';
}

/**
 * Keys that are mappings or lists (`{a: 1}: x`, `[a, b]: x`, `? - a`), also
 * through an alias. A JS object cannot have them as keys: the yaml library
 * would stringify them and print a warning, and no key of weir's looks like
 * that. The path comes from the nodes above rather than from offsets, which
 * the yaml library gets wrong around such keys.
 */
function collectionKeys(doc: Document): CollectionKey[] {
  const keys: CollectionKey[] = [];
  visit(doc, {
    Pair(_key, pair, ancestors) {
      const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      if (!isMap(key) && !isSeq(key)) return undefined;
      keys.push({ start: startOf(pair.key) ?? 0, path: keyPathOf(doc, ancestors), kind: isMap(key) ? 'a mapping' : 'a list' });
      // What is inside such a key is not looked at: it is wrong as a whole.
      return visit.SKIP;
    },
  });
  return keys;
}

/** The key path of the last of `ancestors` (a chain of nodes from the document down, as `visit` gives them). */
function keyPathOf(doc: Document, ancestors: readonly unknown[]): KeyPath {
  const path: KeyPath = [];
  for (const [index, node] of ancestors.entries()) {
    const child = ancestors[index + 1];
    if (child === undefined) break;
    if (isPair(node)) {
      const key = isAlias(node.key) ? node.key.resolve(doc) : node.key;
      path.push(isScalar(key) ? String(key.value) : '?');
    } else if (isSeq(node)) {
      path.push(node.items.indexOf(child));
    }
  }
  return path;
}

function startOf(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

function contains(node: unknown, offset: number): boolean {
  return isNode(node) && node.range !== undefined && node.range !== null && node.range[0] <= offset && offset < node.range[2];
}

/** `key:` with nothing after it. */
function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}
