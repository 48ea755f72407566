import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blindIndexPath, BLIND_INDEXED_FIELDS, normaliseForBlindIndex } from './view.ts';
import { createAnalyticsView, hrView, salesView, serviceView } from './index.ts';

const views = [serviceView, salesView, hrView, createAnalyticsView({ pseudonymise: (id) => `p:${id}` })];

describe('blind indexes', () => {
  test('emails are trimmed and lower-cased; phone numbers keep a leading + and their digits', () => {
    assert.equal(normaliseForBlindIndex('email', '  Anna.A@Example.COM '), 'anna.a@example.com');
    assert.equal(normaliseForBlindIndex('phone', ' +49 (170) 123-45 67'), '+491701234567');
    assert.equal(normaliseForBlindIndex('phone', '0170 / 123 4567'), '01701234567');
    assert.equal(normaliseForBlindIndex('phone', '49+170'), '49170');
  });
  test('a field without a normalisation is refused, not indexed raw', () => {
    assert.throws(() => normaliseForBlindIndex('name', 'Anna'), /name/);
    assert.throws(() => normaliseForBlindIndex('constructor', 'x'), /constructor/);
  });
  test('every blind-indexed field is personal, has a normalisation and an index on its blind value', () => {
    let seen = 0;
    for (const view of views)
      for (const c of Object.values(view.collections))
        for (const [field, policy] of Object.entries(c.fields)) {
          if (!policy.blindIndex) continue;
          seen++;
          assert.ok(policy.personal, `${c.name}.${field} is blind-indexed but not personal`);
          assert.ok(BLIND_INDEXED_FIELDS.includes(field), `${c.name}.${field} has no normalisation`);
          assert.ok(c.indexes.some((i) => i.keys[0]?.[0] === blindIndexPath(field)), `${c.name} has no index on ${blindIndexPath(field)}`);
        }
    assert.equal(seen, 10); // email and phone of customers and contacts in service and sales, and of employees in hr
  });
});
