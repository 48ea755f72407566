import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldRecipients, type FieldRecipient } from './field-recipients.ts';
import { history, ids } from './fixtures.ts';
import { createAnalyticsView, hrView, salesView, serviceView } from './index.ts';

const views = [serviceView, salesView, hrView, createAnalyticsView({ pseudonymise: (id) => `p:${id}` })];
const events = history();
const first = (type: string, where: (data: Record<string, unknown>) => boolean = () => true) => {
  const found = events.find((e) => e.type === type && where(e.data as Record<string, unknown>));
  assert.ok(found, type);
  return found;
};
const names = (recipients: FieldRecipient[] | undefined) => (recipients ?? []).map((r) => `${r.collection}.${r.field}`).sort();

describe('fieldRecipients', () => {
  test('a customer registration: each personal field reaches the customer documents that hold it, with their roles', () => {
    const found = fieldRecipients(views, first('CustomerRegistered'), ['email', 'dateOfBirth', 'address', 'segment']);
    assert.deepEqual(names(found.get('email')), ['sales/customers.email', 'service/customers.email']);
    const email = found.get('email')!.find((r) => r.collection === 'service/customers');
    assert.deepEqual(email?.roles, ['service-agent', 'management']);
    // Derived values count: the analytics view keeps an age band and a region, never the value.
    assert.deepEqual(names(found.get('dateOfBirth')), ['analytics/customers.ageBand']);
    assert.deepEqual(names(found.get('address')), ['analytics/customers.region', 'sales/customers.address', 'service/customers.address']);
    assert.ok(names(found.get('segment')).includes('analytics/customers.segment'));
  });

  test('a change of details reaches the documents it updates; a contact person reaches the contact documents only', () => {
    const changed = fieldRecipients(views, first('CustomerDetailsChanged'), ['phone']);
    assert.deepEqual(names(changed.get('phone')), ['sales/customers.phone', 'service/customers.phone']);
    const org = fieldRecipients(views, first('OrganisationRegistered'), ['contacts.0.name', 'contacts.0.jobTitle']);
    assert.deepEqual(names(org.get('contacts.0.name')), ['sales/contacts.name', 'service/contacts.name']);
    assert.deepEqual(names(org.get('contacts.0.jobTitle')), ['sales/contacts.jobTitle', 'service/contacts.jobTitle']);
  });

  test('HR data reaches the HR view (and analytics only generalised); a note reaches the service view alone', () => {
    const hired = fieldRecipients(views, first('EmployeeHired', (d) => d.employeeId === ids.rep), ['salaryBand', 'name']);
    assert.ok(names(hired.get('salaryBand')).every((n) => n.startsWith('hr/')), names(hired.get('salaryBand')).join());
    assert.ok(names(hired.get('name')).length > 0);
    assert.ok(hired.get('name')!.every((r) => r.view === 'hr'));
    const note = fieldRecipients(views, first('CaseNoteAdded'), ['text']);
    assert.deepEqual(names(note.get('text')), ['service/case-notes.text']);
  });

  test('a consent reaches the consent state and the marketing list; a path no view reads reaches nothing', () => {
    const consent = fieldRecipients(views, first('ConsentGiven'), ['source', 'purpose', 'nothing.here']);
    assert.ok(names(consent.get('source')).includes('service/customers.consents'));
    assert.ok(names(consent.get('purpose')).includes('sales/marketing-lists.purpose'));
    assert.deepEqual(consent.get('nothing.here'), []);
  });
});
