import { ValidationFailed } from '@crm/core';

/**
 * Refuses a query part. The pointer names where (JSON pointer into the request, e.g.
 * `/filter/amount/$regex`); the reason says why. Values are never echoed: a filter value may
 * be a blind index or, by mistake, personal data.
 */
export function invalid(pointer: string, reason: string): never {
  throw new ValidationFailed([{ pointer, reason }]);
}

/** Appends one reference token to a JSON pointer (RFC 6901 escaping), cut short so a hostile key cannot bloat the error. */
export function pointerTo(base: string, token: string | number): string {
  const text = String(token);
  const short = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return `${base}/${short.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
