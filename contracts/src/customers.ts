import { z } from 'zod';
import { email, id, isoDate, line, phone, postalAddress } from './fields.ts';
import { defineCommand, defineEvent } from './messages.ts';

export const SEGMENTS = ['consumer', 'small-business', 'mid-market', 'enterprise', 'public-sector'] as const;
export const LIFECYCLE_STAGES = ['lead', 'prospect', 'customer', 'churned'] as const;
const segment = () => z.enum(SEGMENTS);
const lifecycleStage = () => z.enum(LIFECYCLE_STAGES);

const personDetails = {
  name: line(200),
  email: email().optional(),
  phone: phone().optional(),
  address: postalAddress().optional(),
  dateOfBirth: isoDate().optional(),
};
const PERSON_FIELDS = ['name', 'email', 'phone', 'address', 'dateOfBirth'];

/** In events a personal field may read null: its subject was erased. */
const erasedPersonDetails = {
  name: line(200).nullable(),
  email: email().nullable().optional(),
  phone: phone().nullable().optional(),
  address: postalAddress().nullable().optional(),
  dateOfBirth: isoDate().nullable().optional(),
};

const contactPerson = {
  name: line(200),
  email: email().optional(),
  phone: phone().optional(),
  jobTitle: line(120).optional(),
};
const CONTACT_FIELDS = ['name', 'email', 'phone', 'jobTitle'];
const erasedContactPerson = {
  subjectId: id(),
  name: line(200).nullable(),
  email: email().nullable().optional(),
  phone: phone().nullable().optional(),
  jobTitle: line(120).nullable().optional(),
};

const SALES = ['sales-rep'] as const;

// ── commands ────────────────────────────────────────────────────────────────

export const RegisterCustomer = defineCommand({
  type: 'RegisterCustomer',
  version: 1,
  aggregate: 'customer',
  description: 'Registers a natural person as a customer. The answer carries the new subjectId.',
  roles: SALES,
  schema: z.strictObject({
    ...personDetails,
    segment: segment(),
    lifecycleStage: lifecycleStage().default('lead'),
    accountOwnerId: id().optional().describe('subjectId of the employee who owns the account'),
  }),
  personal: PERSON_FIELDS,
  subjects: ['accountOwnerId'],
});

export const RegisterOrganisation = defineCommand({
  type: 'RegisterOrganisation',
  version: 1,
  aggregate: 'customer',
  description:
    'Registers an organisation as a customer, with its contact persons. Each contact person becomes a data subject of their own.',
  roles: SALES,
  schema: z.strictObject({
    organisationName: line(200),
    address: postalAddress().optional().describe("the organisation's business address (not personal data)"),
    segment: segment(),
    lifecycleStage: lifecycleStage().default('lead'),
    accountOwnerId: id().optional(),
    contacts: z.array(z.strictObject(contactPerson)).max(50).default([]),
  }),
  personal: CONTACT_FIELDS.map((f) => `contacts[].${f}`),
  subjects: ['accountOwnerId'],
});

export const AddContactPerson = defineCommand({
  type: 'AddContactPerson',
  version: 1,
  aggregate: 'customer',
  description: "Adds a contact person to an organisation. The answer carries the contact's new subjectId.",
  roles: SALES,
  schema: z.strictObject({ customerId: id(), ...contactPerson }),
  personal: CONTACT_FIELDS,
});

export const RemoveContactPerson = defineCommand({
  type: 'RemoveContactPerson',
  version: 1,
  aggregate: 'customer',
  description: 'Removes a contact person from an organisation (the history stays, sealed).',
  roles: SALES,
  schema: z.strictObject({ customerId: id(), subjectId: id() }),
  subjects: ['subjectId'],
});

export const ChangeCustomerDetails = defineCommand({
  type: 'ChangeCustomerDetails',
  version: 1,
  aggregate: 'customer',
  description:
    "Changes or rectifies a person customer's details (Art. 16). Only the fields sent change; old values stay in history, sealed.",
  roles: SALES,
  schema: z
    .strictObject({
      customerId: id(),
      name: personDetails.name.optional(),
      email: personDetails.email,
      phone: personDetails.phone,
      address: personDetails.address,
      dateOfBirth: personDetails.dateOfBirth,
    })
    .refine((c) => PERSON_FIELDS.some((f) => f in c), { message: 'must change at least one field', path: [] }),
  personal: PERSON_FIELDS,
  subjects: ['customerId'],
});

export const ReclassifyCustomer = defineCommand({
  type: 'ReclassifyCustomer',
  version: 1,
  aggregate: 'customer',
  description: "Changes a customer's segment or lifecycle stage.",
  roles: SALES,
  schema: z
    .strictObject({ customerId: id(), segment: segment().optional(), lifecycleStage: lifecycleStage().optional() })
    .refine((c) => c.segment !== undefined || c.lifecycleStage !== undefined, {
      message: 'must name a segment or a lifecycleStage',
      path: [],
    }),
});

export const AssignAccountOwner = defineCommand({
  type: 'AssignAccountOwner',
  version: 1,
  aggregate: 'customer',
  description: 'Makes an employee the owner of a customer account.',
  roles: SALES,
  schema: z.strictObject({ customerId: id(), accountOwnerId: id() }),
  subjects: ['accountOwnerId'],
});

// ── events ──────────────────────────────────────────────────────────────────

export const CustomerRegistered = defineEvent({
  type: 'CustomerRegistered',
  version: 1,
  description: 'A natural person became a customer; customerId is their subjectId.',
  schema: z.object({
    customerId: id(),
    ...erasedPersonDetails,
    segment: segment(),
    lifecycleStage: lifecycleStage(),
    accountOwnerId: id().optional(),
  }),
  personal: [{ subject: 'customerId', fields: PERSON_FIELDS }],
  subjects: ['customerId', 'accountOwnerId'],
  creates: ['customerId'],
});

export const OrganisationRegistered = defineEvent({
  type: 'OrganisationRegistered',
  version: 1,
  description: 'An organisation became a customer, with its contact persons.',
  schema: z.object({
    customerId: id(),
    organisationName: line(200),
    address: postalAddress().optional(),
    segment: segment(),
    lifecycleStage: lifecycleStage(),
    accountOwnerId: id().optional(),
    contacts: z.array(z.object(erasedContactPerson)),
  }),
  personal: [{ subject: 'contacts[].subjectId', fields: CONTACT_FIELDS.map((f) => `contacts[].${f}`) }],
  subjects: ['contacts[].subjectId', 'accountOwnerId'],
  creates: ['contacts[].subjectId'],
});

export const ContactPersonAdded = defineEvent({
  type: 'ContactPersonAdded',
  version: 1,
  description: 'A contact person joined an organisation customer.',
  schema: z.object({ customerId: id(), contact: z.object(erasedContactPerson) }),
  personal: [{ subject: 'contact.subjectId', fields: CONTACT_FIELDS.map((f) => `contact.${f}`) }],
  subjects: ['contact.subjectId'],
  creates: ['contact.subjectId'],
});

export const ContactPersonRemoved = defineEvent({
  type: 'ContactPersonRemoved',
  version: 1,
  description: 'A contact person left an organisation customer.',
  schema: z.object({ customerId: id(), subjectId: id() }),
  subjects: ['subjectId'],
});

export const CustomerDetailsChanged = defineEvent({
  type: 'CustomerDetailsChanged',
  version: 1,
  description: "A person customer's details were changed or rectified; absent fields are unchanged.",
  schema: z.object({
    customerId: id(),
    name: erasedPersonDetails.name.optional(),
    email: erasedPersonDetails.email,
    phone: erasedPersonDetails.phone,
    address: erasedPersonDetails.address,
    dateOfBirth: erasedPersonDetails.dateOfBirth,
  }),
  personal: [{ subject: 'customerId', fields: PERSON_FIELDS }],
  subjects: ['customerId'],
});

export const CustomerReclassified = defineEvent({
  type: 'CustomerReclassified',
  version: 1,
  description: "A customer's segment or lifecycle stage changed.",
  schema: z.object({ customerId: id(), segment: segment().optional(), lifecycleStage: lifecycleStage().optional() }),
  subjects: [],
});

export const AccountOwnerAssigned = defineEvent({
  type: 'AccountOwnerAssigned',
  version: 1,
  description: 'An employee became the owner of a customer account.',
  schema: z.object({ customerId: id(), accountOwnerId: id() }),
  subjects: ['accountOwnerId'],
});
