import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CODE = /HR_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testdata' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && entry.name !== 'contract.ts'
      ? [path]
      : [];
  });
}

test('every error code in the source has a row in docs/errors.md, and every row names a real code', () => {
  const inSource = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(CODE)) inSource.add(match[0]);
  }
  const documented = new Set(
    [...readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').matchAll(CODE)].map((m) => m[0]),
  );
  // A prefix naming a family (`startsWith('HR_ERR_STORE_')`, "the HR_ERR_CONFIG_* codes") is not a code.
  const withoutFamilies = (codes: Set<string>) =>
    [...codes].filter((code) => ![...codes].some((other) => other !== code && other.startsWith(`${code}_`)));
  expect(withoutFamilies(inSource).filter((code) => !documented.has(code))).toEqual([]);
  expect(withoutFamilies(documented).filter((code) => !inSource.has(code))).toEqual([]);
});
