/**
 * The facts retention clocks run on, folded from the event store: per data subject, what
 * kind of subject they are, their account's lifecycle and last activity, their service
 * cases' closing dates, their consents, the end of their employment, their legal holds,
 * restriction and erasure, and what the scheduler itself recorded (reminders, skipped and
 * taken actions). Ids, dates, codes and flags only: events are opened with personal values
 * withheld, so folding needs no key and the facts hold nothing personal.
 *
 * Why an in-memory fold over `readAll` pages, from position 0 on start and from its own
 * position on every run: it is the cheapest honest way. The scheduler runs hourly, so a
 * run catches up on one hour of events; it needs no bus (works the same with Kafka or
 * without), no consumer group and no checkpoint that could drift from state kept
 * elsewhere; and every process starts from the one source of truth. The cost is one read of
 * the whole log when a process starts, and memory of roughly 200 bytes per subject. When
 * that stops being cheap, the same fold can be kept in the read store with a checkpoint
 * beside it (one document per subject), without changing the schedule.
 */
import { DIRECT_MARKETING_PURPOSES, type RetentionAction, type RetentionSkipReason, type RetentionSubjectKind } from '@crm/contracts';
import { type EventStore, openEvent, type RecordedEvent } from '@crm/core';

export interface AccountFacts {
  customerId: string;
  lifecycle: string;
  /** The lifecycle stage was ever customer or churned. */
  everCustomer: boolean;
  wonDeal: boolean;
  /** ISO instant of the last activity on the account (its own events, its cases and deals). */
  lastActivity: string;
}

export interface HoldFacts {
  holdId: string;
  legalBasis: string;
  /** Last day (YYYY-MM-DD) the hold stands. */
  until: string;
  released: boolean;
}

export interface ReminderFacts {
  subjectId: string;
  ruleId: string;
  dueOn: string;
  action: RetentionAction;
  issuedAt: string;
  position: number;
}

export interface OutcomeFacts {
  ruleId: string;
  dueOn: string;
  at: string;
  position: number;
  /** Taken: the action and the erasure request; skipped: the reason (and hold). */
  action?: RetentionAction;
  requestId?: string;
  reason?: RetentionSkipReason;
  holdId?: string;
  until?: string;
}

export interface SubjectFacts {
  subjectId: string;
  kind?: RetentionSubjectKind;
  /** The account the subject belongs to: a person customer's own id, a contact person's organisation. */
  customerId?: string;
  /** ISO instant of the last event about the subject themselves. */
  lastOwnActivity?: string;
  /** ISO instant the contact person was removed from their organisation. */
  removedAt?: string;
  /** Case id → ISO instant it was resolved, or null while open. */
  cases: Map<string, string | null>;
  consentsStanding: Set<string>;
  everConsented: boolean;
  /** ISO instant the last standing consent ended. */
  consentEndedAt?: string;
  /** YYYY-MM-DD of EndEmployment's end date. */
  employmentEndDate?: string;
  restricted: boolean;
  forgotten?: { at: string; requestId: string };
  holds: Map<string, HoldFacts>;
  /** Keyed `ruleId|dueOn`. */
  reminders: Map<string, ReminderFacts>;
  /** Keyed `ruleId|dueOn`. */
  taken: Map<string, OutcomeFacts>;
  /** Keyed `ruleId|dueOn|reason|holdId`. */
  skipped: Map<string, OutcomeFacts>;
}

export const outcomeKey = (ruleId: string, dueOn: string) => `${ruleId}|${dueOn}`;
export const skipKey = (ruleId: string, dueOn: string, reason: string, holdId?: string) => `${ruleId}|${dueOn}|${reason}|${holdId ?? ''}`;

export interface RetentionFacts {
  /** Folds every event stored since the last call; resolves with the position reached. */
  catchUp(): Promise<number>;
  readonly position: number;
  subjects(): IterableIterator<SubjectFacts>;
  subject(subjectId: string): SubjectFacts | undefined;
  account(customerId: string): AccountFacts | undefined;
  /** Every reminder issued, in the order they were recorded. */
  reminders(): ReminderFacts[];
  /** Folds recorded events directly (what `catchUp` does with each page). */
  apply(events: readonly RecordedEvent[]): Promise<void>;
}

const PAGE = 2000;
const later = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : a > b ? a : b);

export function createRetentionFacts(options: { eventStore: EventStore }): RetentionFacts {
  const subjects = new Map<string, SubjectFacts>();
  const accounts = new Map<string, AccountFacts>();
  const cases = new Map<string, { subjectId: string; customerId: string }>();
  const deals = new Map<string, { customerId: string; subjectId?: string }>();
  const reminders: ReminderFacts[] = [];
  let position = 0;
  let running: Promise<number> | undefined;

  const subjectOf = (subjectId: string): SubjectFacts => {
    let found = subjects.get(subjectId);
    if (!found) {
      found = { subjectId, cases: new Map(), consentsStanding: new Set(), everConsented: false, restricted: false, holds: new Map(), reminders: new Map(), taken: new Map(), skipped: new Map() };
      subjects.set(subjectId, found);
    }
    return found;
  };

  const joins = (subjectId: string, kind: RetentionSubjectKind, customerId: string | undefined, at: string) => {
    const subject = subjectOf(subjectId);
    subject.kind ??= kind;
    if (customerId) subject.customerId ??= customerId;
    subject.lastOwnActivity = later(subject.lastOwnActivity, at);
  };

  const accountActivity = (customerId: string | undefined, at: string) => {
    const account = customerId ? accounts.get(customerId) : undefined;
    if (account) account.lastActivity = later(account.lastActivity, at)!;
  };

  const ownActivity = (subjectId: string | undefined, at: string) => {
    if (!subjectId) return;
    const subject = subjectOf(subjectId);
    subject.lastOwnActivity = later(subject.lastOwnActivity, at);
  };

  const lifecycleIs = (account: AccountFacts, stage: string) => {
    account.lifecycle = stage;
    if (stage === 'customer' || stage === 'churned') account.everCustomer = true;
  };

  function endConsent(subject: SubjectFacts, purposes: readonly string[], at: string): void {
    const hadStanding = subject.consentsStanding.size > 0;
    for (const purpose of purposes) subject.consentsStanding.delete(purpose);
    if (hadStanding && subject.consentsStanding.size === 0) subject.consentEndedAt = at;
  }

  function fold(type: string, d: Record<string, unknown>, at: string, recorded: RecordedEvent): void {
    const s = (key: string) => (typeof d[key] === 'string' ? (d[key] as string) : undefined);
    switch (type) {
      case 'CustomerRegistered': {
        const customerId = s('customerId')!;
        accounts.set(customerId, { customerId, lifecycle: '', everCustomer: false, wonDeal: false, lastActivity: at });
        lifecycleIs(accounts.get(customerId)!, s('lifecycleStage') ?? 'lead');
        joins(customerId, 'customer', customerId, at);
        return;
      }
      case 'OrganisationRegistered': {
        const customerId = s('customerId')!;
        accounts.set(customerId, { customerId, lifecycle: '', everCustomer: false, wonDeal: false, lastActivity: at });
        lifecycleIs(accounts.get(customerId)!, s('lifecycleStage') ?? 'lead');
        for (const contact of (d.contacts as Array<{ subjectId: string }> | undefined) ?? []) joins(contact.subjectId, 'contact-person', customerId, at);
        return;
      }
      case 'ContactPersonAdded': {
        const customerId = s('customerId');
        joins((d.contact as { subjectId: string }).subjectId, 'contact-person', customerId, at);
        accountActivity(customerId, at);
        return;
      }
      case 'ContactPersonRemoved': {
        const subject = subjectOf(s('subjectId')!);
        subject.removedAt = at;
        subject.lastOwnActivity = later(subject.lastOwnActivity, at);
        return;
      }
      case 'CustomerDetailsChanged':
        accountActivity(s('customerId'), at);
        ownActivity(s('customerId'), at);
        return;
      case 'CustomerReclassified': {
        const account = accounts.get(s('customerId')!);
        if (account && s('lifecycleStage')) lifecycleIs(account, s('lifecycleStage')!);
        accountActivity(s('customerId'), at);
        return;
      }
      case 'ConsentGiven': {
        const subject = subjectOf(s('subjectId')!);
        subject.consentsStanding.add(s('purpose')!);
        subject.everConsented = true;
        subject.consentEndedAt = undefined;
        ownActivity(subject.subjectId, at);
        accountActivity(s('customerId'), at);
        return;
      }
      case 'ConsentWithdrawn':
        endConsent(subjectOf(s('subjectId')!), [s('purpose')!], at);
        ownActivity(s('subjectId'), at);
        accountActivity(s('customerId'), at);
        return;
      case 'DirectMarketingObjected':
        endConsent(subjectOf(s('subjectId')!), DIRECT_MARKETING_PURPOSES, at);
        ownActivity(s('subjectId'), at);
        accountActivity(s('customerId'), at);
        return;
      case 'ServiceCaseOpened': {
        const caseId = s('caseId')!;
        const subjectId = s('subjectId')!;
        const customerId = s('customerId')!;
        cases.set(caseId, { subjectId, customerId });
        subjectOf(subjectId).cases.set(caseId, null);
        ownActivity(subjectId, at);
        accountActivity(customerId, at);
        return;
      }
      case 'CaseNoteAdded':
      case 'ServiceCaseResolved':
      case 'ServiceCaseReopened': {
        const found = cases.get(s('caseId')!);
        if (!found) return;
        if (type === 'ServiceCaseResolved') subjectOf(found.subjectId).cases.set(s('caseId')!, at);
        if (type === 'ServiceCaseReopened') subjectOf(found.subjectId).cases.set(s('caseId')!, null);
        ownActivity(found.subjectId, at);
        accountActivity(found.customerId, at);
        return;
      }
      case 'DealOpened': {
        const dealId = s('dealId')!;
        const customerId = s('customerId')!;
        const subjectId = s('subjectId');
        deals.set(dealId, { customerId, ...(subjectId ? { subjectId } : {}) });
        ownActivity(subjectId, at);
        accountActivity(customerId, at);
        return;
      }
      case 'DealStageMoved':
      case 'DealWon':
      case 'DealLost': {
        const found = deals.get(s('dealId')!);
        if (!found) return;
        if (type === 'DealWon') {
          const account = accounts.get(found.customerId);
          if (account) account.wonDeal = true;
        }
        ownActivity(found.subjectId, at);
        accountActivity(found.customerId, at);
        return;
      }
      case 'EmployeeHired':
        joins(s('employeeId')!, 'employee', undefined, at);
        return;
      case 'EmploymentEnded':
        subjectOf(s('employeeId')!).employmentEndDate = s('endDate');
        return;
      case 'LegalHoldPlaced': {
        const holdId = s('holdId')!;
        subjectOf(s('subjectId')!).holds.set(holdId, { holdId, legalBasis: s('legalBasis') ?? '', until: s('until')!, released: false });
        return;
      }
      case 'LegalHoldReleased': {
        const hold = subjectOf(s('subjectId')!).holds.get(s('holdId')!);
        if (hold) hold.released = true;
        return;
      }
      case 'ProcessingRestricted':
        subjectOf(s('subjectId')!).restricted = true;
        return;
      case 'RestrictionLifted':
        subjectOf(s('subjectId')!).restricted = false;
        return;
      case 'SubjectForgotten': {
        const subject = subjectOf(s('subjectId')!);
        subject.forgotten ??= { at: s('forgottenAt') ?? at, requestId: s('requestId') ?? '' };
        return;
      }
      case 'RetentionReminderIssued': {
        const reminder: ReminderFacts = {
          subjectId: s('subjectId')!,
          ruleId: s('ruleId')!,
          dueOn: s('dueOn')!,
          action: s('action') as RetentionAction,
          issuedAt: s('issuedAt') ?? at,
          position: recorded.globalPosition,
        };
        const subject = subjectOf(reminder.subjectId);
        if (subject.reminders.has(outcomeKey(reminder.ruleId, reminder.dueOn))) return;
        subject.reminders.set(outcomeKey(reminder.ruleId, reminder.dueOn), reminder);
        reminders.push(reminder);
        return;
      }
      case 'RetentionActionTaken':
        subjectOf(s('subjectId')!).taken.set(outcomeKey(s('ruleId')!, s('dueOn')!), {
          ruleId: s('ruleId')!,
          dueOn: s('dueOn')!,
          at: s('takenAt') ?? at,
          position: recorded.globalPosition,
          action: s('action') as RetentionAction,
          requestId: s('requestId')!,
        });
        return;
      case 'RetentionActionSkipped': {
        const reason = s('reason') as RetentionSkipReason;
        subjectOf(s('subjectId')!).skipped.set(skipKey(s('ruleId')!, s('dueOn')!, reason, s('holdId')), {
          ruleId: s('ruleId')!,
          dueOn: s('dueOn')!,
          at: s('skippedAt') ?? at,
          position: recorded.globalPosition,
          reason,
          ...(s('holdId') ? { holdId: s('holdId')! } : {}),
          ...(s('until') ? { until: s('until')! } : {}),
        });
        return;
      }
      default:
        return;
    }
  }

  async function apply(events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      if (recorded.globalPosition <= position) continue;
      // Events of types this build has no contract for are skipped, not fatal.
      let data: Record<string, unknown> | undefined;
      try {
        data = (await openEvent(recorded, 'withheld')).data as Record<string, unknown>;
      } catch {
        data = undefined;
      }
      if (data) fold(recorded.type, data, recorded.recordedAt, recorded);
      position = recorded.globalPosition;
    }
  }

  async function catchUpOnce(): Promise<number> {
    for (;;) {
      const page = await options.eventStore.readAll({ after: position, limit: PAGE });
      if (page.length === 0) return position;
      await apply(page);
    }
  }

  return {
    catchUp() {
      // One fold at a time: concurrent callers share the run in hand, then catch up on what came since.
      const next = (running ?? Promise.resolve(position)).catch(() => position).then(catchUpOnce);
      running = next;
      return next;
    },
    get position() {
      return position;
    },
    subjects: () => subjects.values(),
    subject: (subjectId) => subjects.get(subjectId),
    account: (customerId) => accounts.get(customerId),
    reminders: () => [...reminders],
    apply,
  };
}
