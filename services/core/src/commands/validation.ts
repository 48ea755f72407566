import type { z } from 'zod';
import { type FieldIssue, ValidationFailed } from '@crm/contracts';

const SAFE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

/** A JSON pointer for a path. Keys that do not look like field names are not echoed. */
export function pointer(path: readonly PropertyKey[]): string {
  return path
    .map((segment) => {
      if (typeof segment === 'number') return `/${segment}`;
      const key = String(segment);
      return SAFE_KEY.test(key) ? `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` : '/(unnamed field)';
    })
    .join('');
}

function sizeUnit(origin: string): string {
  if (origin === 'string') return ' characters';
  if (origin === 'array') return ' items';
  return '';
}

/**
 * Whether `path` names a value present in `input`. Zod 4 leaves `issue.input` out unless
 * asked to report it, so "missing" is decided here from the input itself.
 */
function isPresent(input: unknown, path: readonly PropertyKey[]): boolean {
  let node = input;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return false;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node !== undefined;
}

/**
 * Turns zod issues into field issues of our own wording. Zod's messages are not used,
 * except the ones the contracts wrote themselves, since some messages quote the input.
 */
export function fieldIssues(issues: readonly z.core.$ZodIssue[], input?: unknown): FieldIssue[] {
  return issues.flatMap((issue): FieldIssue[] => {
    const at = pointer(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ pointer: pointer([...issue.path, key]), reason: 'is not a known field' }));
      case 'invalid_type':
        return [{ pointer: at, reason: isPresent(input, issue.path) ? `must be of type ${issue.expected}` : 'is required' }];
      case 'too_big':
        return [{ pointer: at, reason: `must be at most ${String(issue.maximum)}${sizeUnit(issue.origin)}` }];
      case 'too_small':
        return [{ pointer: at, reason: `must be at least ${String(issue.minimum)}${sizeUnit(issue.origin)}` }];
      case 'invalid_format':
        return [{ pointer: at, reason: issue.format === 'regex' ? issue.message : `must be a valid ${issue.format}` }];
      case 'invalid_value':
        return [{ pointer: at, reason: `must be one of: ${issue.values.map(String).join(', ')}` }];
      case 'not_multiple_of':
        return [{ pointer: at, reason: `must be a multiple of ${String(issue.divisor)}` }];
      case 'custom':
        return [{ pointer: at, reason: issue.message }];
      default:
        return [{ pointer: at, reason: 'is not valid' }];
    }
  });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationFailed([{ pointer: '', reason: 'the body must be a JSON object' }]);
  }
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationFailed(fieldIssues(result.error.issues, input));
  return result.data;
}
