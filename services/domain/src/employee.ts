import type {
  AbsenceRecorded,
  ChangeEmployeePosition,
  CommandOf,
  EmployeeHired,
  EmployeePositionChanged,
  EmploymentEnded,
  EndEmployment,
  EventOf,
  HireEmployee,
  RecordAbsence,
} from '@crm/contracts';
import type { CommandHandler, Decider, DomainEvent, Reference } from './decider.ts';
import { ensure } from './rules.ts';
import { employeeStream } from './streams.ts';

export type EmployeeEvent =
  | DomainEvent<'EmployeeHired', EventOf<typeof EmployeeHired>>
  | DomainEvent<'EmployeePositionChanged', EventOf<typeof EmployeePositionChanged>>
  | DomainEvent<'AbsenceRecorded', EventOf<typeof AbsenceRecorded>>
  | DomainEvent<'EmploymentEnded', EventOf<typeof EmploymentEnded>>;

export type EmployeeState =
  | { status: 'unknown' }
  | { status: 'employed'; employeeId: string; startDate: string }
  | { status: 'left'; employeeId: string; startDate: string };

export const employeeDecider: Decider<EmployeeState, EmployeeEvent> = {
  initialState: () => ({ status: 'unknown' }),
  evolve(state, event) {
    switch (event.type) {
      case 'EmployeeHired':
        return { status: 'employed', employeeId: event.data.employeeId, startDate: event.data.startDate };
      case 'EmploymentEnded':
        return state.status === 'unknown' ? state : { status: 'left', employeeId: state.employeeId, startDate: state.startDate };
      case 'EmployeePositionChanged':
      case 'AbsenceRecorded':
        return state;
    }
  },
  ownerOf: (state) => (state.status === 'unknown' ? undefined : state.employeeId),
};

/** A reference to an employee named by a command field (an account owner, an agent): it must exist. */
export const employeeReference = (field: string, id: string | undefined): Reference[] =>
  id ? [{ name: field, streamId: employeeStream(id), field, what: 'employee', decider: employeeDecider }] : [];

type Handler<C> = CommandHandler<C, EmployeeState, EmployeeEvent>;
type Employed = Extract<EmployeeState, { status: 'employed' }>;
const existing = (employeeId: string) => ({
  id: employeeId,
  streamId: employeeStream(employeeId),
  create: false,
  field: 'employeeId',
  what: 'employee',
});

function employed(state: EmployeeState): Employed {
  ensure(state.status !== 'unknown', 'employee-not-hired', 'employeeId names no hired employee');
  ensure(state.status === 'employed', 'employment-ended', 'the employment has ended; the personnel file is closed');
  return state;
}

const HireEmployeeHandler: Handler<CommandOf<typeof HireEmployee>> = {
  decider: employeeDecider,
  target: (_, newId) => {
    const id = newId();
    return { id, streamId: employeeStream(id), create: true, what: 'employee' };
  },
  decide: (c, _, ctx) => [{ type: 'EmployeeHired', data: { employeeId: ctx.aggregateId, ...c } }],
  reply: (events) => ({ subjectId: (events[0]?.data as { employeeId: string }).employeeId }),
};

const ChangeEmployeePositionHandler: Handler<CommandOf<typeof ChangeEmployeePosition>> = {
  decider: employeeDecider,
  target: (c) => existing(c.employeeId),
  decide: (c, state) => {
    const e = employed(state);
    ensure(c.effectiveDate >= e.startDate, 'before-employment', 'effectiveDate is before the employment started');
    return [{ type: 'EmployeePositionChanged', data: c }];
  },
};

const RecordAbsenceHandler: Handler<CommandOf<typeof RecordAbsence>> = {
  decider: employeeDecider,
  target: (c) => existing(c.employeeId),
  decide: (c, state, ctx) => {
    const e = employed(state);
    ensure(c.from >= e.startDate, 'before-employment', 'from is before the employment started');
    return [{ type: 'AbsenceRecorded', data: { ...c, absenceId: ctx.newId() } }];
  },
};

const EndEmploymentHandler: Handler<CommandOf<typeof EndEmployment>> = {
  decider: employeeDecider,
  target: (c) => existing(c.employeeId),
  decide: (c, state) => {
    const e = employed(state);
    ensure(c.endDate >= e.startDate, 'before-employment', 'endDate is before the employment started');
    return [{ type: 'EmploymentEnded', data: c }];
  },
};

export const employeeHandlers = {
  HireEmployee: HireEmployeeHandler,
  ChangeEmployeePosition: ChangeEmployeePositionHandler,
  RecordAbsence: RecordAbsenceHandler,
  EndEmployment: EndEmploymentHandler,
};
