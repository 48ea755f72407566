import type {
  AddCaseNote,
  AssignServiceCase,
  CaseNoteAdded,
  CommandOf,
  EventOf,
  OpenServiceCase,
  ReopenServiceCase,
  ResolveServiceCase,
  ServiceCaseAssigned,
  ServiceCaseOpened,
  ServiceCaseReopened,
  ServiceCaseResolved,
} from '@crm/contracts';
import { consentSubject, customerReference, type CustomerState } from './customer.ts';
import { employeeReference } from './employee.ts';
import type { CommandHandler, Decider, DomainEvent } from './decider.ts';
import { ensure } from './rules.ts';
import { serviceCaseStream } from './streams.ts';

export type ServiceCaseEvent =
  | DomainEvent<'ServiceCaseOpened', EventOf<typeof ServiceCaseOpened>>
  | DomainEvent<'CaseNoteAdded', EventOf<typeof CaseNoteAdded>>
  | DomainEvent<'ServiceCaseAssigned', EventOf<typeof ServiceCaseAssigned>>
  | DomainEvent<'ServiceCaseResolved', EventOf<typeof ServiceCaseResolved>>
  | DomainEvent<'ServiceCaseReopened', EventOf<typeof ServiceCaseReopened>>;

export type ServiceCaseState =
  | { status: 'unknown' }
  | { status: 'open' | 'resolved'; caseId: string; customerId: string; subjectId: string };

export const serviceCaseDecider: Decider<ServiceCaseState, ServiceCaseEvent> = {
  initialState: () => ({ status: 'unknown' }),
  evolve(state, event) {
    switch (event.type) {
      case 'ServiceCaseOpened':
        return { status: 'open', caseId: event.data.caseId, customerId: event.data.customerId, subjectId: event.data.subjectId };
      case 'ServiceCaseResolved':
        return state.status === 'unknown' ? state : { ...state, status: 'resolved' };
      case 'ServiceCaseReopened':
        return state.status === 'unknown' ? state : { ...state, status: 'open' };
      case 'CaseNoteAdded':
      case 'ServiceCaseAssigned':
        return state;
    }
  },
};

type Handler<C> = CommandHandler<C, ServiceCaseState, ServiceCaseEvent>;
type Known = Exclude<ServiceCaseState, { status: 'unknown' }>;

const existing = (caseId: string) => ({ id: caseId, streamId: serviceCaseStream(caseId), create: false, field: 'caseId', what: 'service case' });

function known(state: ServiceCaseState): Known {
  ensure(state.status !== 'unknown', 'case-not-opened', 'caseId names no opened case');
  return state;
}

const OpenServiceCaseHandler: Handler<CommandOf<typeof OpenServiceCase>> = {
  decider: serviceCaseDecider,
  target: (_, newId) => {
    const id = newId();
    return { id, streamId: serviceCaseStream(id), create: true, what: 'service case' };
  },
  references: (c) => [
    customerReference(c.customerId),
    ...employeeReference('assignedAgentId', c.assignedAgentId),
  ],
  decide: (c, _, ctx) => {
    const customer = ctx.related.customer as CustomerState;
    ensure(customer.status === 'registered', 'customer-not-registered', 'customerId names no registered customer');
    const subjectId = consentSubject(customer, c.subjectId);
    return [{ type: 'ServiceCaseOpened', data: { ...c, caseId: ctx.aggregateId, subjectId } }];
  },
  reply: (events) => ({ caseId: (events[0]?.data as { caseId: string }).caseId }),
};

const AddCaseNoteHandler: Handler<CommandOf<typeof AddCaseNote>> = {
  decider: serviceCaseDecider,
  target: (c) => existing(c.caseId),
  references: (c) => employeeReference('authorAgentId', c.authorAgentId),
  decide: (c, state, ctx) => {
    const s = known(state);
    ensure(s.status === 'open', 'case-resolved', 'the case is resolved; reopen it before adding notes');
    return [{ type: 'CaseNoteAdded', data: { ...c, noteId: ctx.newId(), subjectId: s.subjectId } }];
  },
  reply: (events) => ({ noteId: (events[0]?.data as { noteId: string }).noteId }),
};

const AssignServiceCaseHandler: Handler<CommandOf<typeof AssignServiceCase>> = {
  decider: serviceCaseDecider,
  target: (c) => existing(c.caseId),
  references: (c) => employeeReference('agentId', c.agentId),
  decide: (c, state) => {
    known(state);
    return [{ type: 'ServiceCaseAssigned', data: c }];
  },
};

const ResolveServiceCaseHandler: Handler<CommandOf<typeof ResolveServiceCase>> = {
  decider: serviceCaseDecider,
  target: (c) => existing(c.caseId),
  decide: (c, state) => {
    ensure(known(state).status === 'open', 'case-already-resolved', 'a resolved case cannot be resolved again');
    return [{ type: 'ServiceCaseResolved', data: c }];
  },
};

const ReopenServiceCaseHandler: Handler<CommandOf<typeof ReopenServiceCase>> = {
  decider: serviceCaseDecider,
  target: (c) => existing(c.caseId),
  decide: (c, state) => {
    ensure(known(state).status === 'resolved', 'case-not-resolved', 'only a resolved case can be reopened');
    return [{ type: 'ServiceCaseReopened', data: c }];
  },
};

export const serviceCaseHandlers = {
  OpenServiceCase: OpenServiceCaseHandler,
  AddCaseNote: AddCaseNoteHandler,
  AssignServiceCase: AssignServiceCaseHandler,
  ResolveServiceCase: ResolveServiceCaseHandler,
  ReopenServiceCase: ReopenServiceCaseHandler,
};
