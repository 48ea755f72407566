import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventContracts } from './catalogue.ts';
import { personalDataCategoryOf } from './personal-data-categories.ts';

describe('categories of personal data', () => {
  test('every personal field of every event is in a category', () => {
    for (const contract of eventContracts.values()) {
      for (const field of contract.personal.flatMap((g) => g.fields)) {
        assert.notEqual(personalDataCategoryOf(`${contract.type}.${field}`).id, 'uncategorised', `${contract.type}.${field}`);
      }
    }
  });

  test('qualified names win over leaf names; array paths match by their leaf', () => {
    assert.equal(personalDataCategoryOf('EmploymentEnded.reason').id, 'employment');
    assert.equal(personalDataCategoryOf('PrivacyRequestReceived.reason').id, 'privacy-correspondence');
    assert.equal(personalDataCategoryOf('AbsenceRecorded.kind').special, true);
    assert.equal(personalDataCategoryOf('OrganisationRegistered.contacts[].email').id, 'contact-details');
    assert.equal(personalDataCategoryOf('hr/absences.kind').id, 'health');
    assert.equal(personalDataCategoryOf('SomethingNew.shoeSize').id, 'uncategorised');
  });
});
