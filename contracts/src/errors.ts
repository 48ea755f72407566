/**
 * The one error hierarchy of the core. Each error names a stable problem type; the HTTP
 * layer maps it to RFC 9457 problem+json. Details name fields and rules, never values:
 * an error message must never echo personal data.
 */

export interface FieldIssue {
  /** JSON pointer to the offending field, e.g. `/contacts/0/email`. */
  pointer: string;
  /** What is wrong, without the value. */
  reason: string;
}

export abstract class CrmError extends Error {
  abstract readonly problemType: string;
  abstract readonly status: number;
  abstract readonly title: string;
  /** Extra members for the problem document. Must not hold personal data. */
  extensions(): Record<string, unknown> {
    return {};
  }
}

export class ValidationFailed extends CrmError {
  readonly problemType = 'validation-failed';
  readonly status = 400;
  readonly title = 'The request is not valid';
  constructor(readonly issues: FieldIssue[]) {
    super(
      issues.length === 0
        ? 'The request is not valid'
        : issues.map((i) => `${i.pointer || '/'}: ${i.reason}`).slice(0, 5).join('; '),
    );
  }
  override extensions() {
    return { errors: this.issues };
  }
}

export class UnknownCommandType extends CrmError {
  readonly problemType = 'unknown-command-type';
  readonly status = 404;
  readonly title = 'Unknown command type';
  constructor() {
    super('The path segment commandType names no known command; see /openapi.json for the list');
  }
}

export class UnsupportedMessageVersion extends CrmError {
  readonly problemType = 'unsupported-version';
  readonly status = 400;
  readonly title = 'Unsupported message version';
  constructor(type: string, version: number, latest: number) {
    super(`${type} has no version ${version}; versions 1 to ${latest} are accepted`);
  }
}

export class UnknownStream extends CrmError {
  readonly problemType = 'unknown-stream';
  readonly status = 404;
  readonly title = 'Unknown stream';
  constructor(readonly field: string, what: string) {
    super(`${field} names no existing ${what}`);
  }
  override extensions() {
    return { errors: [{ pointer: `/${this.field}`, reason: 'names nothing that exists' }] };
  }
}

export class UnknownSubject extends CrmError {
  readonly problemType = 'unknown-subject';
  readonly status = 404;
  readonly title = 'Unknown data subject';
  constructor(readonly field?: string) {
    super(field ? `${field} names no known data subject` : 'No known data subject has this id');
  }
}

export class WrongExpectedVersion extends CrmError {
  readonly problemType = 'version-conflict';
  readonly status = 409;
  readonly title = 'Version conflict';
  constructor(
    readonly streamId: string,
    readonly expected: number | string,
    readonly actual: number,
  ) {
    super(`Stream ${streamId} is at version ${actual}, not ${expected}`);
  }
  override extensions() {
    return { streamId: this.streamId, expectedVersion: this.expected, actualVersion: this.actual };
  }
}

export class SubjectErased extends CrmError {
  readonly problemType = 'subject-erased';
  readonly status = 409;
  readonly title = 'Data subject erased';
  constructor(readonly subjectId: string) {
    super(`Data subject ${subjectId} has been erased; commands naming it are refused`);
  }
  override extensions() {
    return { subjectId: this.subjectId };
  }
}

export class SubjectKeyExists extends CrmError {
  readonly problemType = 'subject-key-exists';
  readonly status = 409;
  readonly title = 'Data subject already has a key';
  constructor(readonly subjectId: string) {
    super(`Data subject ${subjectId} already has a key`);
  }
}

export class DuplicateIdempotencyKey extends CrmError {
  readonly problemType = 'duplicate-idempotency-key';
  readonly status = 409;
  readonly title = 'Idempotency key already used';
  constructor(readonly key: string) {
    super('This idempotency key has already been used');
  }
}

export class IdempotencyKeyReused extends CrmError {
  readonly problemType = 'idempotency-key-reused';
  readonly status = 422;
  readonly title = 'Idempotency key reused for another command';
  constructor() {
    super('The Idempotency-Key header (or commandId) was first used for another command type');
  }
}

export class BusinessRuleViolation extends CrmError {
  readonly problemType = 'business-rule-violation';
  readonly status = 422;
  readonly title = 'The command breaks a business rule';
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(detail);
  }
  override extensions() {
    return { rule: this.rule };
  }
}

export class Unauthenticated extends CrmError {
  readonly problemType = 'unauthenticated';
  readonly status = 401;
  readonly title = 'Authentication required';
}

export class Forbidden extends CrmError {
  readonly problemType = 'forbidden';
  readonly status = 403;
  readonly title = 'Not allowed for your roles';
}

/** The caller's roles may not read a field its query names (filter, sort or pipeline): refused, never silently dropped. */
export class FieldForbidden extends CrmError {
  readonly problemType = 'field-forbidden';
  readonly status = 403;
  readonly title = 'A field of the query is not readable for your roles';
  constructor(
    /** JSON pointer into the request, e.g. `?filter/salaryBand/$gt`. Names fields and operators, never values. */
    readonly pointer: string,
    detail: string,
  ) {
    super(detail);
  }
  override extensions() {
    return { errors: [{ pointer: this.pointer, reason: 'not readable for your roles' }] };
  }
}

/** The path names no view, or no collection of the view, that this API serves. */
export class UnknownView extends CrmError {
  readonly problemType = 'unknown-view';
  readonly status = 404;
  readonly title = 'Unknown view or collection';
  constructor() {
    super('The path names no view or collection this API serves');
  }
}

/**
 * A view has not caught up with the position the caller asked for (`minPosition`), or has
 * not been built yet (position 0). Temporary: retry shortly.
 */
export class ViewBehind extends CrmError {
  readonly problemType = 'view-behind';
  readonly status = 503;
  readonly title = 'The view has not caught up yet';
  constructor(
    readonly view: string,
    readonly position: number,
    readonly requiredPosition?: number,
  ) {
    super(
      requiredPosition === undefined
        ? `View ${view} has not been built yet (position ${position}); retry shortly`
        : `View ${view} has reached position ${position} of ${requiredPosition}; retry shortly`,
    );
  }
  override extensions() {
    return { view: this.view, position: this.position, ...(this.requiredPosition === undefined ? {} : { requiredPosition: this.requiredPosition }) };
  }
}

/** Reading personal data needs an audit entry first; the audit log could not record it, so nothing is answered. */
export class AuditUnavailable extends CrmError {
  readonly problemType = 'audit-unavailable';
  readonly status = 503;
  readonly title = 'The audit log is unavailable';
  constructor() {
    super('The read could not be recorded in the audit log, so its personal data is not returned; retry shortly');
  }
}

/** A sealed value could not be opened although its key exists: tampering or a bug, never erasure. */
export class SealBroken extends CrmError {
  readonly problemType = 'seal-broken';
  readonly status = 500;
  readonly title = 'A sealed value failed authentication';
}

/**
 * An email address or phone number of the command belongs to a data subject who was erased
 * (a keyed-HMAC suppression entry matched), and `CRM_SUPPRESSION=refuse`. Names the field,
 * never the value.
 */
export class SubjectSuppressed extends CrmError {
  readonly problemType = 'subject-suppressed';
  readonly status = 409;
  readonly title = 'A previously erased person';
  constructor(readonly pointers: string[]) {
    super(
      `${pointers.join(', ')}: matches a person who asked to be erased; registering them again is refused (CRM_SUPPRESSION=refuse). The values themselves are not kept, only keyed hashes`,
    );
  }
  override extensions() {
    return { errors: this.pointers.map((pointer) => ({ pointer, reason: 'matches an erased person' })) };
  }
}

/** The command names a data subject whose processing is restricted (Art. 18): the data is kept, but not processed. */
export class SubjectRestricted extends CrmError {
  readonly problemType = 'subject-restricted';
  readonly status = 409;
  readonly title = 'Processing of the data subject is restricted';
  constructor(readonly subjectId: string) {
    super(`Processing of data subject ${subjectId} is restricted (Art. 18); commands naming them are refused until the restriction is lifted`);
  }
  override extensions() {
    return { subjectId: this.subjectId };
  }
}

/** A legal hold stands (Art. 17(3)): the subject cannot be erased before it ends or is released. */
export class LegalHoldStands extends CrmError {
  readonly problemType = 'legal-hold-stands';
  readonly status = 409;
  readonly title = 'A legal hold stands';
  /** The same code the refused request records. */
  readonly rule = 'legal-hold';
  constructor(
    readonly subjectId: string,
    readonly holds: ReadonlyArray<{ holdId: string; legalBasis: string; until: string }>,
  ) {
    super(
      `Data subject ${subjectId} cannot be erased while a legal hold stands (Art. 17(3)): ${holds
        .map((h) => `${h.legalBasis} until ${h.until} (hold ${h.holdId})`)
        .join('; ')}`,
    );
  }
  override extensions() {
    return { subjectId: this.subjectId, holds: this.holds };
  }
}

/** The path names no privacy request or legal hold. */
export class UnknownPrivacyRecord extends CrmError {
  readonly problemType = 'unknown-privacy-record';
  readonly status = 404;
  readonly title = 'Unknown privacy request or legal hold';
  constructor(what: 'request' | 'hold') {
    super(what === 'request' ? 'The path names no privacy request' : 'The path names no legal hold');
  }
}
