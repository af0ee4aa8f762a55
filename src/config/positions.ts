import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { PathKey } from './issues.js';

/** Anchor says where an issue points: at the value, or at its key (a list item has none: its value). */
export type Anchor = 'value' | 'key';

/** NodeLookup is how far a path could be followed into the document. */
export interface NodeLookup {
  /** The value node at the full path, when the whole path exists. */
  value: Node | undefined;
  /** The key node of the last map entry stepped through (undefined for list items). */
  key: Node | undefined;
  /** The deepest node reached, to fall back on when the path leaves the document. */
  deepest: Node | undefined;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function asNode(value: unknown): Node | undefined {
  return isMap(value) || isSeq(value) || isScalar(value) ? value : undefined;
}

/** lookupPath follows a path (map keys, list indexes) from the document root. */
export function lookupPath(doc: Document, path: readonly PathKey[]): NodeLookup {
  let current: unknown = doc.contents;
  let key: Node | undefined;
  let deepest = asNode(current);
  for (const step of path) {
    if (isMap(current)) {
      const pair = current.items.find((item) => isPair(item) && keyText(item.key) === String(step));
      if (pair === undefined) return { value: undefined, key, deepest };
      key = asNode(pair.key);
      current = pair.value;
    } else if (isSeq(current) && typeof step === 'number') {
      const item: unknown = current.items[step];
      if (item === undefined) return { value: undefined, key, deepest };
      key = undefined;
      current = item;
    } else {
      return { value: undefined, key, deepest };
    }
    deepest = asNode(current) ?? key ?? deepest;
  }
  return { value: asNode(current), key, deepest };
}

function startOf(node: Node | undefined): number | undefined {
  return node?.range?.[0];
}

function isEmptyScalar(node: Node | undefined): boolean {
  return isScalar(node) && node.value === null && node.range != null && node.range[0] === node.range[1];
}

/**
 * positionOf returns the 1-based line and column an issue about `path` should point at. An empty value
 * (`key:` with nothing after it) points at its key, and a path that leaves the document points at the
 * deepest part that exists.
 */
export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathKey[],
  anchor: Anchor,
): { line: number; col: number } {
  const found = lookupPath(doc, path);
  let offset: number | undefined;
  if (anchor === 'key') offset = startOf(found.key) ?? startOf(found.value);
  else if (isEmptyScalar(found.value)) offset = startOf(found.key);
  else offset = startOf(found.value);
  offset ??= startOf(found.key) ?? startOf(found.deepest);
  if (offset === undefined) return { line: 1, col: 1 };
  return lineCounter.linePos(offset);
}
