import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type kafkajs from 'kafkajs';
import { createLogger, type RecordedEvent } from '@crm/core';
import { createKafkaConsumer, createKafkaPublisher, DEAD_LETTER_HEADERS, parseKafkaUrl } from '@crm/kafka';
import { engineEnv, needs } from '../support/engines.ts';
import { scanBytes, scanFiles } from '../support/raw-scan.ts';
import { groupCaughtUp, readTopic, testKafka, waitUntil } from './kafka-topics.ts';

/** Events shaped as the store keeps them: clear `plain`, one sealed value per subject. */
function sealedEvents(count: number, streams: string[], firstPosition = 1): RecordedEvent[] {
  const versions = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const streamId = streams[i % streams.length]!;
    const streamVersion = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, streamVersion);
    const subjectId = randomUUID();
    return {
      eventId: randomUUID(),
      type: 'CaseNoteAdded',
      schemaVersion: 1,
      data: { plain: { caseId: streamId }, sealed: [{ subjectId, paths: ['text'], value: randomBytes(48).toString('base64url') }] },
      metadata: { subjectIds: [subjectId], commandType: 'AddCaseNote' },
      streamId,
      streamVersion,
      globalPosition: firstPosition + i,
      recordedAt: new Date().toISOString(),
    };
  });
}

describe('Kafka bus adapter', needs('kafka'), () => {
  const url = engineEnv.kafkaUrl!;
  const brokers = () => parseKafkaUrl(url);
  const run = randomBytes(4).toString('hex');
  let kafka: kafkajs.Kafka;
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });

  before(() => {
    kafka = testKafka(url);
  });

  /** Consumes in `group` until `done()`; returns once the consumer has stopped. */
  async function consumeUntil(topic: string, group: string, handle: (e: RecordedEvent) => Promise<void>, done: () => boolean | Promise<boolean>, options: { maxAttempts?: number } = {}) {
    const consumer = createKafkaConsumer({ brokers: brokers(), clientId: `test-${run}`, topic, partitions: 3, retryDelayMs: 10, logger, ...options });
    const stop = new AbortController();
    const consuming = consumer.consume({ group, handle, signal: stop.signal });
    try {
      await Promise.race([waitUntil(done, 60_000, () => `${group} did not finish`), consuming]);
    } finally {
      stop.abort();
      await consuming;
    }
  }

  test('each message: key = stream id, the clear headers, the event as stored as value; per-stream order', { timeout: 60_000 }, async () => {
    const topic = `crm-bus-headers-${run}`;
    const publisher = createKafkaPublisher({ brokers: brokers(), clientId: `test-${run}`, topic, partitions: 3, logger });
    const events = sealedEvents(9, ['case-a', 'case-b', 'case-c']);
    try {
      await publisher.publish(events.slice(0, 4));
      await publisher.publish(events.slice(4));
    } finally {
      await publisher.close();
    }
    const records = await readTopic(kafka, topic, 9);
    assert.equal(records.length, 9);
    const partitionOf = new Map<string, number>();
    for (const record of records) {
      const event = events.find((e) => e.eventId === record.headers['crm-event-id'])!;
      assert.ok(event, 'every message is one of the published events');
      assert.equal(record.key?.toString(), event.streamId);
      assert.deepEqual(record.headers, {
        'crm-event-type': 'CaseNoteAdded',
        'crm-schema-version': '1',
        'crm-global-position': String(event.globalPosition),
        'crm-stream-version': String(event.streamVersion),
        'crm-event-id': event.eventId,
        'crm-subject-ids': event.metadata.subjectIds.join(','),
        'crm-recorded-at': event.recordedAt,
      });
      assert.deepEqual(JSON.parse(record.value!.toString()), event, 'the value is the stored event, sealed data untouched');
      assert.equal(partitionOf.get(event.streamId) ?? record.partition, record.partition, 'one stream, one partition');
      partitionOf.set(event.streamId, record.partition);
    }
    for (const stream of ['case-a', 'case-b', 'case-c']) {
      const versions = records.filter((r) => r.key?.toString() === stream).sort((a, b) => Number(a.offset) - Number(b.offset)).map((r) => Number(r.headers['crm-stream-version']));
      assert.deepEqual(versions, [1, 2, 3], `${stream} in order`);
    }
  });

  test('poison messages go to the dead-letter topic with their position only, and the consumer carries on', { timeout: 90_000 }, async () => {
    const topic = `crm-bus-poison-${run}`;
    const poisonMarker = `Pm${randomBytes(6).toString('hex')}`;
    const group = `poison-${run}`;
    const publisher = createKafkaPublisher({ brokers: brokers(), clientId: `test-${run}`, topic, partitions: 3, logger });
    const before = sealedEvents(3, ['case-p']);
    const later = sealedEvents(3, ['case-p'], 4).map((e, i) => ({ ...e, streamVersion: 4 + i }));
    const producer = kafka.producer();
    try {
      await publisher.publish(before);
      await producer.connect();
      // Garbage on the partition of case-p, between its events: not JSON; and a real event stripped of its headers.
      const caseP = (await readTopic(kafka, topic, 3))[0]!.partition;
      await producer.send({ topic, messages: [{ partition: caseP, key: poisonMarker, value: `not json ${poisonMarker} <${poisonMarker}@example.org>`, headers: { 'x-note': poisonMarker } }] });
      await producer.send({ topic, messages: [{ partition: caseP, key: 'case-p', value: JSON.stringify({ ...before[0], eventId: randomUUID(), note: poisonMarker }) }] });
      await publisher.publish(later);
    } finally {
      await producer.disconnect();
      await publisher.close();
    }

    const handled: RecordedEvent[] = [];
    await consumeUntil(topic, group, async (e) => void handled.push(e), () => handled.length >= 6 && groupCaughtUp(kafka, group, topic));
    assert.deepEqual(handled.map((e) => e.streamVersion), [1, 2, 3, 4, 5, 6], 'the events around the poison, in order');
    assert.equal(await groupCaughtUp(kafka, group, topic), true, 'offsets committed past the poison');

    const letters = await readTopic(kafka, `${topic}.dlq`, 2);
    assert.equal(letters.length, 2);
    assert.deepEqual(letters.map((l) => l.headers[DEAD_LETTER_HEADERS.kind]).sort(), ['missing-header', 'not-json']);
    for (const letter of letters) {
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.reason], 'undecodable');
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.originalTopic], topic);
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.group], group);
      assert.match(letter.headers[DEAD_LETTER_HEADERS.originalOffset]!, /^\d+$/);
      assert.equal(letter.value, null, 'unknown bytes are not copied');
      assert.equal(letter.key, null);
      assert.deepEqual(scanBytes('dead letter', Buffer.from(JSON.stringify(letter.headers)), [poisonMarker]), []);
    }
    // On disk: the marker sits in the source topic's segments (the scan sees it) and nowhere in the DLQ's.
    const logDir = engineEnv.kafkaLogDir;
    if (logDir) {
      const dirsOf = (t: string) => readdirSync(logDir).filter((d) => d.startsWith(`${t}-`) && /^\d+$/.test(d.slice(t.length + 1))).map((d) => join(logDir, d));
      assert.ok(dirsOf(topic).flatMap((d) => scanFiles(d, [poisonMarker])).length > 0, 'control: the scan reads segments');
      assert.deepEqual(dirsOf(`${topic}.dlq`).flatMap((d) => scanFiles(d, [poisonMarker])), []);
    }
    assert.deepEqual(scanBytes('consumer log', Buffer.from(logLines.join('\n')), [poisonMarker]), []);
  });

  test('a handler that always throws for one event dead-letters it after maxAttempts; the partition continues', { timeout: 90_000 }, async () => {
    const topic = `crm-bus-failing-${run}`;
    const group = `failing-${run}`;
    const marker = `Hm${randomBytes(6).toString('hex')}`;
    const events = sealedEvents(8, ['case-f']);
    const publisher = createKafkaPublisher({ brokers: brokers(), clientId: `test-${run}`, topic, partitions: 3, logger });
    try {
      await publisher.publish(events);
    } finally {
      await publisher.close();
    }
    class CaseProjectionFailed extends Error {
      override name = 'CaseProjectionFailed';
    }
    const failing = events[2]!;
    const attempts = new Map<string, number>();
    const handled: number[] = [];
    await consumeUntil(
      topic,
      group,
      async (e) => {
        attempts.set(e.eventId, (attempts.get(e.eventId) ?? 0) + 1);
        if (e.eventId === failing.eventId) throw new CaseProjectionFailed(`could not project note of ${marker} <${marker}@example.org>`);
        handled.push(e.streamVersion);
      },
      () => handled.length >= 7 && groupCaughtUp(kafka, group, topic),
      { maxAttempts: 4 },
    );
    assert.equal(attempts.get(failing.eventId), 4);
    assert.deepEqual(handled, [1, 2, 4, 5, 6, 7, 8], 'the same partition went on past the dead letter');

    const [letter] = await readTopic(kafka, `${topic}.dlq`, 1);
    assert.ok(letter);
    assert.equal(letter.headers[DEAD_LETTER_HEADERS.reason], 'handler-failed');
    assert.equal(letter.headers[DEAD_LETTER_HEADERS.kind], 'CaseProjectionFailed');
    assert.equal(letter.headers[DEAD_LETTER_HEADERS.attempts], '4');
    assert.equal(letter.headers['crm-event-id'], failing.eventId);
    assert.equal(letter.key?.toString(), failing.streamId);
    assert.deepEqual(JSON.parse(letter.value!.toString()), failing, 'the sealed event, for a replay');
    assert.deepEqual(scanBytes('dead letter', Buffer.concat([Buffer.from(JSON.stringify(letter.headers)), letter.value!]), [marker]), []);
    assert.deepEqual(scanBytes('consumer log', Buffer.from(logLines.join('\n')), [marker]), []);
    assert.ok(logLines.some((l) => l.includes('message dead-lettered') && l.includes('CaseProjectionFailed')));
  });

});
