import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationFailed } from '@crm/contracts';
import { parseFilter } from '@crm/read-query';
import { DEFAULT_VIEW_PAGE_SIZE, parseKpiQuery, parseSortParam, parseViewQuery } from './view-query.ts';

const MARKER = 'erika.MARKER@example.org';

/** Expects a 400 whose first issue points at `pointer` and whose text echoes no value. */
function invalid(query: Record<string, unknown>, pointer: string, reason?: RegExp): void {
  assert.throws(
    () => parseViewQuery(query),
    (error: unknown) => {
      assert.ok(error instanceof ValidationFailed, String(error));
      assert.equal(error.issues[0]?.pointer, pointer);
      if (reason) assert.match(error.issues[0]?.reason ?? '', reason);
      assert.ok(!JSON.stringify({ m: error.message, e: error.extensions() }).includes('MARKER'), 'echoes a value');
      return true;
    },
  );
}

describe('view query parameters', () => {
  it('defaults to a first page of 20 with nothing else set', () => {
    assert.deepEqual(parseViewQuery({}), { limit: DEFAULT_VIEW_PAGE_SIZE });
    assert.equal(DEFAULT_VIEW_PAGE_SIZE, 20);
  });

  it('parses every parameter of a page query', () => {
    const q = parseViewQuery({
      filter: JSON.stringify({ status: 'open', $or: [{ channel: 'email' }, { 'owner.team': { $in: ['a', 'b'] } }] }),
      sort: '-openedAt,name,owner.team',
      limit: '200',
      cursor: 'eyJ2IjoxfQ',
      minPosition: '0',
      purpose: '  Answering ticket 4711  ',
    });
    assert.deepEqual(q.filter, parseFilter({ status: 'open', $or: [{ channel: 'email' }, { 'owner.team': { $in: ['a', 'b'] } }] }));
    assert.deepEqual(q.sort, [['openedAt', -1], ['name', 1], ['owner.team', 1]]);
    assert.equal(q.limit, 200);
    assert.equal(q.cursor, 'eyJ2IjoxfQ');
    assert.equal(q.minPosition, 0);
    assert.equal(q.purpose, 'Answering ticket 4711');
  });

  it('parses a pipeline, kept as given and parsed', () => {
    const raw = [{ $match: { status: 'open' } }, { $group: { _id: '$stage', n: { $sum: 1 }, v: { $avg: '$amount' } } }, { $sort: { n: -1 } }, { $count: 'groups' }];
    const q = parseViewQuery({ pipeline: JSON.stringify(raw), minPosition: '12' });
    assert.deepEqual(q.pipeline?.raw, raw);
    assert.deepEqual(q.pipeline?.stages.map((s) => s.kind), ['match', 'group', 'sort', 'count']);
    assert.equal(q.minPosition, 12);
  });

  it('refuses filters and pipelines that are not JSON, without quoting them', () => {
    invalid({ filter: `{"email": "${MARKER}"` }, '?filter', /not valid JSON/);
    invalid({ filter: MARKER }, '?filter', /not valid JSON/);
    invalid({ pipeline: `[{"$match": {"email": "${MARKER}"}}` }, '?pipeline', /not valid JSON/);
    invalid({ filter: JSON.stringify({ a: 'x'.repeat(20_000) }) }, '?filter', /longer than/);
  });

  it('refuses filters that are not objects and values that are not scalars', () => {
    invalid({ filter: '[1]' }, '?filter', /JSON object/);
    invalid({ filter: '"x"' }, '?filter', /JSON object/);
    invalid({ filter: JSON.stringify({ email: { $eq: { nested: MARKER } } }) }, '?filter/email/$eq');
    invalid({ filter: JSON.stringify({ a: { b: MARKER } }) }, '?filter/a/b', /embedded-document/);
  });

  it('refuses unknown operators, stages and accumulators with 400, never ignoring them', () => {
    invalid({ filter: JSON.stringify({ email: { $regex: MARKER } }) }, '?filter/email/$regex', /unsupported operator/);
    invalid({ filter: JSON.stringify({ $where: 'true' }) }, '?filter/$where', /unsupported top-level operator/);
    invalid({ filter: JSON.stringify({ $nor: [{ a: 1 }] }) }, '?filter/$nor');
    invalid({ filter: JSON.stringify({ $or: [] }) }, '?filter/$or');
    invalid({ filter: JSON.stringify({ 'a..b': 1 }) }, '?filter/a..b', /not a valid field path/);
    invalid({ pipeline: JSON.stringify([{ $lookup: {} }]) }, '?pipeline/0/$lookup', /unsupported stage/);
    invalid({ pipeline: JSON.stringify([{ $group: { _id: '$a', m: { $max: '$b' } } }]) }, '?pipeline/0/$group/m/$max', /unsupported accumulator/);
    invalid({ pipeline: JSON.stringify({ $match: {} }) }, '?pipeline', /array of stages/);
  });

  it('takes limit from 1 to 200 only', () => {
    for (const bad of ['0', '201', '-1', '1.5', 'ten', '', '1e2', ' 5', '99999999999999999999']) invalid({ limit: bad }, '?limit', /1 to 200/);
    assert.equal(parseViewQuery({ limit: '1' }).limit, 1);
  });

  it('takes minPosition as a non-negative integer', () => {
    for (const bad of ['-1', '1.0', 'x', '', '99999999999999999']) invalid({ minPosition: bad }, '?minPosition');
    assert.equal(parseViewQuery({ minPosition: '9007199254740991' }).minPosition, Number.MAX_SAFE_INTEGER);
  });

  it('parses sort as comma-separated paths, - for descending', () => {
    assert.deepEqual(parseSortParam('a'), [['a', 1]]);
    assert.deepEqual(parseSortParam('-a.b,_id'), [['a.b', -1], ['_id', 1]]);
    invalid({ sort: 'a,,b' }, '?sort/1', /not a valid field path/);
    invalid({ sort: '--a' }, '?sort/0');
    invalid({ sort: ' a' }, '?sort/0');
    invalid({ sort: 'a,-a' }, '?sort/1', /twice/);
    invalid({ sort: '[["a",1]]' }, '?sort/0');
    invalid({ sort: 'a,b,c,d,e,f,g,h,i' }, '?sort', /at most 8/);
  });

  it('refuses sort, cursor, limit and filter together with a pipeline', () => {
    const pipeline = JSON.stringify([{ $count: 'n' }]);
    invalid({ pipeline, sort: 'a' }, '?sort', /not with pipeline/);
    invalid({ pipeline, cursor: 'abc' }, '?cursor', /not with pipeline/);
    invalid({ pipeline, limit: '5' }, '?limit', /not with pipeline/);
    invalid({ pipeline, filter: '{}' }, '?filter', /\$match/);
  });

  it('checks cursor and purpose', () => {
    invalid({ cursor: 'not a cursor!' }, '?cursor');
    invalid({ cursor: 'a'.repeat(5000) }, '?cursor');
    invalid({ purpose: '' }, '?purpose');
    invalid({ purpose: '   ' }, '?purpose');
    invalid({ purpose: 'x'.repeat(201) }, '?purpose');
    invalid({ purpose: 'line\nbreak' }, '?purpose');
    assert.equal(parseViewQuery({ purpose: 'x'.repeat(200) }).purpose?.length, 200);
  });

  it('refuses unknown and repeated parameters', () => {
    invalid({ filtr: '{}' }, '?filtr', /unknown query parameter/);
    invalid({ limit: ['5', '6'] }, '?limit', /once/);
    invalid({ filter: ['{}', '{"a":1}'] }, '?filter', /once/);
  });

  it('takes only minPosition for the KPIs', () => {
    assert.deepEqual(parseKpiQuery({}), {});
    assert.deepEqual(parseKpiQuery({ minPosition: '7' }), { minPosition: 7 });
    assert.throws(() => parseKpiQuery({ filter: '{}' }), ValidationFailed);
    assert.throws(() => parseKpiQuery({ minPosition: 'x' }), ValidationFailed);
  });
});
