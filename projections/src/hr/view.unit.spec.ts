import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hrView, HR_COLLECTIONS as H } from './view.ts';
import { history, ids } from '../fixtures.ts';
import { get, project, projectTwice, undeclaredFields } from '../testing.ts';

describe('hr view', () => {
  test('personnel file and absences', () => {
    const store = project(hrView, history());
    const rita = get(store, H.employees, ids.rep)!;
    assert.equal(rita.subjectId, ids.rep);
    assert.equal(rita.name, 'Rita Rep');
    assert.equal(rita.status, 'left');
    assert.equal(rita.endReason, 'resignation');
    assert.equal(get(store, H.absences, ids.absence)?.kind, 'sick-leave');
    const sam = get(store, H.employees, ids.rep2)!;
    assert.deepEqual([sam.status, sam.department, sam.position, sam.salaryBand], ['employed', 'Key accounts', 'Key account manager', 'B6']);
  });
  test('replaying an event changes nothing', () => {
    assert.deepEqual(projectTwice(hrView, history()), project(hrView, history()));
  });
  test('erased history: personal fields null, facts intact', () => {
    const store = project(hrView, history(true));
    const rita = get(store, H.employees, ids.rep)!;
    for (const f of ['name', 'email', 'phone', 'address', 'dateOfBirth', 'salaryBand', 'endReason']) assert.equal(rita[f], null, f);
    assert.equal(rita.department, 'Sales');
    assert.equal(rita.endDate, '2025-05-31');
    assert.equal(get(store, H.absences, ids.absence)?.from, '2025-03-01');
  });
  test('every field of every document is declared; only hr and management read it', () => {
    assert.deepEqual(undeclaredFields(hrView, project(hrView, history())), []);
    for (const c of Object.values(hrView.collections))
      for (const p of Object.values(c.fields)) assert.ok(p.roles.every((r) => r === 'hr' || r === 'management'));
  });
});
