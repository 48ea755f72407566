/**
 * The privacy read model of one process, in memory: every request's lifecycle summary, every
 * subject's legal holds, restriction and erasure, and the suppression hashes. It holds ids,
 * dates, codes and keyed hashes only — never a reason or any other personal value (those
 * are read from the request's own stream, opened, when a request is shown).
 *
 * Fed from the event store: the privacy events stored so far (read by type), then one live
 * subscription, so it sees what every process wrote, in global order. A process's own privacy actions wait
 * until the subscription has passed their position (`caughtUp`) before they answer: the next
 * command, list or erasure in this process sees them. Other processes see them once their own
 * subscription passes the position (the store's commit notification, else its poll interval).
 *
 * Cost: starting it reads the privacy events of the whole log (the store filters by type);
 * following it costs a type check per new event.
 */
import { PRIVACY_EVENT_TYPES, type PrivacyReceipt, type PrivacyRefusalRule, type PrivacyRequestKind, type PrivacyRequestState } from '@crm/contracts';
import { type EventStore, type Logger, openEvent, pause, type RecordedEvent } from '@crm/core';
import type { LegalHold, PrivacyRequestEvent, PrivacySubjectEvent } from '@crm/domain';

export interface PrivacyRequestSummary {
  requestId: string;
  kind: PrivacyRequestKind;
  subjectId: string;
  state: PrivacyRequestState;
  receivedAt: string;
  dueBy: string;
  extendedMonths: number;
  /** When it was completed or refused. */
  closedAt?: string;
  refusalRule?: PrivacyRefusalRule;
}

export interface LegalHoldSummary extends LegalHold {
  placedAt: string;
  releasedAt?: string;
}

export interface SubjectPrivacySummary {
  subjectId: string;
  holds: LegalHoldSummary[];
  restricted: boolean;
  suppressionEntries: number;
  forgotten?: { requestId: string; forgottenAt: string; position: number };
}

export interface PrivacyIndex {
  /** Starts the subscription (once); resolves when it has read everything that was stored when it started. */
  start(): Promise<void>;
  /** Resolves once the index has applied every event up to `position` (false after `timeoutMs`). */
  caughtUp(position: number, timeoutMs?: number): Promise<boolean>;
  /** The last global position the index has seen. */
  readonly position: number;
  request(requestId: string): PrivacyRequestSummary | undefined;
  requests(): PrivacyRequestSummary[];
  subject(subjectId: string): SubjectPrivacySummary | undefined;
  hold(holdId: string): LegalHoldSummary | undefined;
  holds(): LegalHoldSummary[];
  isRestricted(subjectId: string): boolean;
  /** Every subject whose processing is restricted now. */
  restrictedSubjects(): string[];
  /** Whether a suppression hash (keyed HMAC of a normalised email or phone) was recorded. */
  isSuppressed(hash: string): boolean;
  stop(): Promise<void>;
}

type PrivacyEvent = PrivacyRequestEvent | PrivacySubjectEvent;
const PRIVACY_TYPES = [...PRIVACY_EVENT_TYPES];

export function createPrivacyIndex(options: { eventStore: EventStore; logger: Logger; retryDelayMs?: number }): PrivacyIndex {
  const { eventStore } = options;
  const logger = options.logger.child({ component: 'privacy-index' });
  const requests = new Map<string, PrivacyRequestSummary>();
  const subjects = new Map<string, SubjectPrivacySummary>();
  const holds = new Map<string, LegalHoldSummary>();
  const hashes = new Set<string>();
  const stopping = new AbortController();
  const waiters = new Set<{ position: number; resolve: (reached: boolean) => void }>();
  let position = 0;
  let started: Promise<void> | undefined;
  /** The last privacy event the first read applied: a failed start resumes after it. */
  let caughtUpTo = 0;
  let following: Promise<void> = Promise.resolve();

  const subjectOf = (subjectId: string): SubjectPrivacySummary => {
    let found = subjects.get(subjectId);
    if (!found) subjects.set(subjectId, (found = { subjectId, holds: [], restricted: false, suppressionEntries: 0 }));
    return found;
  };

  function apply(event: PrivacyEvent, recorded: RecordedEvent): void {
    const at = recorded.recordedAt;
    switch (event.type) {
      case 'PrivacyRequestReceived': {
        const { requestId, kind, subjectId, receivedAt, dueBy } = event.data;
        requests.set(requestId, { requestId, kind, subjectId, state: 'received', receivedAt, dueBy, extendedMonths: 0 });
        return;
      }
      case 'PrivacyRequestStarted':
        return update(event.data.requestId, (r) => (r.state = 'in-progress'));
      case 'PrivacyRequestDeadlineExtended':
        return update(event.data.requestId, (r) => {
          r.dueBy = event.data.dueBy;
          r.extendedMonths += event.data.months;
        });
      case 'PrivacyRequestCompleted':
        return update(event.data.requestId, (r) => {
          r.state = 'done';
          r.closedAt = (event.data.receipt as PrivacyReceipt).completedAt;
        });
      case 'PrivacyRequestRefused':
        return update(event.data.requestId, (r) => {
          r.state = 'refused';
          r.closedAt = at;
          r.refusalRule = event.data.rule;
        });
      case 'LegalHoldPlaced': {
        const { holdId, subjectId, legalBasis, until } = event.data;
        const hold: LegalHoldSummary = { holdId, subjectId, legalBasis, until, released: false, placedAt: at };
        holds.set(holdId, hold);
        subjectOf(subjectId).holds.push(hold);
        return;
      }
      case 'LegalHoldReleased': {
        const hold = holds.get(event.data.holdId);
        if (hold) Object.assign(hold, { released: true, releasedAt: at });
        return;
      }
      case 'ProcessingRestricted':
        subjectOf(event.data.subjectId).restricted = true;
        return;
      case 'RestrictionLifted':
        subjectOf(event.data.subjectId).restricted = false;
        return;
      case 'SuppressionRecorded':
        for (const hash of event.data.hashes) hashes.add(hash);
        subjectOf(event.data.subjectId).suppressionEntries += event.data.hashes.length;
        return;
      case 'SubjectForgotten': {
        const subject = subjectOf(event.data.subjectId);
        subject.forgotten ??= { requestId: event.data.requestId, forgottenAt: event.data.forgottenAt, position: recorded.globalPosition };
        return;
      }
    }
  }

  function update(requestId: string, change: (r: PrivacyRequestSummary) => void): void {
    const found = requests.get(requestId);
    if (found) change(found);
  }

  function advance(to: number): void {
    position = to;
    for (const waiter of [...waiters]) {
      if (waiter.position <= position) {
        waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  async function applyRecorded(recorded: RecordedEvent): Promise<void> {
    // Withheld: the index never needs a personal value, so no key is touched.
    const opened = await openEvent(recorded, 'withheld');
    apply(opened as unknown as PrivacyEvent, recorded);
  }

  /**
   * Reads the privacy events stored so far (the store filters by type: a long log of business
   * events costs little), then follows every new event. No privacy event up to `head` can be
   * missed: they were all committed before `head` was read, so an empty page after the last one
   * read means there is none left; the subscription goes on from there.
   */
  async function catchUp(): Promise<void> {
    const head = await eventStore.headPosition();
    for (;;) {
      const page = await eventStore.readAll({ after: caughtUpTo, types: PRIVACY_TYPES, limit: 1000 });
      if (page.length === 0) break;
      for (const recorded of page) {
        await applyRecorded(recorded);
        caughtUpTo = recorded.globalPosition;
      }
    }
    advance(Math.max(head, caughtUpTo));
  }

  async function follow(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        for await (const recorded of eventStore.subscribe({ after: position, signal: stopping.signal })) {
          if (PRIVACY_EVENT_TYPES.has(recorded.type)) await applyRecorded(recorded);
          advance(recorded.globalPosition);
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        logger.error('privacy index subscription failed; retrying', { error: error instanceof Error ? error.name : 'unknown', position });
        await pause(options.retryDelayMs ?? 1000, stopping.signal);
      }
    }
  }

  return {
    start() {
      started ??= (async () => {
        await catchUp();
        following = follow();
        logger.info('privacy index ready', { position, requests: requests.size, subjects: subjects.size });
      })().catch((error: unknown) => {
        // The next caller (a command's screen, a privacy action) tries again.
        started = undefined;
        throw error;
      });
      return started;
    },
    caughtUp(target, timeoutMs = 10_000) {
      if (position >= target) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const waiter = {
          position: target,
          resolve: (reached: boolean) => {
            clearTimeout(timer);
            resolve(reached);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          resolve(false);
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    get position() {
      return position;
    },
    request: (requestId) => requests.get(requestId),
    requests: () => [...requests.values()],
    subject: (subjectId) => subjects.get(subjectId),
    hold: (holdId) => holds.get(holdId),
    holds: () => [...holds.values()],
    isRestricted: (subjectId) => subjects.get(subjectId)?.restricted === true,
    restrictedSubjects: () => [...subjects.values()].filter((s) => s.restricted).map((s) => s.subjectId),
    isSuppressed: (hash) => hashes.has(hash),
    async stop() {
      stopping.abort();
      for (const waiter of [...waiters]) waiter.resolve(false);
      waiters.clear();
      await following;
    },
  };
}
