/**
 * Customers and contact persons as both the service and the sales view hold them: one
 * document per customer (a person customer's `_id` is their subjectId; an organisation has
 * no subject) and one per contact person (`_id` = the contact's subjectId), each with the
 * consent state of its person.
 */
import { DIRECT_MARKETING_PURPOSES, type Role } from '@crm/contracts';
import type { CollectionDefinition, DocumentChange, FieldPolicy, KnownEvent } from '../view.ts';
import { update } from '../view.ts';

export interface PeopleCollections {
  customers: string;
  contacts: string;
}

export interface PeopleRoles {
  /** May read personal fields and everything else. */
  full: Role[];
  /** May read only the minimal, non-personal fields. */
  minimal: Role[];
}

const personal = (roles: Role[], blindIndex = false): FieldPolicy => ({
  roles,
  personal: { subjectField: 'subjectId' },
  ...(blindIndex ? { blindIndex: true } : {}),
});

export function peopleCollections(names: PeopleCollections, roles: PeopleRoles): Record<'customers' | 'contacts', CollectionDefinition> {
  const all = [...roles.full, ...roles.minimal];
  return {
    customers: {
      name: names.customers,
      fields: {
        _id: { roles: all },
        _position: { roles: [] },
        kind: { roles: all },
        subjectId: { roles: roles.full },
        name: personal(roles.full),
        email: personal(roles.full, true),
        phone: personal(roles.full, true),
        address: personal(roles.full),
        organisationName: { roles: roles.full },
        businessAddress: { roles: roles.full },
        segment: { roles: all },
        lifecycleStage: { roles: all },
        accountOwnerId: { roles: roles.full },
        consents: { roles: roles.full },
        objectedToDirectMarketing: { roles: roles.full },
        registeredAt: { roles: all },
      },
      indexes: [
        { name: 'subject', keys: [['subjectId', 1]] },
        { name: 'email_blind', keys: [['_blind.email', 1]] },
        { name: 'phone_blind', keys: [['_blind.phone', 1]] },
        { name: 'owner', keys: [['accountOwnerId', 1]] },
        { name: 'segment_stage', keys: [['segment', 1], ['lifecycleStage', 1]] },
        // Pages of a segment, newest first (the commonest list in both departments).
        { name: 'segment_registered', keys: [['segment', 1], ['registeredAt', -1]] },
        { name: 'registered', keys: [['registeredAt', -1]] },
      ],
      // A person customer is their own subject; an organisation has none, only an account owner.
      erasure: { links: ['subjectId', 'accountOwnerId'], own: 'delete' },
    },
    contacts: {
      name: names.contacts,
      fields: {
        _id: { roles: roles.full },
        _position: { roles: [] },
        subjectId: { roles: roles.full },
        customerId: { roles: roles.full },
        name: personal(roles.full),
        email: personal(roles.full, true),
        phone: personal(roles.full, true),
        jobTitle: personal(roles.full),
        consents: { roles: roles.full },
        objectedToDirectMarketing: { roles: roles.full },
      },
      indexes: [
        { name: 'subject', keys: [['subjectId', 1]] },
        { name: 'customer', keys: [['customerId', 1]] },
        { name: 'email_blind', keys: [['_blind.email', 1]] },
        { name: 'phone_blind', keys: [['_blind.phone', 1]] },
      ],
      erasure: { links: ['subjectId'], own: 'delete' },
    },
  };
}

const PERSON_FIELDS = ['name', 'email', 'phone', 'address'] as const;
const CONTACT_FIELDS = ['name', 'email', 'phone', 'jobTitle'] as const;

/** Optional personal fields: absent in the event reads as null in the document. */
const pick = (data: Record<string, unknown>, fields: readonly string[]) =>
  Object.fromEntries(fields.map((f) => [f, data[f] ?? null]));

/** The collection holding a person's consent state: the customer itself, or one of its contacts. */
export const personCollection = (names: PeopleCollections, customerId: string, subjectId: string) =>
  subjectId === customerId ? names.customers : names.contacts;

/** The event types `peopleChanges` handles. */
export const PEOPLE_EVENT_TYPES = [
  'CustomerRegistered',
  'OrganisationRegistered',
  'ContactPersonAdded',
  'ContactPersonRemoved',
  'CustomerDetailsChanged',
  'CustomerReclassified',
  'AccountOwnerAssigned',
  'ConsentGiven',
  'ConsentWithdrawn',
  'DirectMarketingObjected',
] as const;

export function peopleChanges(names: PeopleCollections, e: KnownEvent, position: number, recordedAt: string): DocumentChange[] {
  switch (e.type) {
    case 'CustomerRegistered': {
      const d = e.data;
      return [
        update(names.customers, d.customerId, position, () => ({
          kind: 'person',
          subjectId: d.customerId,
          ...pick(d, PERSON_FIELDS),
          organisationName: null,
          businessAddress: null,
          segment: d.segment,
          lifecycleStage: d.lifecycleStage,
          accountOwnerId: d.accountOwnerId ?? null,
          consents: {},
          objectedToDirectMarketing: false,
          registeredAt: recordedAt,
        })),
      ];
    }
    case 'OrganisationRegistered': {
      const d = e.data;
      return [
        update(names.customers, d.customerId, position, () => ({
          kind: 'organisation',
          subjectId: null,
          name: null,
          email: null,
          phone: null,
          address: null,
          organisationName: d.organisationName,
          businessAddress: d.address ?? null,
          segment: d.segment,
          lifecycleStage: d.lifecycleStage,
          accountOwnerId: d.accountOwnerId ?? null,
          consents: {},
          objectedToDirectMarketing: false,
          registeredAt: recordedAt,
        })),
        ...d.contacts.map((c) => contact(names, d.customerId, c, position)),
      ];
    }
    case 'ContactPersonAdded':
      return [contact(names, e.data.customerId, e.data.contact, position)];
    case 'ContactPersonRemoved':
      return [update(names.contacts, e.data.subjectId, position, () => undefined)];
    case 'CustomerDetailsChanged': {
      const d = e.data as Record<string, unknown>;
      return [
        update(names.customers, e.data.customerId, position, (current) => {
          if (!current) return undefined;
          const next: Record<string, unknown> = { ...current };
          for (const f of PERSON_FIELDS) if (d[f] !== undefined) next[f] = d[f];
          return next;
        }),
      ];
    }
    case 'CustomerReclassified': {
      const d = e.data;
      return [
        update(names.customers, d.customerId, position, (current) =>
          current && {
            ...current,
            ...(d.segment !== undefined ? { segment: d.segment } : {}),
            ...(d.lifecycleStage !== undefined ? { lifecycleStage: d.lifecycleStage } : {}),
          },
        ),
      ];
    }
    case 'AccountOwnerAssigned':
      return [update(names.customers, e.data.customerId, position, (current) => current && { ...current, accountOwnerId: e.data.accountOwnerId })];
    case 'ConsentGiven': {
      const d = e.data;
      return [
        update(personCollection(names, d.customerId, d.subjectId), d.subjectId, position, (current) =>
          current && {
            ...current,
            consents: {
              ...(current.consents as object),
              [d.purpose]: { legalBasis: d.legalBasis, source: d.source, textVersion: d.textVersion, givenAt: recordedAt },
            },
          },
        ),
      ];
    }
    case 'ConsentWithdrawn': {
      const d = e.data;
      return [
        update(personCollection(names, d.customerId, d.subjectId), d.subjectId, position, (current) => {
          if (!current) return undefined;
          const consents: Record<string, unknown> = { ...(current.consents as object) };
          delete consents[d.purpose];
          return { ...current, consents };
        }),
      ];
    }
    case 'DirectMarketingObjected': {
      const d = e.data;
      return [
        update(personCollection(names, d.customerId, d.subjectId), d.subjectId, position, (current) => {
          if (!current) return undefined;
          const consents: Record<string, unknown> = { ...(current.consents as object) };
          for (const purpose of DIRECT_MARKETING_PURPOSES) delete consents[purpose];
          return { ...current, consents, objectedToDirectMarketing: true };
        }),
      ];
    }
    default:
      return [];
  }
}

function contact(
  names: PeopleCollections,
  customerId: string,
  c: { subjectId: string } & Record<string, unknown>,
  position: number,
): DocumentChange {
  return update(names.contacts, c.subjectId, position, () => ({
    subjectId: c.subjectId,
    customerId,
    ...pick(c, CONTACT_FIELDS),
    consents: {},
    objectedToDirectMarketing: false,
  }));
}
