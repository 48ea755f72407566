import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The forms a leaked value could take in raw bytes: itself, hex (both cases), and
 * base64/base64url at each of the three byte alignments (the inner characters that do
 * not depend on neighbouring bytes).
 */
export function leakForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set([value, bytes.toString('hex'), bytes.toString('hex').toUpperCase()]);
  for (let pad = 0; pad < 3; pad++) {
    const shifted = Buffer.concat([Buffer.alloc(pad), bytes]);
    for (const encoding of ['base64', 'base64url'] as const) {
      const encoded = shifted.toString(encoding).replace(/=+$/, '');
      // Drop characters that mix in the padding bytes before and the unknown bytes after.
      const start = Math.ceil((pad * 4) / 3);
      const end = Math.floor(((pad + bytes.length) * 4) / 3);
      forms.add(encoded.slice(start, end));
    }
  }
  return [...forms].filter((f) => f.length >= 8);
}

export interface Hit {
  where: string;
  form: string;
}

/** Every file below `dir` (recursively) whose raw bytes contain one of the forms of one of the values. */
export function scanFiles(dir: string, values: readonly string[]): Hit[] {
  const hits: Hit[] = [];
  const visit = (path: string) => {
    try {
      if (statSync(path).isDirectory()) {
        for (const name of readdirSync(path)) visit(join(path, name));
        return;
      }
      hits.push(...scanBytes(path, readFileSync(path), values));
    } catch (error) {
      // A file the server removed while we read (a deleted topic, a rotated WAL) holds nothing any more.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  visit(dir);
  return hits;
}

export function scanBytes(where: string, bytes: Buffer, values: readonly string[]): Hit[] {
  const hits: Hit[] = [];
  for (const value of values) {
    for (const form of leakForms(value)) if (bytes.includes(form)) hits.push({ where, form });
  }
  return hits;
}
