import { z } from 'zod';
import { id, line, text } from './fields.ts';
import { defineCommand, defineEvent } from './messages.ts';

export const CASE_CHANNELS = ['email', 'phone', 'chat', 'web', 'in-person'] as const;
export const CASE_RESOLUTIONS = ['solved', 'workaround', 'no-fault-found', 'duplicate', 'withdrawn'] as const;
const AGENTS = ['service-agent'] as const;

export const OpenServiceCase = defineCommand({
  type: 'OpenServiceCase',
  version: 1,
  aggregate: 'service-case',
  description:
    'Opens a service case for a customer. subjectId names the person concerned: the person customer, or a contact person of an organisation.',
  roles: AGENTS,
  schema: z.strictObject({
    customerId: id(),
    subjectId: id().optional().describe("defaults to the person customer's own subjectId; required for organisations"),
    channel: z.enum(CASE_CHANNELS),
    summary: line(300).describe('personal: sealed under the subject concerned'),
    assignedAgentId: id().optional().describe('subjectId of the employee handling the case'),
  }),
  personal: ['summary'],
  subjects: ['customerId', 'subjectId', 'assignedAgentId'],
});

export const AddCaseNote = defineCommand({
  type: 'AddCaseNote',
  version: 1,
  aggregate: 'service-case',
  description: 'Adds a free-text note to a case. The note is personal data of the person concerned.',
  roles: AGENTS,
  schema: z.strictObject({ caseId: id(), text: text(4000), authorAgentId: id().optional() }),
  personal: ['text'],
  subjects: ['authorAgentId'],
});

export const AssignServiceCase = defineCommand({
  type: 'AssignServiceCase',
  version: 1,
  aggregate: 'service-case',
  description: 'Assigns a case to an agent.',
  roles: AGENTS,
  schema: z.strictObject({ caseId: id(), agentId: id() }),
  subjects: ['agentId'],
});

export const ResolveServiceCase = defineCommand({
  type: 'ResolveServiceCase',
  version: 1,
  aggregate: 'service-case',
  description: 'Resolves an open case. A resolved case cannot be resolved again; reopen it first.',
  roles: AGENTS,
  schema: z.strictObject({ caseId: id(), resolution: z.enum(CASE_RESOLUTIONS) }),
});

export const ReopenServiceCase = defineCommand({
  type: 'ReopenServiceCase',
  version: 1,
  aggregate: 'service-case',
  description: 'Reopens a resolved case.',
  roles: AGENTS,
  schema: z.strictObject({ caseId: id() }),
});

export const ServiceCaseOpened = defineEvent({
  type: 'ServiceCaseOpened',
  version: 1,
  description: 'A service case was opened.',
  schema: z.object({
    caseId: id(),
    customerId: id(),
    subjectId: id(),
    channel: z.enum(CASE_CHANNELS),
    summary: line(300).nullable(),
    assignedAgentId: id().optional(),
  }),
  personal: [{ subject: 'subjectId', fields: ['summary'] }],
  subjects: ['subjectId', 'assignedAgentId'],
});

export const CaseNoteAdded = defineEvent({
  type: 'CaseNoteAdded',
  version: 1,
  description: 'A note was added to a case; its text is sealed under the person concerned.',
  schema: z.object({
    caseId: id(),
    noteId: id(),
    subjectId: id(),
    text: text(4000).nullable(),
    authorAgentId: id().optional(),
  }),
  personal: [{ subject: 'subjectId', fields: ['text'] }],
  subjects: ['subjectId', 'authorAgentId'],
});

export const ServiceCaseAssigned = defineEvent({
  type: 'ServiceCaseAssigned',
  version: 1,
  description: 'A case was assigned to an agent.',
  schema: z.object({ caseId: id(), agentId: id() }),
  subjects: ['agentId'],
});

export const ServiceCaseResolved = defineEvent({
  type: 'ServiceCaseResolved',
  version: 1,
  description: 'A case was resolved.',
  schema: z.object({ caseId: id(), resolution: z.enum(CASE_RESOLUTIONS) }),
  subjects: [],
});

export const ServiceCaseReopened = defineEvent({
  type: 'ServiceCaseReopened',
  version: 1,
  description: 'A resolved case was reopened.',
  schema: z.object({ caseId: id() }),
  subjects: [],
});
