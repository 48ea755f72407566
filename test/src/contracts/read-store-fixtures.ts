import type { Document, Sort } from '@crm/core';

/**
 * Ten deals covering what the filters, sorts and aggregations need: missing and null
 * values, nested objects, booleans, ISO dates, equal sort values (so the `_id` tie-break
 * shows), integers and fractions. Amounts are chosen so every sum and average is exact in
 * binary floating point: stores may add in any order.
 */
export const DEALS: readonly Document[] = [
  { _id: 'd01', stage: 'won', amount: 500, currency: 'EUR', owner: { team: 'north', level: 2 }, closedAt: '2025-01-15T09:00:00.000Z', flagged: true },
  { _id: 'd02', stage: 'won', amount: 1500, currency: 'EUR', owner: { team: 'south', level: 1 }, closedAt: '2025-02-01T10:30:00.000Z', flagged: false },
  { _id: 'd03', stage: 'lost', amount: 250, currency: 'USD', owner: { team: 'north', level: 3 }, closedAt: null, flagged: false },
  { _id: 'd04', stage: 'open', amount: 1000, currency: 'EUR', owner: { team: 'east', level: 1 } },
  { _id: 'd05', stage: 'open', amount: 749.5, currency: 'USD', owner: { team: 'south', level: 2 }, flagged: true },
  { _id: 'd06', stage: 'won', amount: 1000, currency: 'EUR', owner: { team: 'north', level: 1 }, closedAt: '2025-03-20T16:45:00.000Z' },
  { _id: 'd07', stage: 'lost', amount: 0, currency: 'EUR', closedAt: '2025-01-03T08:00:00.000Z', flagged: false },
  { _id: 'd08', stage: 'open', amount: 2500, currency: 'USD', owner: { team: 'east', level: 3 } },
  // A draft: no stage yet.
  { _id: 'd09', amount: 128, currency: 'EUR', owner: { team: 'west' } },
  // Won, amount not yet known.
  { _id: 'd10', stage: 'won', currency: 'EUR', owner: { team: 'south', level: 2 }, closedAt: '2025-02-01T10:30:00.000Z', flagged: true },
];

export const ALL_IDS = DEALS.map((d) => d._id);

/** The value at a dotted path, undefined when any step is missing. */
export function at(document: Record<string, unknown>, path: string): unknown {
  let value: unknown = document;
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/**
 * The order both stores agree on within one type per key: null and missing first, then
 * numbers, strings (byte order; the fixtures are ASCII) or booleans (false < true). Across
 * types they disagree (MongoDB puts booleans after strings), so mixed types throw.
 */
function compareValues(a: unknown, b: unknown): number {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
  if (typeof x !== typeof y || !['number', 'string', 'boolean'].includes(typeof x)) {
    throw new Error(`the reference order does not compare ${typeof x} with ${typeof y}`);
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compareBy(sort: Sort): (a: Document, b: Document) => number {
  return (a, b) => {
    for (const [path, direction] of sort) {
      const c = compareValues(at(a, path), at(b, path)) * direction;
      if (c !== 0) return c;
    }
    return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
  };
}

export function sortedIds(documents: readonly Document[], sort: Sort): string[] {
  return [...documents].sort(compareBy(sort)).map((d) => d._id);
}
