import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldForbidden, Forbidden, type Role, ValidationFailed } from '@crm/contracts';
import type { CollectionDefinition, FieldPolicy } from '@crm/projections';
import { parseFilter, parsePipeline } from '@crm/read-query';
import {
  type AccessContext,
  assertMayUseCollection,
  checkFilter,
  checkPipeline,
  checkSort,
  filterToMongo,
  holdsReadablePersonalValue,
  projectDocument,
  readableFields,
  readablePersonalFields,
  subjectIdsOf,
} from './view-access.ts';

const FULL: Role[] = ['service-agent', 'management'];
const ALL: Role[] = [...FULL, 'guest'];
const personal = (blindIndex = false): FieldPolicy => ({ roles: FULL, personal: { subjectField: 'subjectId' }, ...(blindIndex ? { blindIndex: true } : {}) });

const customers: CollectionDefinition = {
  name: 'service/customers',
  fields: {
    _id: { roles: ALL },
    _position: { roles: [] },
    subjectId: { roles: FULL },
    name: personal(),
    email: personal(true),
    address: personal(),
    segment: { roles: ALL },
    consents: { roles: FULL },
    openedAt: { roles: ALL },
    score: { roles: ['management'] },
  },
  indexes: [],
};

/** A collection whose `_id` only management reads. */
const scores: CollectionDefinition = {
  name: 'service/scores',
  fields: { _id: { roles: ['management'] }, value: { roles: ['service-agent', 'management'] } },
  indexes: [],
};

const MARKER = 'erika.MARKER@example.org';

function ctx(roles: Role[], collection = customers): AccessContext {
  return { view: 'service', collection, roles, blindIndex: (field, value) => `blind(${field}:${value.toLowerCase()})` };
}
const agent = ctx(['service-agent']);
const guest = ctx(['guest']);
const manager = ctx(['management']);

/** Runs `fn`, expects `type`, and checks the error names no value of the query. */
function refused(fn: () => unknown, type: typeof FieldForbidden | typeof ValidationFailed, pointer?: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  const text = JSON.stringify({ message: caught.message, ...caught.extensions() });
  assert.ok(!text.includes('MARKER') && !text.toLowerCase().includes('marker@'), `error echoes a value: ${text}`);
  if (pointer) assert.ok(text.includes(pointer), `error should point at ${pointer}: ${text}`);
  return caught;
}

const filter = (raw: unknown, c: AccessContext) => filterToMongo(checkFilter(parseFilter(raw, '?filter'), c));
const pipeline = (raw: Array<Record<string, unknown>>, c: AccessContext) => checkPipeline(raw, parsePipeline(raw, '?pipeline'), c);

describe('view allow-list: collections and results', () => {
  it('lets a role use a collection when it may read at least one field', () => {
    assertMayUseCollection(customers, ['guest']);
    assertMayUseCollection(customers, ['hr', 'service-agent']);
    assert.throws(() => assertMayUseCollection(customers, ['hr']), Forbidden);
    assert.throws(() => assertMayUseCollection(customers, []), Forbidden);
  });

  it('lists readable fields: never _position, never an undeclared or inherited name', () => {
    assert.deepEqual(readableFields(customers, ['guest']), ['_id', 'segment', 'openedAt']);
    assert.deepEqual(readableFields(customers, ['service-agent']), ['_id', 'subjectId', 'name', 'email', 'address', 'segment', 'consents', 'openedAt']);
    assert.ok(!readableFields(customers, ['management', 'admin']).includes('_position'));
  });

  it('drops every field the caller may not read: _position, _blind, undeclared fields, other roles\' fields', () => {
    const stored = {
      _id: 'c1',
      _position: 42,
      _blind: { email: 'blind(email:x)' },
      subjectId: 's1',
      name: 'Erika',
      email: MARKER,
      segment: 'consumer',
      score: 7,
      surprise: 'not declared',
      constructor: 'inherited name',
    };
    assert.deepEqual(projectDocument(stored, customers, ['guest']), { _id: 'c1', segment: 'consumer' });
    assert.deepEqual(projectDocument(stored, customers, ['service-agent']), { _id: 'c1', subjectId: 's1', name: 'Erika', email: MARKER, segment: 'consumer' });
    assert.deepEqual(projectDocument(stored, customers, ['service-agent', 'management']), {
      _id: 'c1',
      subjectId: 's1',
      name: 'Erika',
      email: MARKER,
      segment: 'consumer',
      score: 7,
    });
    assert.deepEqual(projectDocument(stored, customers, ['hr']), {});
  });

  it('knows which documents hold a readable personal value, and whose', () => {
    const forAgent = readablePersonalFields(customers, ['service-agent']);
    assert.deepEqual(forAgent.map((p) => p.field), ['name', 'email', 'address']);
    assert.deepEqual(readablePersonalFields(customers, ['guest']), []);
    assert.equal(holdsReadablePersonalValue({ _id: 'a', name: null, email: null }, forAgent), false);
    assert.equal(holdsReadablePersonalValue({ _id: 'a', name: { _sealed: 'x' } }, forAgent), true);
    assert.equal(holdsReadablePersonalValue({ _id: 'a', name: 'Erika' }, []), false);
    assert.deepEqual(
      subjectIdsOf([{ subjectId: 's1' }, { subjectId: null }, { subjectId: 's2' }, { subjectId: 's1' }, {}], forAgent),
      ['s1', 's2'],
    );
    const other: CollectionDefinition = {
      name: 'x/y',
      fields: { ownerId: { roles: ALL }, note: { roles: ALL, personal: { subjectField: 'ownerId' } } },
      indexes: [],
    };
    assert.deepEqual(subjectIdsOf([{ ownerId: 'o1', subjectId: 'ignored' }], readablePersonalFields(other, ['guest'])), ['o1']);
  });
});

describe('view allow-list: filters', () => {
  it('passes conditions on readable plain fields, dotted paths decided by their top-level field', () => {
    const raw = { segment: 'consumer', 'consents.newsletter.source': { $exists: true }, openedAt: { $gte: '2025-01-01' } };
    assert.deepEqual(parseFilter(filter(raw, agent)), parseFilter(raw));
    assert.deepEqual(filter({ _id: { $in: ['a', 'b'] } }, guest), { '_id': { $in: ['a', 'b'] } });
  });

  it('refuses a filter on a field the roles may not read with 403 naming the field, never dropping it', () => {
    refused(() => filter({ score: { $gt: 5 } }, agent), FieldForbidden, '?filter/score/$gt');
    refused(() => filter({ subjectId: MARKER }, guest), FieldForbidden, 'subjectId');
    refused(() => filter({ 'consents.newsletter': { $exists: true } }, guest), FieldForbidden, 'consents');
    // Undeclared fields, internal ones and names an object inherits are not readable either.
    refused(() => filter({ surprise: 1 }, manager), FieldForbidden, 'surprise');
    refused(() => filter({ _position: { $gt: 1 } }, manager), FieldForbidden, '_position');
    refused(() => filter({ constructor: 'x' }, manager), FieldForbidden, 'constructor');
    refused(() => filter(JSON.parse('{"__proto__": "x"}'), manager), FieldForbidden, '__proto__');
  });

  it('checks every branch of $and and $or, however deep', () => {
    refused(() => filter({ $or: [{ segment: 'a' }, { $and: [{ openedAt: { $gt: 'x' } }, { score: 1 }] }] }, agent), FieldForbidden, 'score');
    refused(() => filter({ segment: 'a', $and: [{ $or: [{ subjectId: 's' }] }] }, guest), FieldForbidden, 'subjectId');
    assert.deepEqual(filter({ $or: [{ segment: 'a' }, { $and: [{ openedAt: { $gt: 'x' } }, { score: 1 }] }] }, manager), {
      $or: [{ segment: { $eq: 'a' } }, { $and: [{ openedAt: { $gt: 'x' } }, { score: { $eq: 1 } }] }],
    });
  });

  it('checks _id like any field', () => {
    assert.deepEqual(filter({ _id: 'a' }, ctx(['management'], scores)), { _id: { $eq: 'a' } });
    refused(() => filter({ _id: 'a' }, ctx(['service-agent'], scores)), FieldForbidden, '_id');
  });

  it('refuses _blind itself with 403: blind indexes are reached only through the personal field', () => {
    refused(() => filter({ '_blind.email': 'x' }, manager), FieldForbidden, '_blind');
    refused(() => filter({ _blind: { $exists: true } }, manager), FieldForbidden, '_blind');
  });

  it('rewrites equality on a blind-indexed personal field to its blind index: plain value, $eq, $in, inside $or', () => {
    assert.deepEqual(filter({ email: 'Erika@Example.org' }, agent), { '_blind.email': { $eq: 'blind(email:erika@example.org)' } });
    assert.deepEqual(filter({ email: { $eq: 'a@b.c' } }, agent), { '_blind.email': { $eq: 'blind(email:a@b.c)' } });
    assert.deepEqual(filter({ email: { $in: ['a@b.c', 'D@e.f'] } }, agent), { '_blind.email': { $in: ['blind(email:a@b.c)', 'blind(email:d@e.f)'] } });
    assert.deepEqual(filter({ $or: [{ email: 'a@b.c' }, { segment: 'vip' }] }, agent), {
      $or: [{ '_blind.email': { $eq: 'blind(email:a@b.c)' } }, { segment: { $eq: 'vip' } }],
    });
    // The plaintext never reaches the store's filter.
    assert.ok(!JSON.stringify(filter({ email: MARKER }, agent)).includes(MARKER));
  });

  it('refuses every other use of a personal field with 400 naming the field and operator, not the value', () => {
    for (const op of ['$ne', '$gt', '$gte', '$lt', '$lte']) refused(() => filter({ email: { [op]: MARKER } }, agent), ValidationFailed, `?filter/email/${op}`);
    refused(() => filter({ email: { $nin: [MARKER] } }, agent), ValidationFailed, '?filter/email/$nin');
    refused(() => filter({ email: { $exists: true } }, agent), ValidationFailed, '?filter/email/$exists');
    // A personal field without a blind index cannot be filtered at all, even by equality.
    const noIndex = refused(() => filter({ name: MARKER }, agent), ValidationFailed, '?filter/name/$eq');
    assert.match(noIndex.message, /without a blind index/);
    // A blind index covers the whole value: no sub-paths, and strings only.
    refused(() => filter({ 'address.city': 'Berlin' }, agent), ValidationFailed, 'address.city');
    refused(() => filter({ email: null }, agent), ValidationFailed, 'email');
    refused(() => filter({ email: { $in: ['a@b.c', 7] } }, agent), ValidationFailed, '?filter/email/$in/1');
    refused(() => filter({ $or: [{ segment: 'a' }, { email: { $ne: MARKER } }] }, agent), ValidationFailed, 'email');
  });

  it('says 403, not 400, for a personal field the roles may not read: it does not reveal that the field is personal', () => {
    const error = refused(() => filter({ email: { $gt: MARKER } }, guest), FieldForbidden, 'email');
    assert.doesNotMatch(error.message, /personal/);
  });

  it('translates parsed filters back to the same filter', () => {
    const raw = {
      a: 1,
      b: { $ne: null, $lt: 3 },
      c: { $nin: ['x', true] },
      $or: [{ d: { $exists: false } }, { e: { $gte: 'm', $lte: 'z' } }],
    };
    const node = parseFilter(raw);
    assert.deepEqual(parseFilter(filterToMongo(node)), node);
    assert.deepEqual(filterToMongo(parseFilter({})), {});
  });
});

describe('view allow-list: sorts', () => {
  it('allows readable plain fields and _id', () => {
    checkSort([['openedAt', -1], ['segment', 1], ['_id', 1]], guest);
    checkSort([['consents.newsletter.givenAt', 1]], agent);
  });

  it('refuses unreadable and undeclared fields with 403, _blind with 403, personal fields with 400', () => {
    refused(() => checkSort([['openedAt', 1], ['score', -1]], agent), FieldForbidden, '?sort/1');
    refused(() => checkSort([['subjectId', 1]], guest), FieldForbidden, 'subjectId');
    refused(() => checkSort([['nope', 1]], manager), FieldForbidden, 'nope');
    refused(() => checkSort([['_blind.email', 1]], manager), FieldForbidden, '_blind');
    refused(() => checkSort([['name', 1]], agent), ValidationFailed, '?sort/0');
    refused(() => checkSort([['address.city', 1]], agent), ValidationFailed, 'address');
  });
});

describe('view allow-list: pipelines', () => {
  it('passes an aggregation over readable plain fields and rewrites blind-index matches', () => {
    const raw = [
      { $match: { segment: 'consumer', email: 'A@b.c' } },
      { $group: { _id: '$segment', n: { $sum: 1 }, avgScore: { $avg: '$score' } } },
      { $sort: { n: -1 } },
    ];
    assert.deepEqual(pipeline(raw, manager), [
      { $match: { $and: [{ segment: { $eq: 'consumer' } }, { '_blind.email': { $eq: 'blind(email:a@b.c)' } }] } },
      raw[1],
      raw[2],
    ]);
    assert.deepEqual(pipeline([{ $group: { _id: null, n: { $sum: 1 } } }], guest), [{ $group: { _id: null, n: { $sum: 1 } } }]);
    assert.deepEqual(pipeline([{ $match: { openedAt: { $gte: '2025' } } }, { $count: 'n' }], guest), [{ $match: { openedAt: { $gte: '2025' } } }, { $count: 'n' }]);
  });

  it('refuses unreadable fields anywhere before the aggregation with 403: $match, $sort, $group _id, accumulators', () => {
    refused(() => pipeline([{ $match: { score: { $gt: 1 } } }, { $count: 'n' }], agent), FieldForbidden, '?pipeline/0/$match/score');
    refused(() => pipeline([{ $match: { $or: [{ segment: 'a' }, { subjectId: 's' }] } }, { $count: 'n' }], guest), FieldForbidden, 'subjectId');
    refused(() => pipeline([{ $sort: { score: 1 } }, { $count: 'n' }], agent), FieldForbidden, '?pipeline/0/$sort/score');
    refused(() => pipeline([{ $group: { _id: '$score', n: { $sum: 1 } } }], agent), FieldForbidden, '?pipeline/0/$group/_id');
    refused(() => pipeline([{ $group: { _id: '$segment', total: { $sum: '$score' } } }], agent), FieldForbidden, '?pipeline/0/$group/total/$sum');
    refused(() => pipeline([{ $group: { _id: null, avg: { $avg: '$subjectId' } } }], guest), FieldForbidden, 'subjectId');
    refused(() => pipeline([{ $group: { _id: '$_blind.email', n: { $sum: 1 } } }], manager), FieldForbidden, '_blind');
    refused(() => pipeline([{ $group: { _id: '$_position', n: { $sum: 1 } } }], manager), FieldForbidden, '_position');
  });

  it('refuses grouping, accumulating and sorting on personal fields, and non-equality matches on them, with 400', () => {
    refused(() => pipeline([{ $group: { _id: '$email', n: { $sum: 1 } } }], agent), ValidationFailed, '?pipeline/0/$group/_id');
    refused(() => pipeline([{ $group: { _id: '$address.city', n: { $sum: 1 } } }], agent), ValidationFailed, 'address');
    refused(() => pipeline([{ $group: { _id: null, n: { $sum: '$name' } } }], agent), ValidationFailed, '$sum');
    refused(() => pipeline([{ $sort: { name: 1 } }, { $count: 'n' }], agent), ValidationFailed, '$sort');
    refused(() => pipeline([{ $match: { email: { $gt: MARKER } } }, { $count: 'n' }], agent), ValidationFailed, '?pipeline/0/$match/email/$gt');
  });

  it('does not check the outputs of an aggregation as fields: they are group keys and numbers', () => {
    const raw = [
      { $group: { _id: '$segment', total: { $sum: 1 } } },
      { $match: { total: { $gt: 2 } } },
      { $sort: { total: -1 } },
      { $group: { _id: null, groups: { $sum: 1 }, avg: { $avg: '$total' } } },
    ];
    assert.deepEqual(pipeline(raw, guest), raw);
  });

  it('refuses a pipeline that does not aggregate: documents are read as pages', () => {
    refused(() => pipeline([{ $match: { segment: 'a' } }, { $sort: { openedAt: 1 } }], guest), ValidationFailed, '?pipeline');
    refused(() => pipeline([], guest), ValidationFailed, '?pipeline');
  });
});
