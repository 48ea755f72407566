/** Stable problem types of the HTTP API (RFC 9457 `type` members). */
export const PROBLEM_TYPES = [
  'validation-failed',
  'malformed-json',
  'unsupported-media-type',
  'payload-too-large',
  'unknown-command-type',
  'unsupported-version',
  'unknown-stream',
  'unknown-subject',
  'version-conflict',
  'subject-erased',
  'subject-key-exists',
  'duplicate-idempotency-key',
  'idempotency-key-reused',
  'business-rule-violation',
  'unauthenticated',
  'forbidden',
  'field-forbidden',
  'unknown-view',
  'view-behind',
  'audit-unavailable',
  'subject-suppressed',
  'subject-restricted',
  'legal-hold-stands',
  'unknown-privacy-record',
  'not-found',
  'seal-broken',
  'internal-error',
] as const;
export type ProblemType = (typeof PROBLEM_TYPES)[number];

export const PROBLEM_TYPE_BASE = 'urn:crm:problem:';
export const problemTypeUri = (type: string) => `${PROBLEM_TYPE_BASE}${type}`;
