import {
  type ConsentPurpose,
  DIRECT_MARKETING_PURPOSES,
  type AccountOwnerAssigned,
  type AddContactPerson,
  type AssignAccountOwner,
  type ChangeCustomerDetails,
  type CommandOf,
  type ConsentGiven,
  type ConsentWithdrawn,
  type ContactPersonAdded,
  type ContactPersonRemoved,
  type CustomerDetailsChanged,
  type CustomerReclassified,
  type CustomerRegistered,
  type DirectMarketingObjected,
  type EventOf,
  type GiveConsent,
  type ObjectToDirectMarketing,
  type OrganisationRegistered,
  type ReclassifyCustomer,
  type RegisterCustomer,
  type RegisterOrganisation,
  type RemoveContactPerson,
  type WithdrawConsent,
} from '@crm/contracts';
import type { CommandHandler, Decider, DomainEvent, Reference } from './decider.ts';
import { ensure } from './rules.ts';
import { customerStream } from './streams.ts';
import { employeeReference } from './employee.ts';

export type CustomerEvent =
  | DomainEvent<'CustomerRegistered', EventOf<typeof CustomerRegistered>>
  | DomainEvent<'OrganisationRegistered', EventOf<typeof OrganisationRegistered>>
  | DomainEvent<'ContactPersonAdded', EventOf<typeof ContactPersonAdded>>
  | DomainEvent<'ContactPersonRemoved', EventOf<typeof ContactPersonRemoved>>
  | DomainEvent<'CustomerDetailsChanged', EventOf<typeof CustomerDetailsChanged>>
  | DomainEvent<'CustomerReclassified', EventOf<typeof CustomerReclassified>>
  | DomainEvent<'AccountOwnerAssigned', EventOf<typeof AccountOwnerAssigned>>
  | DomainEvent<'ConsentGiven', EventOf<typeof ConsentGiven>>
  | DomainEvent<'ConsentWithdrawn', EventOf<typeof ConsentWithdrawn>>
  | DomainEvent<'DirectMarketingObjected', EventOf<typeof DirectMarketingObjected>>;

export type CustomerState =
  | { status: 'unknown' }
  | {
      status: 'registered';
      kind: 'person' | 'organisation';
      customerId: string;
      /** Subject ids of current contact persons (organisations only). */
      contacts: readonly string[];
      /** Purposes each subject currently consents to. */
      consents: Readonly<Record<string, readonly ConsentPurpose[]>>;
      /** Subjects who objected to direct marketing: for good. */
      objected: readonly string[];
    };

const registered = (kind: 'person' | 'organisation', customerId: string, contacts: string[] = []): CustomerState => ({
  status: 'registered',
  kind,
  customerId,
  contacts,
  consents: {},
  objected: [],
});

function withConsents(state: CustomerState, subjectId: string, change: (purposes: readonly ConsentPurpose[]) => ConsentPurpose[]) {
  if (state.status !== 'registered') return state;
  return { ...state, consents: { ...state.consents, [subjectId]: change(state.consents[subjectId] ?? []) } };
}

export const customerDecider: Decider<CustomerState, CustomerEvent> = {
  initialState: () => ({ status: 'unknown' }),
  evolve(state, event) {
    switch (event.type) {
      case 'CustomerRegistered':
        return registered('person', event.data.customerId);
      case 'OrganisationRegistered':
        return registered('organisation', event.data.customerId, event.data.contacts.map((c) => c.subjectId));
      case 'ContactPersonAdded':
        return state.status === 'registered' ? { ...state, contacts: [...state.contacts, event.data.contact.subjectId] } : state;
      case 'ContactPersonRemoved':
        return state.status === 'registered' ? { ...state, contacts: state.contacts.filter((s) => s !== event.data.subjectId) } : state;
      case 'ConsentGiven':
        return withConsents(state, event.data.subjectId, (p) => [...p.filter((x) => x !== event.data.purpose), event.data.purpose]);
      case 'ConsentWithdrawn':
        return withConsents(state, event.data.subjectId, (p) => p.filter((x) => x !== event.data.purpose));
      case 'DirectMarketingObjected': {
        const next = withConsents(state, event.data.subjectId, (p) => p.filter((x) => !DIRECT_MARKETING_PURPOSES.includes(x)));
        return next.status === 'registered' ? { ...next, objected: [...next.objected, event.data.subjectId] } : next;
      }
      case 'CustomerDetailsChanged':
      case 'CustomerReclassified':
      case 'AccountOwnerAssigned':
        return state;
    }
  },
  ownerOf: (state) => (state.status === 'registered' && state.kind === 'person' ? state.customerId : undefined),
};

type Registered = Extract<CustomerState, { status: 'registered' }>;
type Handler<C> = CommandHandler<C, CustomerState, CustomerEvent>;

/** A reference to the customer a command names: it must exist. */
export const customerReference = (customerId: string): Reference => ({
  name: 'customer',
  streamId: customerStream(customerId),
  field: 'customerId',
  what: 'customer',
  decider: customerDecider,
});

const existing = (customerId: string) => ({
  id: customerId,
  streamId: customerStream(customerId),
  create: false,
  field: 'customerId',
  what: 'customer',
});
const fresh = (newId: () => string) => {
  const id = newId();
  return { id, streamId: customerStream(id), create: true, what: 'customer' };
};

function registeredState(state: CustomerState): Registered {
  // The pipeline only calls decide on an existing stream for non-create commands.
  ensure(state.status === 'registered', 'customer-not-registered', 'customerId names no registered customer');
  return state;
}

/** The person a consent command is about: the person customer, or one of an organisation's contacts. */
export function consentSubject(state: Registered, subjectId: string | undefined): string {
  if (state.kind === 'person') {
    ensure(subjectId === undefined || subjectId === state.customerId, 'subject-not-of-customer', 'subjectId is not this customer');
    return state.customerId;
  }
  ensure(subjectId !== undefined, 'subject-required', 'subjectId is required for an organisation: name a contact person');
  ensure(state.contacts.includes(subjectId), 'subject-not-of-customer', 'subjectId is not a contact person of this customer');
  return subjectId;
}

const RegisterCustomerHandler: Handler<CommandOf<typeof RegisterCustomer>> = {
  decider: customerDecider,
  target: (_, newId) => fresh(newId),
  references: (c) => employeeReference('accountOwnerId', c.accountOwnerId),
  decide: (c, _, ctx) => [{ type: 'CustomerRegistered', data: { customerId: ctx.aggregateId, ...c } }],
  reply: (events) => ({ subjectId: (events[0]?.data as { customerId: string }).customerId }),
};

const RegisterOrganisationHandler: Handler<CommandOf<typeof RegisterOrganisation>> = {
  decider: customerDecider,
  target: (_, newId) => fresh(newId),
  references: (c) => employeeReference('accountOwnerId', c.accountOwnerId),
  decide: (c, _, ctx) => [
    {
      type: 'OrganisationRegistered',
      data: { ...c, customerId: ctx.aggregateId, contacts: c.contacts.map((contact) => ({ subjectId: ctx.newId(), ...contact })) },
    },
  ],
  reply: (events) => {
    const data = events[0]?.data as EventOf<typeof OrganisationRegistered>;
    return { customerId: data.customerId, contactSubjectIds: data.contacts.map((c) => c.subjectId) };
  },
};

const AddContactPersonHandler: Handler<CommandOf<typeof AddContactPerson>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  decide: (c, state, ctx) => {
    const s = registeredState(state);
    ensure(s.kind === 'organisation', 'not-an-organisation', 'contact persons belong to organisation customers');
    const { customerId, ...contact } = c;
    return [{ type: 'ContactPersonAdded', data: { customerId, contact: { subjectId: ctx.newId(), ...contact } } }];
  },
  reply: (events) => ({ subjectId: (events[0]?.data as EventOf<typeof ContactPersonAdded>).contact.subjectId }),
};

const RemoveContactPersonHandler: Handler<CommandOf<typeof RemoveContactPerson>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  decide: (c, state) => {
    const s = registeredState(state);
    ensure(s.contacts.includes(c.subjectId), 'subject-not-of-customer', 'subjectId is not a contact person of this customer');
    return [{ type: 'ContactPersonRemoved', data: c }];
  },
};

const ChangeCustomerDetailsHandler: Handler<CommandOf<typeof ChangeCustomerDetails>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  decide: (c, state) => {
    ensure(registeredState(state).kind === 'person', 'not-a-person', 'details of organisations are not personal; change contact persons instead');
    return [{ type: 'CustomerDetailsChanged', data: c }];
  },
};

const ReclassifyCustomerHandler: Handler<CommandOf<typeof ReclassifyCustomer>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  decide: (c, state) => {
    registeredState(state);
    return [{ type: 'CustomerReclassified', data: c }];
  },
};

const AssignAccountOwnerHandler: Handler<CommandOf<typeof AssignAccountOwner>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  references: (c) => employeeReference('accountOwnerId', c.accountOwnerId),
  decide: (c, state) => {
    registeredState(state);
    return [{ type: 'AccountOwnerAssigned', data: c }];
  },
};

const GiveConsentHandler: Handler<CommandOf<typeof GiveConsent>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  decide: (c, state) => {
    const s = registeredState(state);
    const subjectId = consentSubject(s, c.subjectId);
    ensure(
      !(DIRECT_MARKETING_PURPOSES.includes(c.purpose) && s.objected.includes(subjectId)),
      'objected-to-direct-marketing',
      'this person objected to direct marketing; marketing consent cannot be recorded',
    );
    return [{ type: 'ConsentGiven', data: { ...c, subjectId } }];
  },
};

const WithdrawConsentHandler: Handler<CommandOf<typeof WithdrawConsent>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  // Recorded even when no consent stands: the withdrawal itself is evidence.
  decide: (c, state) => [{ type: 'ConsentWithdrawn', data: { ...c, subjectId: consentSubject(registeredState(state), c.subjectId) } }],
};

const ObjectToDirectMarketingHandler: Handler<CommandOf<typeof ObjectToDirectMarketing>> = {
  decider: customerDecider,
  target: (c) => existing(c.customerId),
  decide: (c, state) => {
    const s = registeredState(state);
    const subjectId = consentSubject(s, c.subjectId);
    if (s.objected.includes(subjectId)) return [];
    return [{ type: 'DirectMarketingObjected', data: { ...c, subjectId } }];
  },
};

export const customerHandlers = {
  RegisterCustomer: RegisterCustomerHandler,
  RegisterOrganisation: RegisterOrganisationHandler,
  AddContactPerson: AddContactPersonHandler,
  RemoveContactPerson: RemoveContactPersonHandler,
  ChangeCustomerDetails: ChangeCustomerDetailsHandler,
  ReclassifyCustomer: ReclassifyCustomerHandler,
  AssignAccountOwner: AssignAccountOwnerHandler,
  GiveConsent: GiveConsentHandler,
  WithdrawConsent: WithdrawConsentHandler,
  ObjectToDirectMarketing: ObjectToDirectMarketingHandler,
};
