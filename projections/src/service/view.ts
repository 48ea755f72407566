/**
 * Service view: customers with their contact channels and consent state, contact persons,
 * service cases with their assigned agent, and case notes. Service agents and management
 * read it all; guests read a minimal, non-personal slice.
 */
import type { Role } from '@crm/contracts';
import type { CollectionDefinition, ProjectedEvent, ViewDefinition, Change, KnownEvent } from '../view.ts';
import { update } from '../view.ts';
import { PEOPLE_EVENT_TYPES, peopleChanges, peopleCollections } from '../shared/people.ts';

const FULL: Role[] = ['service-agent', 'management'];
const ALL: Role[] = [...FULL, 'guest'];
const personal = { roles: FULL, personal: { subjectField: 'subjectId' } };

export const SERVICE_COLLECTIONS = {
  customers: 'service/customers',
  contacts: 'service/contacts',
  cases: 'service/cases',
  notes: 'service/case-notes',
} as const;

const people = peopleCollections(SERVICE_COLLECTIONS, { full: FULL, minimal: ['guest'] });

const cases: CollectionDefinition = {
  name: SERVICE_COLLECTIONS.cases,
  fields: {
    _id: { roles: ALL },
    _position: { roles: [] },
    customerId: { roles: FULL },
    subjectId: { roles: FULL },
    channel: { roles: ALL },
    summary: personal,
    status: { roles: ALL },
    resolution: { roles: ALL },
    assignedAgentId: { roles: FULL },
    openedAt: { roles: ALL },
    resolvedAt: { roles: ALL },
    noteCount: { roles: FULL },
  },
  indexes: [
    { name: 'subject', keys: [['subjectId', 1]] },
    { name: 'customer', keys: [['customerId', 1], ['openedAt', -1]] },
    { name: 'agent_status', keys: [['assignedAgentId', 1], ['status', 1]] },
    { name: 'status', keys: [['status', 1], ['openedAt', -1]] },
  ],
  // The case stays (channel, status, dates count in service figures); who it was about goes.
  erasure: { links: ['subjectId', 'customerId', 'assignedAgentId'], own: 'scrub' },
};

const notes: CollectionDefinition = {
  name: SERVICE_COLLECTIONS.notes,
  fields: {
    _id: { roles: FULL },
    _position: { roles: [] },
    caseId: { roles: FULL },
    subjectId: { roles: FULL },
    text: personal,
    authorAgentId: { roles: FULL },
    addedAt: { roles: FULL },
  },
  indexes: [
    { name: 'case', keys: [['caseId', 1], ['addedAt', 1]] },
    { name: 'subject', keys: [['subjectId', 1]] },
  ],
  erasure: { links: ['subjectId', 'authorAgentId'], own: 'delete' },
};

export const serviceView: ViewDefinition = {
  name: 'service',
  version: 1,
  purpose:
    'Customer service: reach the customer on the channels they gave, respect their consent, and handle their service cases (Art. 6(1)(b) performance of contract).',
  collections: { customers: people.customers, contacts: people.contacts, cases, notes },
  eventTypes: new Set([...PEOPLE_EVENT_TYPES, 'ServiceCaseOpened', 'CaseNoteAdded', 'ServiceCaseAssigned', 'ServiceCaseResolved', 'ServiceCaseReopened']),
  evolve(event: ProjectedEvent): Change[] {
    const e = event as unknown as KnownEvent;
    const { globalPosition: pos, recordedAt } = event;
    const C = SERVICE_COLLECTIONS.cases;
    switch (e.type) {
      case 'ServiceCaseOpened': {
        const d = e.data;
        return [
          update(C, d.caseId, pos, () => ({
            customerId: d.customerId,
            subjectId: d.subjectId,
            channel: d.channel,
            summary: d.summary,
            status: 'open',
            resolution: null,
            assignedAgentId: d.assignedAgentId ?? null,
            openedAt: recordedAt,
            resolvedAt: null,
            noteCount: 0,
          })),
        ];
      }
      case 'CaseNoteAdded': {
        const d = e.data;
        return [
          update(SERVICE_COLLECTIONS.notes, d.noteId, pos, () => ({
            caseId: d.caseId,
            subjectId: d.subjectId,
            text: d.text,
            authorAgentId: d.authorAgentId ?? null,
            addedAt: recordedAt,
          })),
          update(C, d.caseId, pos, (current) => current && { ...current, noteCount: ((current.noteCount as number) ?? 0) + 1 }),
        ];
      }
      case 'ServiceCaseAssigned':
        return [update(C, e.data.caseId, pos, (current) => current && { ...current, assignedAgentId: e.data.agentId })];
      case 'ServiceCaseResolved':
        return [
          update(C, e.data.caseId, pos, (current) => current && { ...current, status: 'resolved', resolution: e.data.resolution, resolvedAt: recordedAt }),
        ];
      case 'ServiceCaseReopened':
        return [update(C, e.data.caseId, pos, (current) => current && { ...current, status: 'open', resolution: null, resolvedAt: null })];
      default:
        return peopleChanges(SERVICE_COLLECTIONS, e, pos, recordedAt);
    }
  },
};
