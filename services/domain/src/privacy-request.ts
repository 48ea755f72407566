import {
  type EventOf,
  PRIVACY_DEADLINE_MONTHS,
  PRIVACY_MAX_EXTENSION_MONTHS,
  type PrivacyReceipt,
  type PrivacyRefusalRule,
  type PrivacyRequestCompleted,
  type PrivacyRequestDeadlineExtended,
  type PrivacyRequestKind,
  type PrivacyRequestReceived,
  type PrivacyRequestRefused,
  type PrivacyRequestStarted,
} from '@crm/contracts';
import type { CommandHandler, Decider, DomainEvent } from './decider.ts';
import { ensure } from './rules.ts';
import { privacyRequestStream } from './streams.ts';

/**
 * One data-subject request: received → in-progress → done or refused. Its commands are not
 * HTTP commands: the privacy service issues them (only `dpo` and `admin` reach it).
 */
export type PrivacyRequestEvent =
  | DomainEvent<'PrivacyRequestReceived', EventOf<typeof PrivacyRequestReceived>>
  | DomainEvent<'PrivacyRequestStarted', EventOf<typeof PrivacyRequestStarted>>
  | DomainEvent<'PrivacyRequestDeadlineExtended', EventOf<typeof PrivacyRequestDeadlineExtended>>
  | DomainEvent<'PrivacyRequestCompleted', EventOf<typeof PrivacyRequestCompleted>>
  | DomainEvent<'PrivacyRequestRefused', EventOf<typeof PrivacyRequestRefused>>;

export type PrivacyRequestLifecycle =
  | { status: 'none' }
  | {
      status: 'received' | 'in-progress' | 'done' | 'refused';
      requestId: string;
      kind: PrivacyRequestKind;
      subjectId: string;
      receivedAt: string;
      dueBy: string;
      /** Months the deadline was extended by, in total (at most two). */
      extendedMonths: number;
    };

export interface ReceivePrivacyRequest {
  requestId: string;
  kind: PrivacyRequestKind;
  subjectId: string;
  /** Absent when the subject was erased already: nothing can be sealed under their key any more. */
  reason?: string;
}
export interface StartPrivacyRequest {
  requestId: string;
}
export interface ExtendPrivacyRequestDeadline {
  requestId: string;
  months: number;
  reason?: string;
}
export interface CompletePrivacyRequest {
  requestId: string;
  receipt: PrivacyReceipt;
}
export interface RefusePrivacyRequest {
  requestId: string;
  rule: PrivacyRefusalRule;
  holdIds?: string[];
  reason?: string;
}

/**
 * `at` plus whole calendar months (UTC), clamped to the end of a shorter month: a request
 * received on 31 January is due on 28 (or 29) February.
 */
export function addMonths(at: string, months: number): string {
  const from = new Date(at);
  const target = new Date(from);
  target.setUTCDate(1);
  target.setUTCMonth(from.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(from.getUTCDate(), lastDay));
  return target.toISOString();
}

export const isOpenRequest = (state: PrivacyRequestLifecycle) => state.status === 'received' || state.status === 'in-progress';

export const privacyRequestDecider: Decider<PrivacyRequestLifecycle, PrivacyRequestEvent> = {
  initialState: () => ({ status: 'none' }),
  evolve(state, event) {
    switch (event.type) {
      case 'PrivacyRequestReceived': {
        const { requestId, kind, subjectId, receivedAt, dueBy } = event.data;
        return { status: 'received', requestId, kind, subjectId, receivedAt, dueBy, extendedMonths: 0 };
      }
      case 'PrivacyRequestStarted':
        return state.status === 'none' ? state : { ...state, status: 'in-progress' };
      case 'PrivacyRequestDeadlineExtended':
        return state.status === 'none' ? state : { ...state, dueBy: event.data.dueBy, extendedMonths: state.extendedMonths + event.data.months };
      case 'PrivacyRequestCompleted':
        return state.status === 'none' ? state : { ...state, status: 'done' };
      case 'PrivacyRequestRefused':
        return state.status === 'none' ? state : { ...state, status: 'refused' };
    }
  },
  ownerOf: (state) => (state.status === 'none' ? undefined : state.subjectId),
};

type Handler<C> = CommandHandler<C, PrivacyRequestLifecycle, PrivacyRequestEvent>;
type Known = Exclude<PrivacyRequestLifecycle, { status: 'none' }>;

const existing = (requestId: string) => ({ id: requestId, streamId: privacyRequestStream(requestId), create: false, field: 'requestId', what: 'privacy request' });

function open(state: PrivacyRequestLifecycle): Known {
  ensure(state.status !== 'none', 'unknown-request', 'requestId names no privacy request');
  ensure(isOpenRequest(state), 'request-closed', `the request is ${state.status} already`);
  return state;
}

const ReceivePrivacyRequestHandler: Handler<ReceivePrivacyRequest> = {
  decider: privacyRequestDecider,
  target: (c) => ({ id: c.requestId, streamId: privacyRequestStream(c.requestId), create: true, what: 'privacy request' }),
  decide: (c, _, ctx) => [
    {
      type: 'PrivacyRequestReceived',
      data: {
        requestId: c.requestId,
        kind: c.kind,
        subjectId: c.subjectId,
        ...(c.reason !== undefined ? { reason: c.reason } : {}),
        receivedAt: ctx.now,
        dueBy: addMonths(ctx.now, PRIVACY_DEADLINE_MONTHS),
      },
    },
  ],
};

const StartPrivacyRequestHandler: Handler<StartPrivacyRequest> = {
  decider: privacyRequestDecider,
  target: (c) => existing(c.requestId),
  decide: (c, state) => {
    const s = open(state);
    // Started already (an earlier attempt stopped half-way): carrying it out again resumes it.
    return s.status === 'in-progress' ? [] : [{ type: 'PrivacyRequestStarted', data: { requestId: c.requestId, subjectId: s.subjectId } }];
  },
};

const ExtendPrivacyRequestDeadlineHandler: Handler<ExtendPrivacyRequestDeadline> = {
  decider: privacyRequestDecider,
  target: (c) => existing(c.requestId),
  decide: (c, state) => {
    const s = open(state);
    const total = s.extendedMonths + c.months;
    ensure(
      Number.isInteger(c.months) && c.months >= 1 && total <= PRIVACY_MAX_EXTENSION_MONTHS,
      'deadline-extension-limit',
      `the deadline can be extended by ${PRIVACY_MAX_EXTENSION_MONTHS} months in total (Art. 12(3)); it was extended by ${s.extendedMonths} already`,
    );
    return [
      {
        type: 'PrivacyRequestDeadlineExtended',
        data: {
          requestId: c.requestId,
          subjectId: s.subjectId,
          months: c.months,
          ...(c.reason !== undefined ? { reason: c.reason } : {}),
          dueBy: addMonths(s.receivedAt, PRIVACY_DEADLINE_MONTHS + total),
        },
      },
    ];
  },
};

const CompletePrivacyRequestHandler: Handler<CompletePrivacyRequest> = {
  decider: privacyRequestDecider,
  target: (c) => existing(c.requestId),
  decide: (c, state) => {
    const s = open(state);
    ensure(s.status === 'in-progress', 'request-not-started', 'the request must be started before it is completed');
    return [{ type: 'PrivacyRequestCompleted', data: { requestId: c.requestId, subjectId: s.subjectId, receipt: c.receipt } }];
  },
};

const RefusePrivacyRequestHandler: Handler<RefusePrivacyRequest> = {
  decider: privacyRequestDecider,
  target: (c) => existing(c.requestId),
  decide: (c, state) => {
    const s = open(state);
    return [
      {
        type: 'PrivacyRequestRefused',
        data: {
          requestId: c.requestId,
          subjectId: s.subjectId,
          rule: c.rule,
          ...(c.holdIds ? { holdIds: c.holdIds } : {}),
          ...(c.reason !== undefined ? { reason: c.reason } : {}),
        },
      },
    ];
  },
};

export const privacyRequestHandlers = {
  ReceivePrivacyRequest: ReceivePrivacyRequestHandler,
  StartPrivacyRequest: StartPrivacyRequestHandler,
  ExtendPrivacyRequestDeadline: ExtendPrivacyRequestDeadlineHandler,
  CompletePrivacyRequest: CompletePrivacyRequestHandler,
  RefusePrivacyRequest: RefusePrivacyRequestHandler,
};
