import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SubjectRestricted, SubjectSuppressed } from '@crm/contracts';
import type { PrivacyIndex } from './privacy-index.ts';
import { contactValuesOfCommand, createPrivacyScreen, type SuppressionHasher } from './suppression.ts';

const hash: SuppressionHasher = (field, value) => `${field}:${value.trim().toLowerCase()}`;
const index = (suppressed: string[], restricted: string[] = []) =>
  ({ start: async () => undefined, isSuppressed: (h: string) => suppressed.includes(h), isRestricted: (s: string) => restricted.includes(s) }) as unknown as PrivacyIndex;

describe('suppression screen', () => {
  test('finds the contact values of the commands that bring a person in, with a pointer each', () => {
    assert.deepEqual(contactValuesOfCommand('RegisterOrganisation', { contacts: [{ name: 'A', phone: '+1 555' }, { email: 'b@example.org' }] }), [
      { field: 'email', value: 'b@example.org', pointer: '/contacts/1/email' },
      { field: 'phone', value: '+1 555', pointer: '/contacts/0/phone' },
    ]);
    assert.deepEqual(contactValuesOfCommand('ChangeCustomerDetails', { email: 'b@example.org' }), [], 'only commands that bring a new person in');
  });

  test('an email match is refused in refuse mode, naming the field; a phone alone only flags', async () => {
    const screen = createPrivacyScreen({ index: index(['email:gone@example.org', 'phone:+1 555']), hash, mode: 'refuse' });
    await assert.rejects(
      screen({ type: 'RegisterCustomer', command: { email: 'Gone@example.org', phone: '+1 555' }, subjectIds: [] }),
      (error: unknown) => error instanceof SubjectSuppressed && !error.message.includes('gone@') && error.pointers.join() === '/email,/phone',
    );
    assert.deepEqual(await screen({ type: 'HireEmployee', command: { phone: '+1 555' }, subjectIds: [] }), ['previously-erased']);
    assert.deepEqual(await screen({ type: 'HireEmployee', command: { email: 'other@example.org' }, subjectIds: [] }), []);
  });

  test('flag mode accepts an email match with the flag', async () => {
    const screen = createPrivacyScreen({ index: index(['email:gone@example.org']), hash, mode: 'flag' });
    assert.deepEqual(await screen({ type: 'AddContactPerson', command: { email: 'gone@example.org' }, subjectIds: [] }), ['previously-erased']);
  });

  test('a command naming a restricted subject is refused, unless the privacy service carries out a request with it', async () => {
    const screen = createPrivacyScreen({ index: index([], ['s-1']), hash, mode: 'refuse' });
    await assert.rejects(screen({ type: 'ReclassifyCustomer', command: {}, subjectIds: ['s-2', 's-1'] }), SubjectRestricted);
    assert.deepEqual(await screen({ type: 'ObjectToDirectMarketing', command: {}, subjectIds: ['s-1'], privacyRequestId: 'r-1' }), []);
  });
});
