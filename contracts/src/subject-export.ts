/**
 * The export of everything held on one data subject (Art. 15 access, Art. 20 portability):
 * the schema of the JSON document `GET /v1/privacy/subjects/{subjectId}/export` streams,
 * and the declarations it is built from. `docs/subject-export.md` describes it for
 * people; `subjectExportJsonSchema()` gives it as JSON Schema (also in
 * `docs/subject-export.schema.json`, checked against this file by a unit test).
 */
import { z } from 'zod';
import { LEGAL_BASES } from './consent.ts';

export const SUBJECT_EXPORT_FORMAT = 'crm-subject-export';
export const SUBJECT_EXPORT_FORMAT_VERSION = 1;

/** The kinds of record a data subject can have here. */
export const SUBJECT_KINDS = ['customer', 'contact-person', 'employee'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** The event that brings each kind of subject into being (its contract's `creates`). */
export const SUBJECT_KIND_BY_CREATING_EVENT: Readonly<Record<string, SubjectKind>> = {
  CustomerRegistered: 'customer',
  OrganisationRegistered: 'contact-person',
  ContactPersonAdded: 'contact-person',
  EmployeeHired: 'employee',
};

/**
 * Where the personal data a command records comes from (Art. 15(1)(g)): given by the person
 * themselves (through whoever typed it in), or recorded by staff about them. Consent
 * records name their own channel (`source`) instead. A command missing here reads as
 * `unknown`; a unit test keeps every command that carries personal fields listed.
 */
export const DATA_SOURCE_BY_COMMAND: Readonly<Record<string, 'data-subject' | 'staff'>> = {
  RegisterCustomer: 'data-subject',
  RegisterOrganisation: 'data-subject',
  AddContactPerson: 'data-subject',
  ChangeCustomerDetails: 'data-subject',
  HireEmployee: 'data-subject',
  OpenServiceCase: 'data-subject',
  AddCaseNote: 'staff',
  RemoveContactPerson: 'staff',
  ReclassifyCustomer: 'staff',
  AssignAccountOwner: 'staff',
  AssignServiceCase: 'staff',
  ResolveServiceCase: 'staff',
  ReopenServiceCase: 'staff',
  OpenDeal: 'staff',
  MoveDealStage: 'staff',
  WinDeal: 'staff',
  LoseDeal: 'staff',
  ChangeEmployeePosition: 'staff',
  RecordAbsence: 'staff',
  EndEmployment: 'staff',
};

export const DATA_SOURCE_DESCRIPTIONS = {
  'data-subject': 'provided by the data subject',
  staff: 'recorded by staff',
  'consent-record': 'given by the data subject through the channel named',
  unknown: 'not recorded',
} as const;

const isoTime = z.iso.datetime({ offset: true });
const position = z.number().int().nonnegative();

export const ExportDataSource = z
  .object({
    kind: z.enum(['data-subject', 'staff', 'consent-record', 'unknown']),
    description: z.string(),
    command: z.string().optional().describe('the command that recorded the event'),
    channel: z.string().optional().describe("a consent record's source: web-form, email, phone-call, …"),
  })
  .describe('Where the data came from (Art. 15(1)(g))');

export const ExportedField = z
  .object({
    path: z.string().describe('where the value sits in the event, array indexes concrete: `contacts.1.email`'),
    field: z.string().describe('key into `processing`: `<EventType>.<declared path>`, e.g. `OrganisationRegistered.contacts[].email`'),
    personal: z.boolean().describe("true: personal data sealed under the subject's key; false: a non-personal fact about the subject"),
    value: z.unknown().describe('decrypted'),
  })
  .describe('One value recorded in an event');

export const ExportedEvent = z
  .object({
    eventId: z.string(),
    type: z.string(),
    streamId: z.string(),
    streamVersion: position,
    position: position.describe('global position in the event store'),
    recordedAt: isoTime,
    about: z
      .boolean()
      .describe('true when the event is about the subject (its non-personal fields are theirs too); false when it only names them'),
    namedAt: z.array(z.string()).describe("paths where the subject's id appears in the event"),
    source: ExportDataSource,
    legalBasis: z.enum(LEGAL_BASES).optional().describe('where the event records one (consent records)'),
    fields: z.array(ExportedField),
  })
  .describe('One event, as recorded: rectified values keep their own entry, so the history is visible');

export const CurrentRecord = z
  .object({
    streamId: z.string(),
    item: z.string().optional().describe('one item of the record kept apart, e.g. `consent:marketing-email`'),
    lastEvent: z.string(),
    position: position,
    updatedAt: isoTime,
    values: z.record(z.string(), z.unknown()).describe('field (relative to the subject, e.g. `email`) → its latest value'),
  })
  .describe('The current values of one record: the fold of the events above, latest value per field');

export const ViewRecipient = z.object({
  view: z.string(),
  collection: z.string(),
  field: z.string().describe('the view field the value (or something derived from it) is written to'),
  roles: z.array(z.string()).describe('the roles allowed to read that field'),
});

/** What a retention rule says about one item; supplied by the retention declarations when they exist. */
export const RetentionStatement = z.object({
  rule: z.string().describe('the rule, in words'),
  period: z.string().optional().describe('ISO 8601 duration, e.g. P5Y'),
  from: z.string().optional().describe('the event the period runs from, e.g. case closed'),
  then: z.string().optional().describe('what happens when it ends: erase, anonymise'),
  legalBasis: z.string().optional(),
});
export type RetentionStatement = z.infer<typeof RetentionStatement>;

export const ProcessingEntry = z
  .object({
    eventType: z.string(),
    field: z.string().describe('declared path in the event'),
    personal: z.boolean(),
    purposes: z.array(z.object({ view: z.string().optional(), purpose: z.string() })),
    recipients: z.object({
      views: z.array(ViewRecipient).describe('read models the value reaches, with the roles that may read it there'),
      topics: z.array(z.string()).describe('bus topics the event (sealed) was published to'),
    }),
    retention: z
      .array(RetentionStatement)
      .describe('the declared retention rules that can govern it (which one does depends on the account: see the record of processing); empty: none declared'),
  })
  .describe('Why a field is processed and who receives it (Art. 15(1)(a)–(d))');

export const SubjectExportDocument = z
  .object({
    format: z.literal(SUBJECT_EXPORT_FORMAT),
    formatVersion: z.literal(SUBJECT_EXPORT_FORMAT_VERSION),
    subject: z.object({
      subjectId: z.uuid(),
      kinds: z.array(z.enum(SUBJECT_KINDS)),
      exportedAt: isoTime,
      asOfPosition: position.describe('the event store head when the export began; later events are not in it'),
      erased: z
        .object({ erasedAt: isoTime.nullable(), requestId: z.string().nullable() })
        .nullable()
        .describe("set when the subject's key was destroyed: nothing of theirs can be opened any more, and the export holds no values"),
    }),
    records: z.array(ExportedEvent).describe('every event naming the subject, in global order'),
    relatedEvents: z
      .array(ExportedEvent)
      .describe("events of the subject's own service cases and deals that name no data subject (case resolved, deal won): non-personal facts"),
    current: z.array(CurrentRecord),
    processing: z.record(z.string(), ProcessingEntry).describe('keyed by `ExportedField.field`'),
    summary: z.object({
      records: position,
      relatedEvents: position,
      firstPosition: position.nullable(),
      lastPosition: position.nullable(),
    }),
  })
  .describe('Everything held on one data subject, decrypted (GDPR Art. 15 and 20)');

export type SubjectExport = z.infer<typeof SubjectExportDocument>;
export type ExportedEvent = z.infer<typeof ExportedEvent>;
export type ExportedField = z.infer<typeof ExportedField>;
export type CurrentRecord = z.infer<typeof CurrentRecord>;
export type ProcessingEntry = z.infer<typeof ProcessingEntry>;
export type ExportDataSource = z.infer<typeof ExportDataSource>;

/** The export's JSON Schema (2020-12), generated from the zod schema above as the OpenAPI document is. */
export function subjectExportJsonSchema(): Record<string, unknown> {
  const { $schema, ...schema } = z.toJSONSchema(SubjectExportDocument, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, $id: 'urn:crm:schema:subject-export:1', title: 'CRM subject export', ...schema };
}
