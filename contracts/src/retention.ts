import { z } from 'zod';
import { id, isoDate } from './fields.ts';
import { defineEvent } from './messages.ts';

/**
 * Retention schedules (GDPR Art. 5(1)(e) storage limitation, Art. 17(1)(a)), declared per
 * purpose, and the events the retention scheduler records on the subject's privacy stream
 * (`privacy-subject-<subjectId>`).
 *
 * A person's data here is sealed under one key per person, so what can be erased is the
 * person, not one record of theirs: a subject falls due when every rule that applies to them
 * has run out. Their due date is the latest of those rules' due dates (the rule that sets it
 * is the "governing" rule), and a rule whose clock is not running yet (a case still open, an
 * employment not ended, a consent that still stands) keeps them from falling due at all.
 *
 * 'erase' and 'anonymise' both destroy the person's key: every personal field is sealed
 * under it. They differ in what is left, and say so: 'anonymise' keeps the non-personal facts
 * the views hold (a case's channel, status and dates; a won deal's amount in the KPIs; the
 * generalised analytics rows), with every link to the person removed; 'erase' is for records
 * whose non-personal remainder says nothing useful (a personnel file is deleted from the HR
 * view outright). The views' own erasure rules decide which documents go and which stay
 * scrubbed; the action records the intent the DPO and the record of processing read.
 *
 * The rules follow German law where a statute sets a period; where none does, the period is
 * the controller's own policy and the legal basis says so. Review them with your DPO.
 */

export const RETENTION_ACTIONS = ['erase', 'anonymise'] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

/** The kinds of data subject the rules are written for. */
export const RETENTION_SUBJECT_KINDS = ['customer', 'contact-person', 'employee'] as const;
export type RetentionSubjectKind = (typeof RETENTION_SUBJECT_KINDS)[number];

/**
 * What starts (and restarts) a rule's clock; the scheduler folds the events listed in each
 * rule's trigger into per-subject facts.
 * - `last-activity`: the last event about the person or their organisation's account (a
 *   contact person follows their organisation until they are removed from it);
 * - `last-case-closed`: the last of the person's service cases was resolved; not running
 *   while any of them is open;
 * - `consent-ended`: the last consent of the person ended (withdrawn, or ended by an
 *   objection to direct marketing); not running while any consent stands;
 * - `employment-ended`: the end date of the employment; not running while employed.
 */
export const RETENTION_TRIGGERS = ['last-activity', 'last-case-closed', 'consent-ended', 'employment-ended'] as const;
export type RetentionTrigger = (typeof RETENTION_TRIGGERS)[number];

/**
 * When the period starts counting: on the trigger's date, or at the end of the calendar year
 * the trigger falls in (HGB §257(5), AO §147(4), BGB §199(1): "mit dem Schluss des
 * Kalenderjahres"), i.e. on 1 January of the next year.
 */
export const RETENTION_CLOCK_STARTS = ['on-trigger', 'end-of-calendar-year'] as const;
export type RetentionClockStart = (typeof RETENTION_CLOCK_STARTS)[number];

/** ISO 8601 duration with date parts only (PnYnMnWnD): retention is counted in calendar days. */
export const ISO_DATE_DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;
export const isoDuration = () => z.string().regex(ISO_DATE_DURATION, 'must be an ISO 8601 duration of years, months, weeks and days, e.g. P5Y or P30D');

export interface RetentionRule {
  /** Stable id: events and reminders name the rule by it. */
  id: string;
  /** What the data is kept for, in words. */
  purpose: string;
  /** The views whose declared purpose this rule's data serves. */
  views: readonly string[];
  /** The categories of data the rule keeps, in words. */
  dataCategories: readonly string[];
  /** The event types whose data the rule governs (their personal fields are what it keeps). */
  records: readonly string[];
  subjectKinds: readonly RetentionSubjectKind[];
  /** When the rule applies to a subject, in words (the scheduler implements it per rule id). */
  appliesWhen: string;
  trigger: { kind: RetentionTrigger; events: readonly string[]; description: string };
  clockStarts: RetentionClockStart;
  /** How long after the clock starts the data is kept: ISO 8601 duration. */
  period: string;
  action: RetentionAction;
  /** How long before the due date the DPO is reminded (Wiedervorlage): ISO 8601 duration. */
  reminderLeadTime: string;
  /** The statute or ground for the period. */
  legalBasis: string;
}

/** Events that count as activity on a person's account: contact with them, business with them, their consent. */
const ACTIVITY_EVENTS = [
  'CustomerRegistered',
  'OrganisationRegistered',
  'ContactPersonAdded',
  'ContactPersonRemoved',
  'CustomerDetailsChanged',
  'CustomerReclassified',
  'ConsentGiven',
  'ConsentWithdrawn',
  'DirectMarketingObjected',
  'ServiceCaseOpened',
  'CaseNoteAdded',
  'ServiceCaseResolved',
  'ServiceCaseReopened',
  'DealOpened',
  'DealStageMoved',
  'DealWon',
  'DealLost',
] as const;

const ACCOUNT_RECORDS = [
  'CustomerRegistered',
  'OrganisationRegistered',
  'ContactPersonAdded',
  'ContactPersonRemoved',
  'CustomerDetailsChanged',
  'CustomerReclassified',
  'AccountOwnerAssigned',
  'DealOpened',
  'DealStageMoved',
  'DealWon',
  'DealLost',
] as const;

export const RETENTION_RULES = [
  {
    id: 'prospect-inactive',
    purpose: 'Acquiring customers: leads and prospects the sales team is in contact with.',
    views: ['sales', 'service', 'analytics'],
    dataCategories: ['identity and contact details (name, email, phone, postal address, date of birth, job title)', 'lifecycle stage and segment', 'open and lost deals'],
    records: ACCOUNT_RECORDS,
    subjectKinds: ['customer', 'contact-person'],
    appliesWhen: "the account's lifecycle stage is lead or prospect and it never won a deal (a contact person follows their organisation's account)",
    trigger: {
      kind: 'last-activity',
      events: ACTIVITY_EVENTS,
      description: 'the last contact or business with the person or their account (registration, changes, consent, cases, deals)',
    },
    clockStarts: 'on-trigger',
    period: 'P2Y',
    action: 'erase',
    reminderLeadTime: 'P30D',
    legalBasis:
      'Art. 6(1)(f) GDPR legitimate interest in acquiring customers, limited by Art. 5(1)(e): no statute sets a period; two years without contact is the controller’s policy.',
  },
  {
    id: 'customer-commercial-records',
    purpose: 'Customer relationship and the commercial records it produced (offers, orders, contracts, correspondence).',
    views: ['sales', 'service', 'analytics'],
    dataCategories: ['identity and contact details (name, email, phone, postal address, date of birth, job title)', 'deals with amounts and stages', 'lifecycle stage and segment'],
    records: ACCOUNT_RECORDS,
    subjectKinds: ['customer', 'contact-person'],
    appliesWhen: "the account's lifecycle stage is or was customer or churned, or it won a deal (a contact person follows their organisation's account)",
    trigger: {
      kind: 'last-activity',
      events: ACTIVITY_EVENTS,
      description: 'the last contact or business with the person or their account: the end of the relationship as the records show it',
    },
    clockStarts: 'end-of-calendar-year',
    period: 'P10Y',
    action: 'anonymise',
    reminderLeadTime: 'P60D',
    legalBasis:
      'Art. 6(1)(c) GDPR with HGB §257(1),(4),(5) and AO §147(1),(3),(4): commercial and tax records kept ten years from the end of the calendar year of the last entry (the longest period, for records that are the basis of bookings; received and sent commercial letters alone would need six).',
  },
  {
    id: 'service-case-records',
    purpose: 'Customer service: handling the person’s service cases, and defending or answering claims arising from them.',
    views: ['service', 'analytics'],
    dataCategories: ['service case summaries and case notes', 'case channel, status and resolution'],
    records: ['ServiceCaseOpened', 'CaseNoteAdded', 'ServiceCaseAssigned', 'ServiceCaseResolved', 'ServiceCaseReopened'],
    subjectKinds: ['customer', 'contact-person'],
    appliesWhen: 'the person has at least one service case; the clock runs only once every case of theirs is resolved',
    trigger: {
      kind: 'last-case-closed',
      events: ['ServiceCaseOpened', 'ServiceCaseResolved', 'ServiceCaseReopened'],
      description: 'the resolution of the last of the person’s service cases (a reopened case stops the clock until it is resolved again)',
    },
    clockStarts: 'on-trigger',
    period: 'P5Y',
    action: 'anonymise',
    reminderLeadTime: 'P30D',
    legalBasis:
      'Art. 6(1)(b) and (f) GDPR: five years after closing covers the limitation of warranty and contract claims (BGB §§195, 199, 438); the controller’s policy.',
  },
  {
    id: 'consent-proof',
    purpose: 'Proving consent to marketing and profiling (Art. 7(1) GDPR), and honouring withdrawals and objections.',
    views: ['sales', 'service', 'analytics'],
    dataCategories: ['consent records: purpose, legal basis, source, text version, withdrawal, objection to direct marketing'],
    records: ['ConsentGiven', 'ConsentWithdrawn', 'DirectMarketingObjected'],
    subjectKinds: ['customer', 'contact-person'],
    appliesWhen: 'the person ever gave consent; the clock runs only once no consent of theirs stands (while one stands, the purpose is live)',
    trigger: {
      kind: 'consent-ended',
      events: ['ConsentGiven', 'ConsentWithdrawn', 'DirectMarketingObjected'],
      description: 'the withdrawal of the last consent that stood, or the objection to direct marketing that ended it',
    },
    clockStarts: 'end-of-calendar-year',
    period: 'P3Y',
    action: 'erase',
    reminderLeadTime: 'P30D',
    legalBasis:
      'Art. 7(1) and 6(1)(c) GDPR: consent must be provable while it is relied upon and for as long as claims over it can be brought (regular limitation, BGB §§195, 199(1): three years from the end of the year). An erased person stays recognisable only by the keyed-HMAC suppression entry.',
  },
  {
    id: 'personnel-file',
    purpose: 'Human resources: the personnel file of an employee, and answering claims from the employment after it ended.',
    views: ['hr', 'analytics'],
    dataCategories: ['identity and contact details', 'position, department and salary band', 'absences (sick leave is health data, Art. 9)', 'end of employment and its reason'],
    records: ['EmployeeHired', 'EmployeePositionChanged', 'AbsenceRecorded', 'EmploymentEnded'],
    subjectKinds: ['employee'],
    appliesWhen: 'the employment has ended; the clock does not run while the person is employed',
    trigger: { kind: 'employment-ended', events: ['EmploymentEnded'], description: "the end date of the employment (EndEmployment's endDate)" },
    clockStarts: 'end-of-calendar-year',
    period: 'P3Y',
    action: 'erase',
    reminderLeadTime: 'P60D',
    legalBasis:
      'Art. 6(1)(b),(c) and Art. 88 GDPR with BDSG §26: the file is kept for claims from the employment until they are time-barred (BGB §§195, 199(1): three years from the end of the year the employment ended). Payroll and tax records (EStG §41, AO §147: six and ten years) are not held in this core.',
  },
] as const satisfies readonly RetentionRule[];

export type RetentionRuleId = (typeof RETENTION_RULES)[number]['id'];
export const RETENTION_RULE_IDS: readonly RetentionRuleId[] = RETENTION_RULES.map((r) => r.id);

export function retentionRule(ruleId: string): RetentionRule | undefined {
  return (RETENTION_RULES as readonly RetentionRule[]).find((r) => r.id === ruleId);
}

/** The rules that govern an event type's data (for exports and the record of processing). */
export function retentionRulesFor(eventType: string): RetentionRule[] {
  return (RETENTION_RULES as readonly RetentionRule[]).filter((r) => r.records.includes(eventType));
}

/** A rule in the words of an export (`RetentionStatement` of the subject export). */
export function retentionStatement(rule: RetentionRule): { rule: string; period: string; from: string; then: RetentionAction; legalBasis: string } {
  const from = rule.clockStarts === 'end-of-calendar-year' ? `the end of the calendar year of ${rule.trigger.description}` : rule.trigger.description;
  return { rule: `${rule.id}: ${rule.purpose}`, period: rule.period, from, then: rule.action, legalBasis: rule.legalBasis };
}

// ── calendar arithmetic on ISO dates (UTC, YYYY-MM-DD) ──────────────────────

interface DateDuration {
  years: number;
  months: number;
  days: number;
}

export function parseIsoDuration(duration: string): DateDuration {
  const match = ISO_DATE_DURATION.exec(duration);
  if (!match) throw new RangeError(`not an ISO 8601 date duration: ${duration}`);
  const [, y, m, w, d] = match;
  return { years: Number(y ?? 0), months: Number(m ?? 0), days: Number(w ?? 0) * 7 + Number(d ?? 0) };
}

const daysInMonth = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

/**
 * `date` plus (or, with `sign` -1, minus) a duration: years and months first, with the day
 * clamped to the end of a shorter month (29 February plus one year is 28 February), then days.
 */
export function addIsoDuration(date: string, duration: string, sign: 1 | -1 = 1): string {
  const { years, months, days } = parseIsoDuration(duration);
  const [y, m, d] = date.slice(0, 10).split('-').map(Number) as [number, number, number];
  const totalMonths = y * 12 + (m - 1) + sign * (years * 12 + months);
  const year = Math.floor(totalMonths / 12);
  const month0 = totalMonths - year * 12;
  const clamped = new Date(Date.UTC(year, month0, Math.min(d, daysInMonth(year, month0))));
  clamped.setUTCDate(clamped.getUTCDate() + sign * days);
  return clamped.toISOString().slice(0, 10);
}

/** The day a rule's clock starts for a trigger on `date`. */
export function clockStartOn(rule: Pick<RetentionRule, 'clockStarts'>, date: string): string {
  return rule.clockStarts === 'end-of-calendar-year' ? `${Number(date.slice(0, 4)) + 1}-01-01` : date.slice(0, 10);
}

/** The first day on which the rule's action is due for a trigger on `date`. */
export function retentionDueOn(rule: Pick<RetentionRule, 'clockStarts' | 'period'>, date: string): string {
  return addIsoDuration(clockStartOn(rule, date), rule.period);
}

// ── events of the scheduler (stream privacy-subject-<subjectId>; ids, dates and codes only) ──

const ruleId = () => z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a retention rule id');
const instant = () => z.iso.datetime();

export const RETENTION_SKIP_REASONS = ['legal-hold', 'restricted', 'erasure-refused'] as const;
export type RetentionSkipReason = (typeof RETENTION_SKIP_REASONS)[number];

export const RetentionReminderIssued = defineEvent({
  type: 'RetentionReminderIssued',
  version: 1,
  description:
    "Reminds the DPO ahead of time (Wiedervorlage) that the subject's data falls due under a retention rule: once per subject, rule and due date.",
  schema: z.object({
    subjectId: id(),
    ruleId: ruleId(),
    dueOn: isoDate(),
    action: z.enum(RETENTION_ACTIONS),
    /** The scheduler's clock when it issued the reminder. */
    issuedAt: instant(),
  }),
  subjects: ['subjectId'],
});

export const RetentionActionSkipped = defineEvent({
  type: 'RetentionActionSkipped',
  version: 1,
  description:
    'The due retention action was not carried out, and why: a legal hold stands (Art. 17(3)), processing is restricted (Art. 18), or the erasure was refused. It comes up again once that ends.',
  schema: z.object({
    subjectId: id(),
    ruleId: ruleId(),
    dueOn: isoDate(),
    reason: z.enum(RETENTION_SKIP_REASONS),
    holdId: id().optional(),
    /** The last day the hold stands. */
    until: isoDate().optional(),
    skippedAt: instant(),
  }),
  subjects: ['subjectId'],
});

export const RetentionActionTaken = defineEvent({
  type: 'RetentionActionTaken',
  version: 1,
  description: "A retention rule ran out and the subject was erased or anonymised (the subject's key destroyed) through an erasure request.",
  schema: z.object({
    subjectId: id(),
    ruleId: ruleId(),
    dueOn: isoDate(),
    action: z.enum(RETENTION_ACTIONS),
    /** The erasure request that carried it out; its receipt proves it. */
    requestId: z.string().min(1).max(200),
    takenAt: instant(),
  }),
  subjects: ['subjectId'],
});

export const RETENTION_EVENT_TYPES: ReadonlySet<string> = new Set([RetentionReminderIssued.type, RetentionActionSkipped.type, RetentionActionTaken.type]);
