import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deletePath, locate, personalFieldsBySubject, readPath, subjectIdsAt, writePath } from './personal-data.ts';
import { OrganisationRegistered } from './customers.ts';

describe('personal field paths', () => {
  const event = {
    customerId: 'org-1',
    organisationName: 'ACME',
    contacts: [
      { subjectId: 's-1', name: 'A', email: 'a@example.org' },
      { subjectId: 's-2', name: 'B', phone: '+49 1' },
    ],
  };

  test('locate follows each element of an array segment and gives concrete paths', () => {
    assert.deepEqual(
      locate(event, 'contacts[].name').map((l) => [l.path, l.value]),
      [
        ['contacts.0.name', 'A'],
        ['contacts.1.name', 'B'],
      ],
    );
    assert.deepEqual(locate(event, 'contacts[].email').map((l) => l.path), ['contacts.0.email']);
    assert.deepEqual(locate(event, 'missing.path'), []);
  });

  test('each contact person’s fields group under that person’s own subject', () => {
    assert.deepEqual(personalFieldsBySubject(event, OrganisationRegistered.personal), [
      { subjectId: 's-1', paths: ['contacts.0.email', 'contacts.0.name'] },
      { subjectId: 's-2', paths: ['contacts.1.name', 'contacts.1.phone'] },
    ]);
  });

  test('subject ids are collected from every path, once each', () => {
    assert.deepEqual(subjectIdsAt({ a: 'x', list: [{ s: 'y' }, { s: 'x' }] }, ['a', 'list[].s']), ['x', 'y']);
  });

  test('read, write and delete by concrete path, and never through the prototype', () => {
    const doc = structuredClone(event) as Record<string, unknown>;
    assert.equal(readPath(doc, 'contacts.1.name'), 'B');
    writePath(doc, 'contacts.1.name', null);
    assert.equal(readPath(doc, 'contacts.1.name'), null);
    deletePath(doc, 'contacts.0.email');
    assert.equal(readPath(doc, 'contacts.0.email'), undefined);
    assert.equal(readPath(doc, '__proto__.toString'), undefined);
    writePath(doc, '__proto__.polluted', 'yes');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
