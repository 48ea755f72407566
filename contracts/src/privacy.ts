import { z } from 'zod';
import { CONSENT_SOURCES } from './consent.ts';
import { id, isoDate, line, text } from './fields.ts';
import { defineEvent } from './messages.ts';
import type { Role } from './roles.ts';

/**
 * Data-subject requests, legal holds and erasure (GDPR Art. 12, 15–18, 21): the events of
 * the privacy streams and the bodies of `/v1/privacy/...`.
 *
 * Two kinds of stream:
 * - `privacy-subject-<subjectId>`: one person's privacy state — legal holds, restriction,
 *   suppression entry, and the erasure itself (`SubjectForgotten`, the event downstream
 *   systems hear of, Art. 17(2));
 * - `privacy-request-<requestId>`: one request's lifecycle, received → in-progress → done
 *   or refused.
 *
 * Free-text reasons may hold personal data (a letter's wording, a case number naming the
 * person): they are personal fields of the subject, sealed under the subject's key, so an
 * erasure erases them too. Everything else here is ids, dates, codes and counts; a receipt
 * holds nothing personal and stays readable after the erasure it proves.
 */

/** Only these roles may make, read or act on privacy requests and holds. */
export const PRIVACY_ROLES: readonly Role[] = ['dpo', 'admin'];

export const PRIVACY_REQUEST_KINDS = ['erasure', 'access', 'restriction', 'lift-restriction', 'objection', 'rectification'] as const;
export type PrivacyRequestKind = (typeof PRIVACY_REQUEST_KINDS)[number];
export const PRIVACY_REQUEST_STATES = ['received', 'in-progress', 'done', 'refused'] as const;
export type PrivacyRequestState = (typeof PRIVACY_REQUEST_STATES)[number];

/** Why a request was refused, as a stable code beside the (sealed) reason: it stays readable after an erasure. */
export const PRIVACY_REFUSAL_RULES = ['legal-hold', 'subject-erased', 'not-a-customer', 'refused-by-dpo'] as const;
export type PrivacyRefusalRule = (typeof PRIVACY_REFUSAL_RULES)[number];

/** Art. 12(3): one month from receipt, extendable by two further months at most. */
export const PRIVACY_DEADLINE_MONTHS = 1;
export const PRIVACY_MAX_EXTENSION_MONTHS = 2;

const reason = () => text(2000);
/** In events a reason may be absent (the subject was already erased when it was given) or null (erased since). */
const sealedReason = () => reason().nullable().optional();
const instant = () => z.iso.datetime();
const REASON_OF_SUBJECT = [{ subject: 'subjectId', fields: ['reason'] }];

export const privacyStreamPrefixes = { subject: 'privacy-subject-', request: 'privacy-request-' } as const;

// ── request lifecycle (stream privacy-request-<requestId>) ──────────────────

export const PrivacyRequestReceived = defineEvent({
  type: 'PrivacyRequestReceived',
  version: 1,
  description: 'A data-subject request was received; it is due one month later (Art. 12(3)).',
  schema: z.object({
    requestId: id(),
    kind: z.enum(PRIVACY_REQUEST_KINDS),
    subjectId: id(),
    reason: sealedReason(),
    receivedAt: instant(),
    dueBy: instant(),
  }),
  personal: REASON_OF_SUBJECT,
  subjects: ['subjectId'],
});

export const PrivacyRequestStarted = defineEvent({
  type: 'PrivacyRequestStarted',
  version: 1,
  description: 'Work on a data-subject request began.',
  schema: z.object({ requestId: id(), subjectId: id() }),
  subjects: ['subjectId'],
});

export const PrivacyRequestDeadlineExtended = defineEvent({
  type: 'PrivacyRequestDeadlineExtended',
  version: 1,
  description: 'The deadline of a request was extended (by at most two months in total), with a reason.',
  schema: z.object({ requestId: id(), subjectId: id(), months: z.int().min(1).max(PRIVACY_MAX_EXTENSION_MONTHS), reason: sealedReason(), dueBy: instant() }),
  personal: REASON_OF_SUBJECT,
  subjects: ['subjectId'],
});

export const PrivacyRequestRefused = defineEvent({
  type: 'PrivacyRequestRefused',
  version: 1,
  description: 'A request was refused: a stable rule code (and the holds that stood), and a reason sealed under the subject key.',
  schema: z.object({
    requestId: id(),
    subjectId: id(),
    rule: z.enum(PRIVACY_REFUSAL_RULES),
    holdIds: z.array(id()).optional(),
    reason: sealedReason(),
  }),
  personal: REASON_OF_SUBJECT,
  subjects: ['subjectId'],
});

// ── receipts: what a completed request proves; never personal data ─────────

const viewScrub = z.object({
  view: z.string(),
  /** The view had applied the SubjectForgotten event when the receipt was made. */
  reached: z.boolean(),
  /** The view's position when the receipt was made. */
  position: z.int(),
  /** What the view's scrub did, from its `crm_erasures` record; null when the view left none. */
  scrubbed: z
    .object({
      deleted: z.int(),
      unlinked: z.int(),
      collections: z.record(z.string(), z.object({ deleted: z.int(), unlinked: z.int() })),
    })
    .nullable(),
});

const receiptBase = { requestId: id(), subjectId: id(), completedAt: instant() };

export const erasureReceipt = z.object({
  kind: z.literal('erasure'),
  ...receiptBase,
  keys: z.object({
    /** The key store holds a tombstone and no key version of the subject. */
    destroyed: z.boolean(),
    destroyedAt: instant().nullable(),
    keyVersions: z.array(z.int()),
    /** The request (or operator action) that destroyed the key: this one, or an earlier one. */
    destroyedBy: z.string().nullable(),
    /** True when an earlier erasure had destroyed the key already (this request changed nothing). */
    alreadyDestroyed: z.boolean(),
  }),
  suppression: z.object({
    /** Keyed HMACs (never the values) of the subject's email addresses and phone numbers. */
    entries: z.int(),
    recorded: z.boolean(),
  }),
  notification: z.object({
    event: z.literal('SubjectForgotten'),
    streamId: z.string(),
    position: z.int(),
    forgottenAt: instant(),
    bus: z.enum(['in-process', 'kafka']),
    topic: z.string().nullable(),
    /** Kafka: the relay had published up to the event when the receipt was made. In-process: the bus reads the store. */
    published: z.boolean(),
  }),
  views: z.array(viewScrub),
  keyCache: z.object({
    /** How long any running process may still hold the unwrapped key in memory. */
    ttlMs: z.int(),
    /** From then on no running process can open the subject's data. */
    effectiveEverywhereBy: instant(),
  }),
  verification: z.object({
    checkedAt: instant(),
    /** Every sealed value of the subject in the event store failed to open, and the key store answers with a tombstone. */
    passed: z.boolean(),
    keyStore: z.enum(['destroyed', 'active', 'unknown']),
    events: z.int(),
    sealedValues: z.int(),
    stillOpening: z.int(),
  }),
});

export const accessReceipt = z.object({
  kind: z.literal('access'),
  ...receiptBase,
  export: z.object({ href: z.string(), format: z.literal('application/json') }),
  /** The subject was erased: the export holds no personal value any more. */
  erased: z.boolean(),
});

export const restrictionReceipt = z.object({
  kind: z.enum(['restriction', 'lift-restriction']),
  ...receiptBase,
  /** Whether processing is restricted now. */
  restricted: z.boolean(),
  /** False when the subject already was in that state. */
  changed: z.boolean(),
  position: z.int().nullable(),
});

export const objectionReceipt = z.object({
  kind: z.literal('objection'),
  ...receiptBase,
  customerId: id(),
  /** The customer stream that records DirectMarketingObjected (Art. 21(3): no direct marketing, for good). */
  streamId: z.string(),
  position: z.int(),
  changed: z.boolean(),
});

export const rectificationReceipt = z.object({
  kind: z.literal('rectification'),
  ...receiptBase,
  /** The commands that make the correction; the request only records that it was asked for. */
  commands: z.array(z.string()),
  note: z.string(),
});

export const privacyReceipt = z.discriminatedUnion('kind', [erasureReceipt, accessReceipt, restrictionReceipt, objectionReceipt, rectificationReceipt]);
export type PrivacyReceipt = z.infer<typeof privacyReceipt>;
export type ErasureReceipt = z.infer<typeof erasureReceipt>;

export const PrivacyRequestCompleted = defineEvent({
  type: 'PrivacyRequestCompleted',
  version: 1,
  description: 'A request was carried out; its receipt holds no personal data and stays readable after an erasure.',
  schema: z.object({ requestId: id(), subjectId: id(), receipt: privacyReceipt }),
  subjects: ['subjectId'],
});

// ── the subject's privacy state (stream privacy-subject-<subjectId>) ────────

export const LegalHoldPlaced = defineEvent({
  type: 'LegalHoldPlaced',
  version: 1,
  description: "A legal hold (Art. 17(3)) keeps the subject's data until its end date: erasure is refused meanwhile.",
  schema: z.object({
    holdId: id(),
    subjectId: id(),
    legalBasis: line(200).describe('the statute or ground, e.g. "HGB §257 (10 years)"; never a person\'s data: put specifics in reason'),
    until: isoDate().describe('last day the hold stands'),
    reason: sealedReason(),
  }),
  personal: REASON_OF_SUBJECT,
  subjects: ['subjectId'],
});

export const LegalHoldReleased = defineEvent({
  type: 'LegalHoldReleased',
  version: 1,
  description: 'A legal hold was released before its end date.',
  schema: z.object({ holdId: id(), subjectId: id(), reason: sealedReason() }),
  personal: REASON_OF_SUBJECT,
  subjects: ['subjectId'],
});

export const SuppressionRecorded = defineEvent({
  type: 'SuppressionRecorded',
  version: 1,
  description:
    'Keyed HMACs of the normalised email addresses and phone numbers of a subject about to be erased, so that the same person is recognised if registered again. Never the values.',
  schema: z.object({ subjectId: id(), hashes: z.array(z.string().min(16).max(128)).max(1000) }),
  subjects: ['subjectId'],
});

export const SubjectForgotten = defineEvent({
  type: 'SubjectForgotten',
  version: 1,
  description:
    "The subject's key was destroyed (Art. 17): every sealed value of theirs is unreadable. Downstream systems and the views erase what they hold of the subject (Art. 17(2)).",
  schema: z.object({ subjectId: id(), requestId: id(), forgottenAt: instant() }),
  subjects: ['subjectId'],
});

export const ProcessingRestricted = defineEvent({
  type: 'ProcessingRestricted',
  version: 1,
  description: "The subject's processing is restricted (Art. 18): their data is kept, but commands naming them are refused and processing views leave them out.",
  schema: z.object({ subjectId: id(), requestId: id() }),
  subjects: ['subjectId'],
});

export const RestrictionLifted = defineEvent({
  type: 'RestrictionLifted',
  version: 1,
  description: "The restriction of the subject's processing was lifted (Art. 18(3)).",
  schema: z.object({ subjectId: id(), requestId: id() }),
  subjects: ['subjectId'],
});

/** Every event type of the privacy streams. */
export const PRIVACY_EVENT_TYPES: ReadonlySet<string> = new Set([
  PrivacyRequestReceived.type,
  PrivacyRequestStarted.type,
  PrivacyRequestDeadlineExtended.type,
  PrivacyRequestCompleted.type,
  PrivacyRequestRefused.type,
  LegalHoldPlaced.type,
  LegalHoldReleased.type,
  SuppressionRecorded.type,
  SubjectForgotten.type,
  ProcessingRestricted.type,
  RestrictionLifted.type,
]);

// ── HTTP bodies of /v1/privacy ──────────────────────────────────────────────

export const privacyRequestBody = z.strictObject({
  kind: z.enum(PRIVACY_REQUEST_KINDS),
  subjectId: id(),
  reason: reason().describe('why, as the request was made; personal: sealed under the subject key'),
  carryOut: z
    .boolean()
    .default(true)
    .describe('false: only record the request (e.g. while the identity of the requester is being checked); carry it out later with /carry-out'),
  source: z.enum(CONSENT_SOURCES).optional().describe('objection only: how the objection reached you (default email)'),
});

export const extendPrivacyRequestBody = z.strictObject({
  reason: reason(),
  months: z.union([z.literal(1), z.literal(2)]),
});

export const refusePrivacyRequestBody = z.strictObject({ reason: reason() });

export const placeLegalHoldBody = z.strictObject({
  subjectId: id(),
  legalBasis: line(200),
  until: isoDate(),
  reason: reason(),
});

export const releaseLegalHoldBody = z.strictObject({ reason: reason() });
