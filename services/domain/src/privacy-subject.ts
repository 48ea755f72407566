import {
  type EventOf,
  type LegalHoldPlaced,
  type LegalHoldReleased,
  LegalHoldStands,
  type ProcessingRestricted,
  type RestrictionLifted,
  type SubjectForgotten,
  type SuppressionRecorded,
} from '@crm/contracts';
import type { CommandHandler, Decider, DomainEvent } from './decider.ts';
import { ensure } from './rules.ts';
import { privacySubjectStream } from './streams.ts';

/**
 * One data subject's privacy state: legal holds (Art. 17(3)), restriction (Art. 18), the
 * suppression entry and the erasure (Art. 17). Issued by the privacy service only.
 */
export type PrivacySubjectEvent =
  | DomainEvent<'LegalHoldPlaced', EventOf<typeof LegalHoldPlaced>>
  | DomainEvent<'LegalHoldReleased', EventOf<typeof LegalHoldReleased>>
  | DomainEvent<'ProcessingRestricted', EventOf<typeof ProcessingRestricted>>
  | DomainEvent<'RestrictionLifted', EventOf<typeof RestrictionLifted>>
  | DomainEvent<'SuppressionRecorded', EventOf<typeof SuppressionRecorded>>
  | DomainEvent<'SubjectForgotten', EventOf<typeof SubjectForgotten>>;

export interface LegalHold {
  holdId: string;
  subjectId: string;
  legalBasis: string;
  /** Last day (YYYY-MM-DD) the hold stands. */
  until: string;
  released: boolean;
}

export interface PrivacySubjectState {
  holds: readonly LegalHold[];
  restricted: boolean;
  /** Suppression entries (keyed hashes) recorded for the subject. */
  suppressionEntries: number;
  forgotten?: { requestId: string; forgottenAt: string };
}

export interface PlaceLegalHold {
  holdId: string;
  subjectId: string;
  legalBasis: string;
  until: string;
  reason?: string;
}
export interface ReleaseLegalHold {
  holdId: string;
  subjectId: string;
  reason?: string;
}
export interface RestrictProcessing {
  subjectId: string;
  requestId: string;
}
export interface LiftRestriction {
  subjectId: string;
  requestId: string;
}
export interface RecordSuppression {
  subjectId: string;
  hashes: string[];
}
export interface ForgetSubject {
  subjectId: string;
  requestId: string;
  /**
   * The key is destroyed already: the erasure has happened and is only recorded, whatever
   * holds stand now (the privacy service checks them before it destroys the key).
   */
  keyDestroyed?: boolean;
}

/** A hold stands until the end of its `until` day (UTC), unless released. */
export function standingHolds(state: PrivacySubjectState, now: string): LegalHold[] {
  const today = now.slice(0, 10);
  return state.holds.filter((h) => !h.released && h.until >= today);
}

export const privacySubjectDecider: Decider<PrivacySubjectState, PrivacySubjectEvent> = {
  initialState: () => ({ holds: [], restricted: false, suppressionEntries: 0 }),
  evolve(state, event) {
    switch (event.type) {
      case 'LegalHoldPlaced': {
        const { holdId, subjectId, legalBasis, until } = event.data;
        return { ...state, holds: [...state.holds, { holdId, subjectId, legalBasis, until, released: false }] };
      }
      case 'LegalHoldReleased':
        return { ...state, holds: state.holds.map((h) => (h.holdId === event.data.holdId ? { ...h, released: true } : h)) };
      case 'ProcessingRestricted':
        return { ...state, restricted: true };
      case 'RestrictionLifted':
        return { ...state, restricted: false };
      case 'SuppressionRecorded':
        return { ...state, suppressionEntries: state.suppressionEntries + event.data.hashes.length };
      case 'SubjectForgotten':
        return { ...state, forgotten: { requestId: event.data.requestId, forgottenAt: event.data.forgottenAt } };
      default: // the retention scheduler's events share the stream and change nothing here
        return state;
    }
  },
};

type Handler<C> = CommandHandler<C, PrivacySubjectState, PrivacySubjectEvent>;
const subjectTarget = (c: { subjectId: string }) => ({
  id: c.subjectId,
  streamId: privacySubjectStream(c.subjectId),
  // The stream begins with whichever privacy event comes first: no expectation that it exists.
  create: false,
  field: 'subjectId',
  what: 'data subject',
});

const notForgotten = (state: PrivacySubjectState) =>
  ensure(state.forgotten === undefined, 'subject-forgotten', 'the data subject has been erased; nothing of theirs is processed any more');

const PlaceLegalHoldHandler: Handler<PlaceLegalHold> = {
  decider: privacySubjectDecider,
  target: subjectTarget,
  decide: (c, state, ctx) => {
    notForgotten(state);
    ensure(c.until >= ctx.now.slice(0, 10), 'hold-ends-in-the-past', 'until must be today or later');
    ensure(!state.holds.some((h) => h.holdId === c.holdId), 'hold-exists', 'holdId names a hold placed already');
    return [{ type: 'LegalHoldPlaced', data: { ...c } }];
  },
};

const ReleaseLegalHoldHandler: Handler<ReleaseLegalHold> = {
  decider: privacySubjectDecider,
  target: subjectTarget,
  decide: (c, state) => {
    const hold = state.holds.find((h) => h.holdId === c.holdId);
    ensure(hold !== undefined, 'unknown-hold', 'holdId names no legal hold of this subject');
    ensure(!hold.released, 'hold-already-released', 'the hold was released already');
    return [{ type: 'LegalHoldReleased', data: { ...c } }];
  },
};

const RestrictProcessingHandler: Handler<RestrictProcessing> = {
  decider: privacySubjectDecider,
  target: subjectTarget,
  decide: (c, state) => {
    notForgotten(state);
    return state.restricted ? [] : [{ type: 'ProcessingRestricted', data: { ...c } }];
  },
};

const LiftRestrictionHandler: Handler<LiftRestriction> = {
  decider: privacySubjectDecider,
  target: subjectTarget,
  decide: (c, state) => (state.restricted ? [{ type: 'RestrictionLifted', data: { ...c } }] : []),
};

const RecordSuppressionHandler: Handler<RecordSuppression> = {
  decider: privacySubjectDecider,
  target: subjectTarget,
  decide: (c, state) => (c.hashes.length === 0 || state.forgotten ? [] : [{ type: 'SuppressionRecorded', data: { subjectId: c.subjectId, hashes: [...new Set(c.hashes)].sort() } }]),
};

const ForgetSubjectHandler: Handler<ForgetSubject> = {
  decider: privacySubjectDecider,
  target: subjectTarget,
  decide: (c, state, ctx) => {
    // Forgotten once: a repeated erasure appends nothing (the receipt refers to the first).
    if (state.forgotten) return [];
    const standing = standingHolds(state, ctx.now);
    if (standing.length > 0 && !c.keyDestroyed) throw new LegalHoldStands(c.subjectId, standing.map(({ holdId, legalBasis, until }) => ({ holdId, legalBasis, until })));
    return [{ type: 'SubjectForgotten', data: { subjectId: c.subjectId, requestId: c.requestId, forgottenAt: ctx.now } }];
  },
};

export const privacySubjectHandlers = {
  PlaceLegalHold: PlaceLegalHoldHandler,
  ReleaseLegalHold: ReleaseLegalHoldHandler,
  RestrictProcessing: RestrictProcessingHandler,
  LiftRestriction: LiftRestrictionHandler,
  RecordSuppression: RecordSuppressionHandler,
  ForgetSubject: ForgetSubjectHandler,
};
