import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { WrongExpectedVersion, checkExpectedVersion, type EventToAppend } from '@crm/core';
import {
  LINK_EVENT_TYPE,
  LOG_GENESIS_TYPE,
  compareAllPositions,
  decodeAllPosition,
  encodeAllPosition,
  globalPositionOfLogRevision,
  linkTarget,
  logRevisionOfGlobalPosition,
  parseLinkTarget,
  revisionOfVersion,
  toEventData,
  toExpectedRevision,
  toGenesisEvent,
  toLinkEvent,
  toLogEntry,
  toRecordedEvent,
  toWrongExpectedVersion,
  versionOfRevision,
  type EsdbEventShape,
} from './mapping.ts';
import { escapeRegex, randomStreamPrefix, storeNames } from './names.ts';
import { isRefusal } from './eventstoredb-event-store.ts';

const wrongExpected = (expected: bigint | typeof NO_STREAM | typeof ANY | typeof STREAM_EXISTS, current: bigint | typeof NO_STREAM) =>
  new WrongExpectedVersionError(undefined, { streamName: 'p-s', expected, current });

describe('expected version ↔ ESDB revision', () => {
  test('0 and no-stream → NO_STREAM, exists → STREAM_EXISTS, any → ANY, n ≥ 1 → revision n - 1', () => {
    assert.equal(toExpectedRevision(0), NO_STREAM);
    assert.equal(toExpectedRevision('no-stream'), NO_STREAM);
    assert.equal(toExpectedRevision('exists'), STREAM_EXISTS);
    assert.equal(toExpectedRevision('any'), ANY);
    assert.equal(toExpectedRevision(1), 0n);
    assert.equal(toExpectedRevision(2), 1n);
    assert.equal(toExpectedRevision(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER - 1));
  });

  test('refuses what is no expected version', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, 'latest', '3', null] as unknown[]) {
      assert.throws(() => toExpectedRevision(bad as never), RangeError, String(bad));
    }
  });

  test('current revision → 1-based version: NO_STREAM → 0, revision r → r + 1', () => {
    assert.equal(versionOfRevision(NO_STREAM), 0);
    assert.equal(versionOfRevision(0n), 1);
    assert.equal(versionOfRevision(41n), 42);
    assert.equal(revisionOfVersion(1), 0n);
    assert.equal(revisionOfVersion(42), 41n);
    assert.throws(() => revisionOfVersion(0), RangeError);
    assert.throws(() => versionOfRevision(BigInt(Number.MAX_SAFE_INTEGER)), RangeError);
  });

  test('round trip: version n → revision → version n', () => {
    for (const n of [1, 2, 3, 100, 2 ** 40]) {
      const revision = toExpectedRevision(n);
      assert.equal(typeof revision, 'bigint');
      assert.equal(versionOfRevision(revision as bigint), n);
    }
  });
});

describe('WrongExpectedVersionError → WrongExpectedVersion', () => {
  test('keeps the stream id and the expectation as given, makes the actual version 1-based', () => {
    const mapped = toWrongExpectedVersion('s', 3, wrongExpected(2n, 4n));
    assert.ok(mapped instanceof WrongExpectedVersion);
    assert.equal(mapped.streamId, 's');
    assert.equal(mapped.expected, 3);
    assert.equal(mapped.actual, 5);
    assert.equal(mapped.status, 409);
  });

  test('NO_STREAM as the actual revision is version 0', () => {
    const mapped = toWrongExpectedVersion('s', 'exists', wrongExpected(STREAM_EXISTS, NO_STREAM));
    assert.deepEqual([mapped?.expected, mapped?.actual], ['exists', 0]);
    const zero = toWrongExpectedVersion('t', 1, wrongExpected(0n, NO_STREAM));
    assert.deepEqual([zero?.expected, zero?.actual], [1, 0]);
  });

  test('an existing stream met with no-stream or 0 reports its version', () => {
    assert.equal(toWrongExpectedVersion('s', 'no-stream', wrongExpected(NO_STREAM, 0n))?.actual, 1);
    assert.equal(toWrongExpectedVersion('s', 0, wrongExpected(NO_STREAM, 1n))?.expected, 0);
  });

  test('other errors are not mapped', () => {
    assert.equal(toWrongExpectedVersion('s', 1, new Error('boom')), undefined);
    assert.equal(toWrongExpectedVersion('s', 1, new StreamNotFoundError(undefined, 's')), undefined);
  });

  test('the client-side check for empty appends agrees with ESDB', () => {
    const cases: [Parameters<typeof checkExpectedVersion>[1], number, boolean][] = [
      ['any', 0, true], ['any', 3, true],
      ['no-stream', 0, true], ['no-stream', 2, false],
      [0, 0, true], [0, 2, false],
      ['exists', 0, false], ['exists', 1, true],
      [2, 2, true], [1, 2, false], [3, 2, false],
    ];
    for (const [expected, actual, ok] of cases) {
      const run = () => checkExpectedVersion('s', expected, actual);
      if (ok) run();
      else assert.throws(run, (e: unknown) => e instanceof WrongExpectedVersion && e.expected === expected && e.actual === actual);
    }
  });

  test('only refusals free an idempotency claim; lost calls keep it', () => {
    assert.equal(isRefusal(new WrongExpectedVersion('s', 1, 2)), true);
    assert.equal(isRefusal(new RangeError('x')), true);
    assert.equal(isRefusal(new Error('socket hang up')), false);
    assert.equal(isRefusal(wrongExpected(1n, 2n)), false, 'mapped before it gets here');
  });
});

describe('events ↔ ESDB events', () => {
  const event: EventToAppend = {
    eventId: '01900000-0000-7000-8000-00000000000a',
    type: 'CaseOpened',
    schemaVersion: 2,
    data: { title: 'v1.sealed.AAAA', amount: 12.5, nested: { none: null }, list: ['a'] },
    metadata: { subjectIds: ['01900000-0000-7000-8000-000000000001'], commandId: 'c-1', actor: 'agent-7' },
  };

  test('a JSON event with the event id, the data exactly as given, and schemaVersion in the clear metadata', () => {
    const data = toEventData(event);
    assert.equal(data.id, event.eventId);
    assert.equal(data.type, 'CaseOpened');
    assert.equal(data.contentType, 'application/json');
    assert.equal(data.data, event.data, 'the very same payload object: sealed values are passed through untouched');
    assert.deepEqual(data.metadata, { ...event.metadata, schemaVersion: 2 });
  });

  test('absent data is stored as null; a bad schemaVersion is refused', () => {
    assert.equal(toEventData({ ...event, data: undefined }).data, null);
    assert.throws(() => toEventData({ ...event, schemaVersion: 0 }), RangeError);
  });

  test('a resolved ESDB event becomes the RecordedEvent it was appended as', () => {
    const wire = toEventData(event);
    const recorded: EsdbEventShape = {
      streamId: 'p-case-1',
      id: wire.id,
      revision: 4n,
      type: wire.type,
      created: new Date('2025-03-04T05:06:07.089Z'),
      isJson: true,
      // What the client hands back after JSON.parse of what it sent.
      data: JSON.parse(JSON.stringify(wire.data)) as unknown,
      metadata: JSON.parse(JSON.stringify(wire.metadata)) as unknown,
    };
    assert.deepEqual(toRecordedEvent(recorded, 'case-1', 17), {
      ...event,
      streamId: 'case-1',
      streamVersion: 5,
      globalPosition: 17,
      recordedAt: '2025-03-04T05:06:07.089Z',
    });
  });

  test('refuses events this store did not write', () => {
    const base: EsdbEventShape = {
      streamId: 'p-s', id: 'x', revision: 0n, type: 'T', created: new Date(), isJson: true, data: {}, metadata: { subjectIds: [], schemaVersion: 1 },
    };
    assert.doesNotThrow(() => toRecordedEvent(base, 's', 1));
    assert.throws(() => toRecordedEvent({ ...base, isJson: false }, 's', 1), /not JSON/);
    assert.throws(() => toRecordedEvent({ ...base, metadata: undefined }, 's', 1), /no JSON metadata/);
    assert.throws(() => toRecordedEvent({ ...base, metadata: { subjectIds: [] } }, 's', 1), /no schemaVersion/);
  });
});

describe('positions', () => {
  test('global position n is log revision n (revision 0 is the genesis)', () => {
    assert.equal(globalPositionOfLogRevision(1n), 1);
    assert.equal(globalPositionOfLogRevision(123n), 123);
    assert.throws(() => globalPositionOfLogRevision(0n), RangeError);
    assert.equal(logRevisionOfGlobalPosition(0), 0n);
    assert.equal(logRevisionOfGlobalPosition(9), 9n);
    assert.throws(() => logRevisionOfGlobalPosition(-1), RangeError);
    assert.throws(() => logRevisionOfGlobalPosition(1.5), RangeError);
  });

  test('$all positions order by commit then prepare and survive the JSON codec, beyond 2^53', () => {
    const a = { commit: 100n, prepare: 100n };
    const b = { commit: 100n, prepare: 180n };
    const c = { commit: 2n ** 60n, prepare: 2n ** 60n + 5n };
    assert.equal(compareAllPositions(a, b), -1);
    assert.equal(compareAllPositions(b, a), 1);
    assert.equal(compareAllPositions(b, { ...b }), 0);
    assert.equal(compareAllPositions(c, b), 1);
    const encoded = JSON.parse(JSON.stringify(encodeAllPosition(c))) as unknown;
    assert.deepEqual(decodeAllPosition(encoded), c);
    assert.equal(decodeAllPosition({ commit: 1, prepare: '2' }), undefined);
    assert.equal(decodeAllPosition({ commit: '-1', prepare: '2' }), undefined);
    assert.equal(decodeAllPosition(null), undefined);
  });

  test('link events: "revision@stream" with the $all position in their metadata, read back as log entries', () => {
    assert.equal(linkTarget('p-case-1', 7n), '7@p-case-1');
    assert.deepEqual(parseLinkTarget('7@p-case@1'), { revision: 7n, streamName: 'p-case@1' });
    assert.equal(parseLinkTarget('x@s'), undefined);

    const position = { commit: 2n ** 55n, prepare: 2n ** 55n };
    const link = toLinkEvent({ streamId: 'p-case-1', revision: 7n, id: 'e-1', position });
    assert.equal(link.type, LINK_EVENT_TYPE);
    assert.equal(link.contentType, 'application/octet-stream');
    assert.equal(Buffer.from(link.data as Uint8Array).toString('utf8'), '7@p-case-1');
    // As the client hands it back: binary data, metadata parsed from JSON.
    const entry = toLogEntry({
      streamId: 'p-$crm-log', id: 'l', revision: 3n, type: link.type, created: new Date(), isJson: false,
      data: link.data, metadata: JSON.parse(JSON.stringify(link.metadata)) as unknown,
    });
    assert.deepEqual(entry, { kind: 'link', revision: 3n, target: '7@p-case-1', position });

    const genesis = toGenesisEvent({ commit: 10n, prepare: 9n });
    assert.equal(genesis.type, LOG_GENESIS_TYPE);
    const start = toLogEntry({
      streamId: 'p-$crm-log', id: 'g', revision: 0n, type: LOG_GENESIS_TYPE, created: new Date(), isJson: true,
      data: JSON.parse(JSON.stringify(genesis.data)) as unknown, metadata: undefined,
    });
    assert.deepEqual(start, { kind: 'genesis', revision: 0n, anchor: { commit: 10n, prepare: 9n } });
    assert.deepEqual(toLogEntry({ ...start, streamId: 'x', id: 'g', type: LOG_GENESIS_TYPE, created: new Date(), isJson: true, data: JSON.parse(JSON.stringify(toGenesisEvent(undefined).data)) as unknown, metadata: undefined }), { kind: 'genesis', revision: 0n, anchor: undefined });
  });
});

describe('stream names', () => {
  test('port streams under the prefix; the store’s own streams after a $ that no port stream id may start with', () => {
    const names = storeNames('t-1-');
    assert.equal(names.stream('case-1'), 't-1-case-1');
    assert.equal(names.log, 't-1-$crm-log');
    assert.equal(names.idempotency('key-1'), 't-1-$crm-idempotency-key-1');
    assert.equal(names.streamIdOf('t-1-case-1'), 'case-1');
    assert.equal(names.streamIdOf('t-1-$crm-log'), undefined);
    assert.equal(names.streamIdOf('t-2-case-1'), undefined);
    assert.equal(names.streamIdOf('t-1-'), undefined);
    assert.throws(() => names.stream('$ce-case'), RangeError);
    assert.throws(() => names.stream(''), RangeError);
    assert.throws(() => storeNames('-bad'), RangeError);
    assert.throws(() => storeNames('a b'), RangeError);
  });

  test('without a prefix the port streams are the ESDB streams and the store’s own are system streams', () => {
    const names = storeNames();
    assert.equal(names.stream('customer-1'), 'customer-1');
    assert.equal(names.log, '$crm-log');
    assert.equal(names.streamIdOf('$$customer-1'), undefined, 'metadata streams are not port streams');
    assert.equal(names.streamIdOf('$ce-customer'), undefined);
  });

  test('the wake-up filter matches port streams and the log, nothing else', () => {
    const names = storeNames('t.1-');
    const regex = new RegExp(names.wakeFilterRegex);
    assert.ok(regex.test('t.1-case-1'));
    assert.ok(regex.test('t.1-$crm-log'));
    assert.ok(!regex.test('t.1-$crm-idempotency-k'));
    assert.ok(!regex.test('tx1-case-1'), 'the dot is literal');
    assert.ok(!regex.test('other-case-1'));
    assert.ok(!regex.test('$$t.1-case-1'));
    assert.equal(escapeRegex('a.b$c-d'), 'a\\.b\\$c\\-d');
    const random = randomStreamPrefix('it');
    assert.match(random, /^it-[0-9a-f]{16}-$/);
    assert.doesNotThrow(() => storeNames(random));
  });
});
