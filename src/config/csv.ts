/** CsvCell is one field of a CSV file with the 1-based position where it starts. */
export interface CsvCell {
  text: string;
  line: number;
  col: number;
}

/** CsvParse is a parsed CSV file: rows of cells, or the position of the first syntax error. */
export type CsvParse =
  | { ok: true; rows: CsvCell[][] }
  | { ok: false; line: number; col: number; message: string };

/**
 * parseCsv reads RFC 4180 CSV: comma-separated, `"` quotes fields that hold commas, quotes or line
 * breaks, `""` is a quote inside a quoted field; CRLF or LF line ends; a leading BOM is ignored. Blank
 * lines are skipped.
 */
export function parseCsv(source: string): CsvParse {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const rows: CsvCell[][] = [];
  let row: CsvCell[] = [];
  let line = 1;
  let col = 1;
  let i = 0;
  const endRow = () => {
    const blank = row.length === 1 && row[0]?.text === '';
    if (!blank) rows.push(row);
    row = [];
  };
  while (i <= text.length) {
    const start = { line, col };
    let value = '';
    if (text[i] === '"') {
      i += 1;
      col += 1;
      for (;;) {
        if (i >= text.length) return { ok: false, ...start, message: 'this quoted field is never closed' };
        const ch = text[i] as string;
        if (ch === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
          col += 2;
        } else if (ch === '"') {
          i += 1;
          col += 1;
          break;
        } else {
          value += ch;
          i += 1;
          if (ch === '\n') {
            line += 1;
            col = 1;
          } else col += 1;
        }
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        return { ok: false, line, col, message: 'unexpected text after a closing quote' };
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
        value += text[i];
        i += 1;
        col += 1;
      }
    }
    row.push({ text: value, ...start });
    if (i >= text.length) {
      endRow();
      break;
    }
    const sep = text[i];
    if (sep === ',') {
      i += 1;
      col += 1;
      continue;
    }
    i += sep === '\r' && text[i + 1] === '\n' ? 2 : 1;
    line += 1;
    col = 1;
    endRow();
    if (i >= text.length) break;
  }
  return { ok: true, rows };
}
