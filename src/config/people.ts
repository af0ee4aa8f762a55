import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { Person } from '../domain/item.js';
import type { ShowValue } from './cross-refs.js';
import { parseCsv } from './csv.js';
import { type ConfigIssue, type ConfigIssueCode, formatPath, type PathKey, suggest } from './issues.js';
import { positionOf } from './positions.js';
import { PERSON_KEYS, personSchema, type RawConfig } from './schema.js';
import { yamlSyntaxIssues } from './yaml-syntax.js';
import {
  createErrorMap,
  draftsFromZod,
  type IssueDraft,
  type KeyRegistry,
  placeDraft,
} from './zod-issues.js';

/*
 * Expands `people:`: inline entries as written, `{ file: … }` entries read from a CSV (header row) or a
 * YAML list next to the rules file. Problems inside such a file are reported with that file's name.
 */

/** PersonEntry is one person and where its id was written (for duplicate-id messages). */
export interface PersonEntry {
  person: Person;
  at: { file: string; line: number; col: number; path: string };
  /** The path of an inline entry's id in the rules file. */
  inline?: PathKey[];
}

/** PeopleExpansion is every person in order, plus the problems found reading people files. */
export interface PeopleExpansion {
  people: PersonEntry[];
  issues: ConfigIssue[];
}

/** FileReader reads a file as UTF-8; injected so tests can exercise read failures. */
export type FileReader = (path: string) => Promise<string>;

/** readFailure phrases a failed read for a person ("file not found"), without a stack. */
export function readFailure(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'it is a directory, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

function fromCsv(source: string, file: string): { people: PersonEntry[]; issues: ConfigIssue[] } {
  const issue = (
    code: ConfigIssueCode,
    at: { line: number; col: number },
    path: string,
    message: string,
    hint?: string,
  ): ConfigIssue => {
    const made: ConfigIssue = { code, file, line: at.line, col: at.col, path, message };
    if (hint !== undefined) made.hint = hint;
    return made;
  };
  const parsed = parseCsv(source);
  if (!parsed.ok) return { people: [], issues: [issue('HR_ERR_CONFIG_SYNTAX', parsed, '', parsed.message)] };
  const [header, ...rows] = parsed.rows;
  const top = { line: 1, col: 1 };
  if (header === undefined) {
    const message = 'expected a header row such as "id,name,email", got an empty file';
    return { people: [], issues: [issue('HR_ERR_CONFIG_INVALID_VALUE', top, '', message)] };
  }
  const issues: ConfigIssue[] = [];
  const columns = header.map((cell) => cell.text.trim());
  // Columns are named by position, never by their text: a "CSV" may be a symlink to the environment.
  header.forEach((cell, index) => {
    const name = columns[index] ?? '';
    if (!PERSON_KEYS.includes(name)) {
      const close = suggest(name, PERSON_KEYS);
      const hint = close === undefined ? `columns: ${PERSON_KEYS.join(', ')}` : `did you mean "${close}"?`;
      const message = `unknown column ${index + 1} of the header row`;
      issues.push(issue('HR_ERR_CONFIG_UNKNOWN_KEY', cell, '', message, hint));
    } else if (columns.indexOf(name) !== index) {
      const message = `column ${index + 1} repeats column ${columns.indexOf(name) + 1} ("${name}")`;
      issues.push(issue('HR_ERR_CONFIG_DUPLICATE', cell, '', message));
    }
  });
  if (!columns.includes('id'))
    issues.push(issue('HR_ERR_CONFIG_MISSING_KEY', top, '', 'missing required column "id"'));
  if (issues.length > 0) return { people: [], issues };

  const people: PersonEntry[] = [];
  rows.forEach((cells, index) => {
    const first = cells[0] ?? { line: 1, col: 1 };
    if (cells.length !== columns.length) {
      const message = `expected ${columns.length} fields like the header, got ${cells.length}`;
      issues.push(
        issue('HR_ERR_CONFIG_SYNTAX', first, `[${index}]`, message, 'quote fields that contain commas'),
      );
      return;
    }
    const person: Record<string, string> = {};
    let idCell = first;
    cells.forEach((cell, column) => {
      const key = columns[column] ?? '';
      const text = cell.text.trim();
      if (key === 'id') idCell = cell;
      if (text !== '') person[key] = text;
    });
    if (person.id === undefined) {
      issues.push(issue('HR_ERR_CONFIG_MISSING_KEY', idCell, `[${index}].id`, 'missing id'));
      return;
    }
    const at = { file, line: idCell.line, col: idCell.col, path: `[${index}].id` };
    people.push({ person: { ...person, id: person.id }, at });
  });
  return { people, issues };
}

function fromYaml(source: string, file: string): { people: PersonEntry[]; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false });
  const syntax = yamlSyntaxIssues(doc, { file, lineCounter });
  if (syntax.length > 0) return { people: [], issues: syntax };
  const data: unknown = doc.toJS();
  const allowedKeys: KeyRegistry = new WeakMap();
  const parsed = z.array(personSchema).safeParse(data, { error: createErrorMap(allowedKeys) });
  if (!parsed.success) {
    const ctx = { doc, data, fromEnv: new Map(), allowedKeys, hideValues: true };
    const drafts = draftsFromZod(parsed.error.issues, ctx).map((draft) =>
      draft.path.length === 0
        ? { ...draft, message: draft.message.replace(/^expected a list/, 'expected a list of people') }
        : draft,
    );
    return { people: [], issues: drafts.map((draft) => placeDraft(draft, { file, doc, lineCounter })) };
  }
  const people = parsed.data.map((person, index) => {
    const { line, col } = positionOf(doc, lineCounter, [index, 'id'], 'value');
    return { person, at: { file, line, col, path: formatPath([index, 'id']) } };
  });
  return { people, issues: [] };
}

/**
 * expandPeople resolves `people:` in file order. `configFile` is the rules file as the user named it
 * (people files are shown relative to it); `baseDir` is the directory it is in, for reading.
 */
export async function expandPeople(
  entries: RawConfig['people'],
  where: {
    configFile: string;
    baseDir: string;
    place: (draft: IssueDraft) => ConfigIssue;
    locate: (path: PathKey[]) => { file: string; line: number; col: number };
    show: ShowValue;
    readText?: FileReader;
  },
): Promise<PeopleExpansion> {
  const readText = where.readText ?? ((path: string) => readFile(path, 'utf8'));
  const people: PersonEntry[] = [];
  const issues: ConfigIssue[] = [];
  for (const [index, entry] of entries.entries()) {
    const filePath: PathKey[] = ['people', index, 'file'];
    if (!('file' in entry)) {
      const idPath = ['people', index, 'id'];
      people.push({
        person: entry,
        at: { ...where.locate(idPath), path: formatPath(idPath) },
        inline: idPath,
      });
      continue;
    }
    const shown = isAbsolute(entry.file) ? entry.file : join(dirname(where.configFile), entry.file);
    const kind = extname(entry.file).toLowerCase();
    if (!['.csv', '.yaml', '.yml', '.json'].includes(kind)) {
      issues.push(
        where.place({
          code: 'HR_ERR_CONFIG_INVALID_VALUE',
          path: filePath,
          anchor: 'value',
          message: `unsupported people file ${where.show(filePath, entry.file).text}`,
          hint: 'use a .csv file with a header row, or a .yaml list',
        }),
      );
      continue;
    }
    let source: string;
    try {
      source = await readText(resolve(where.baseDir, entry.file));
    } catch (error) {
      const name = where.show(filePath, shown);
      const message = `cannot read people file ${name.text}: ${readFailure(error)}`;
      issues.push(
        where.place({ code: 'HR_ERR_CONFIG_UNREADABLE', path: filePath, anchor: 'value', message }),
      );
      continue;
    }
    const loaded = kind === '.csv' ? fromCsv(source, shown) : fromYaml(source, shown);
    people.push(...loaded.people);
    issues.push(...loaded.issues);
  }

  // Inline ids may come from ${VAR}; ids read from people files are never interpolated.
  const idText = (entry: PersonEntry) =>
    entry.inline === undefined
      ? JSON.stringify(entry.person.id)
      : where.show(entry.inline, entry.person.id).text;
  const firstById = new Map<string, PersonEntry>();
  for (const entry of people) {
    const first = firstById.get(entry.person.id);
    if (first === undefined) {
      firstById.set(entry.person.id, entry);
      continue;
    }
    issues.push({
      code: 'HR_ERR_CONFIG_DUPLICATE',
      ...entry.at,
      message: `duplicate person id ${idText(entry)}`,
      hint: `first defined at ${first.at.file}:${first.at.line}:${first.at.col}`,
    });
  }
  return { people, issues };
}
