import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';

function texts(source: string): string[][] {
  const parsed = parseCsv(source);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.rows.map((row) => row.map((cell) => cell.text));
}

describe('parseCsv', () => {
  it('splits rows and fields, with CRLF or LF line ends and no trailing newline', () => {
    expect(texts('id,name\r\nu1,Ada\nu2,Grace')).toEqual([
      ['id', 'name'],
      ['u1', 'Ada'],
      ['u2', 'Grace'],
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(texts('name,note\n"Turing, Alan","said ""hi""\ntwice"\n')).toEqual([
      ['name', 'note'],
      ['Turing, Alan', 'said "hi"\ntwice'],
    ]);
  });

  it('keeps empty fields and skips blank lines and a BOM', () => {
    expect(texts('\uFEFFa,b,c\n\n1,,3\n,,\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '', '3'],
      ['', '', ''],
    ]);
  });

  it('records where each field starts', () => {
    const parsed = parseCsv('id,name\n"u1",Ada\n');
    expect(parsed.ok && parsed.rows[1]?.map(({ line, col }) => [line, col])).toEqual([
      [2, 1],
      [2, 6],
    ]);
  });

  it('reports an unclosed quote where the field starts', () => {
    expect(parseCsv('id,name\nu1,"Ada\nu2,Grace\n')).toEqual({
      ok: false,
      line: 2,
      col: 4,
      message: 'this quoted field is never closed',
    });
  });

  it('reports text after a closing quote', () => {
    expect(parseCsv('"a"b,c\n')).toEqual({
      ok: false,
      line: 1,
      col: 4,
      message: 'unexpected text after a closing quote',
    });
  });
});
