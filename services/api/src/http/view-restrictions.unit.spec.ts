import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalyticsView, salesView } from '@crm/projections';
import { pipelineWithRestrictions, restrictionFilter, withRestrictions } from './view-restrictions.ts';

const deals = salesView.collections.deals!;
const analytics = createAnalyticsView({ pseudonymise: (id) => `p-${id}` });

describe('restriction filters (Art. 18)', () => {
  it('nothing restricted: no filter at all', () => {
    assert.equal(restrictionFilter(deals, { subjectIds: [], pseudonyms: [] }), undefined);
  });

  it('leaves out documents linking to a restricted subject through any link field', () => {
    const filter = restrictionFilter(deals, { subjectIds: ['s1', 's2'], pseudonyms: ['p-s1'] });
    assert.deepEqual(filter, {
      $and: [{ subjectId: { $nin: ['s1', 's2'] } }, { customerId: { $nin: ['s1', 's2'] } }, { ownerId: { $nin: ['s1', 's2'] } }],
    });
  });

  it('analytics: by the view pseudonym, including the internal customer link of deals', () => {
    const restrictions = { subjectIds: ['s1'], pseudonyms: ['p-s1'] };
    assert.deepEqual(restrictionFilter(analytics.collections.customers!, restrictions), { _id: { $nin: ['p-s1'] } });
    assert.deepEqual(restrictionFilter(analytics.collections.deals!, restrictions), { customer: { $nin: ['p-s1'] } });
  });

  it('combines with the caller filter and leads an aggregation', () => {
    const restriction = { subjectId: { $nin: ['s1'] } };
    assert.deepEqual(withRestrictions({ status: 'open' }, restriction), { $and: [{ status: 'open' }, restriction] });
    assert.deepEqual(withRestrictions(undefined, restriction), restriction);
    assert.deepEqual(pipelineWithRestrictions([{ $count: 'n' }], restriction), [{ $match: restriction }, { $count: 'n' }]);
    assert.deepEqual(pipelineWithRestrictions([{ $count: 'n' }], undefined), [{ $count: 'n' }]);
  });
});
