import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type kafkajs from 'kafkajs';
import { createLogger, type EventStore, type RecordedEvent } from '@crm/core';
import { createKafkaConsumer, parseKafkaUrl } from '@crm/kafka';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';
import { engineEnv, needs } from '../support/engines.ts';
import { scanBytes, scanFiles } from '../support/raw-scan.ts';
import { registerCustomer } from '../support/valid-commands.ts';
import { topicRecordCount, testKafka, waitUntil } from './kafka-topics.ts';
import { type RelayProcess, startRelayProcess } from './relay-process.ts';

/**
 * Commands → SQLite event store → relay process → Kafka → a consumer group whose effects
 * are idempotent, while the relay is killed with SIGKILL mid-stream and restarted, and
 * the consumer is stopped mid-stream and replaced by a new member of the same group.
 */
describe('relay to Kafka to a consumer group, through a relay kill -9 and a consumer restart', { ...needs('kafka'), timeout: 300_000 }, () => {
  const run = randomBytes(4).toString('hex');
  const topic = `crm-relay-e2e-${run}`;
  const group = `effects-${run}`;
  // Letters and digits only, so it is valid in names, emails and free text.
  const marker = `Mk${randomBytes(6).toString('hex')}`;
  const needles = [marker, marker.toLowerCase()];

  let crm: CrmUnderTest;
  let kafka: kafkajs.Kafka;
  let effects: Database.Database;
  /** Every relay process of the run, the killed one first. */
  const relays: RelayProcess[] = [];
  const consumerLog: string[] = [];
  const facts = {
    /** What the killed relay had stored as its checkpoint (where its successor started). */
    checkpointAtKill: 0,
    /** Events on the topic when the relay was killed. */
    onTopicAtKill: 0,
    headAtKill: 0,
    effectsAtConsumerRestart: 0,
    head: 0,
    relayExit: undefined as { code: number | null; signal: NodeJS.Signals | null } | undefined,
    streamIdSample: '',
  };

  /** Two concurrent writers keep appending: customers, their details, cases and notes, with the marker in every personal field. */
  async function writeWorkload(stop: AbortSignal): Promise<number> {
    let commands = 0;
    const ok = async (type: string, body: Record<string, unknown>, role: 'sales-rep' | 'service-agent') => {
      const answer = await crm.command(type, body, [role]);
      if (answer.status !== 200) throw new Error(`${type} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      commands++;
      return answer.body;
    };
    while (!stop.aborted) {
      const customerId = String((await ok('RegisterCustomer', registerCustomer(marker), 'sales-rep')).subjectId);
      await ok('ChangeCustomerDetails', { customerId, name: `${marker} Renamed`, email: `${marker.toLowerCase()}.new@example.org` }, 'sales-rep');
      const caseId = String((await ok('OpenServiceCase', { customerId, channel: 'email', summary: `${marker} cannot log in` }, 'service-agent')).caseId);
      await ok('AddCaseNote', { caseId, text: `Called ${marker} back` }, 'service-agent');
      await ok('AddCaseNote', { caseId, text: `${marker} confirmed` }, 'service-agent');
    }
    return commands;
  }

  const effectCount = () => (effects.prepare('SELECT count(*) AS n FROM effects').get() as { n: number }).n;
  const invocationCount = () => (effects.prepare('SELECT count(*) AS n FROM invocations').get() as { n: number }).n;
  const head = () => crm.runtime.eventStore.headPosition();

  before(async () => {
    crm = await startCrmUnderTest();
    kafka = testKafka(engineEnv.kafkaUrl!);
    effects = new Database(join(crm.dataDir, 'effects.sqlite'));
    effects.pragma('journal_mode = WAL');
    effects.exec(`
      CREATE TABLE effects (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL, stream_version INTEGER NOT NULL);
      CREATE TABLE invocations (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL);
    `);
    const insertInvocation = effects.prepare('INSERT INTO invocations (event_id) VALUES (?)');
    const insertEffect = effects.prepare('INSERT OR IGNORE INTO effects (event_id, stream_id, stream_version) VALUES (?, ?, ?)');
    // The idempotent effect: keyed by event id, so a redelivery changes nothing but the invocation count.
    const record = effects.transaction((event: RecordedEvent) => {
      insertInvocation.run(event.eventId);
      insertEffect.run(event.eventId, event.streamId, event.streamVersion);
    });
    const consumer = createKafkaConsumer({
      brokers: parseKafkaUrl(engineEnv.kafkaUrl!),
      clientId: `effects-${run}`,
      topic,
      logger: createLogger({ level: 'debug', write: (line) => consumerLog.push(line) }),
    });
    const startConsumer = () => {
      const stop = new AbortController();
      const done = consumer.consume({ group, signal: stop.signal, handle: async (event) => void record(event) });
      return { stop: () => (stop.abort(), done), done };
    };
    const eventsFile = join(crm.dataDir, 'events.sqlite');
    const relayEnv = {
      CRM_DATA_DIR: crm.dataDir,
      CRM_EVENT_STORE: `sqlite:${eventsFile}`,
      CRM_BUS: engineEnv.kafkaUrl!,
      CRM_KAFKA_TOPIC: topic,
      CRM_RELAY_BATCH_SIZE: '7',
    };
    const current = () => relays.at(-1)!;
    const watch = <T>(what: Promise<T>) => Promise.race([what, current().exited.then((e) => Promise.reject(new Error(`relay exited early (${JSON.stringify(e)}):\n${current().output()}`)))]);

    const writing = new AbortController();
    const writers = [writeWorkload(writing.signal), writeWorkload(writing.signal)];
    let member: ReturnType<typeof startConsumer> | undefined;
    try {
      relays.push(startRelayProcess(relayEnv));
      member = startConsumer();

      // 1. Kill the relay with SIGKILL in the middle of the stream — after a publish, before its
      //    checkpoint — while commands keep coming. To land the kill in that window every time, the
      //    test holds the write lock of the events file, where the checkpoint lives (a stalled disk,
      //    as the relay sees it): reads go on, so the relay's next batch of the backlog reaches
      //    Kafka, then its checkpoint waits, and that is when it dies. (Appends wait too, briefly.)
      const first = current();
      await watch(
        waitUntil(async () => first.lastPublished() >= 40 && (await head()) - first.lastPublished() >= 60, 120_000, () => `relay published up to ${first.lastPublished()}:\n${first.output()}`),
      );
      const lock = new Database(eventsFile);
      try {
        lock.pragma('busy_timeout = 5000');
        lock.prepare('BEGIN IMMEDIATE').run();
        const onTopicAtLock = await topicRecordCount(kafka, topic);
        // (Were the relay already waiting with a published batch, nothing more arrives: that is mid-publish too.)
        await waitUntil(async () => (await topicRecordCount(kafka, topic)) > onTopicAtLock, 2_000, () => '').catch(() => undefined);
        first.child.kill('SIGKILL');
        assert.equal((await first.exited).signal, 'SIGKILL');
      } finally {
        if (lock.inTransaction) lock.prepare('ROLLBACK').run();
        lock.close();
      }
      facts.onTopicAtKill = await topicRecordCount(kafka, topic);
      facts.headAtKill = await head();
      relays.push(startRelayProcess(relayEnv));

      // 2. Stop the consumer mid-stream and start a new member of the same group.
      await waitUntil(() => effectCount() >= 30, 120_000, () => `${effectCount()} effects`);
      await member.stop();
      facts.effectsAtConsumerRestart = effectCount();
      member = startConsumer();

      // 3. More commands after both restarts, then drain: the relay and the group catch up with the store.
      await waitUntil(async () => (await head()) >= facts.headAtKill + 60, 120_000, () => 'writers stalled');
      writing.abort();
      await Promise.all(writers);
      facts.head = await head();
      await watch(waitUntil(() => current().lastPublished() === facts.head && effectCount() === facts.head, 180_000, () => `relay at ${current().lastPublished()}, ${effectCount()} effects, head ${facts.head}`));
      facts.checkpointAtKill = current().startedFrom() ?? -1;
      await member.stop();
      member = undefined;
      current().child.kill('SIGTERM');
      facts.relayExit = await current().exited;
    } finally {
      writing.abort();
      await Promise.allSettled(writers);
      await member?.stop();
      for (const relay of relays) if (relay.child.exitCode === null && relay.child.signalCode === null) relay.child.kill('SIGKILL');
    }
  }, { timeout: 280_000 });

  after(async () => {
    effects?.close();
    await crm?.dispose();
  });

  test('the relay was killed after publishing some but not all, and its successor resumed from the checkpoint', () => {
    assert.ok(facts.checkpointAtKill > 0, 'it had published and checkpointed');
    assert.ok(facts.onTopicAtKill > facts.checkpointAtKill, `killed mid-publish: ${facts.onTopicAtKill} on Kafka, checkpoint at ${facts.checkpointAtKill}`);
    assert.ok(facts.onTopicAtKill < facts.headAtKill, `not all: ${facts.onTopicAtKill} of ${facts.headAtKill}`);
    assert.ok(facts.effectsAtConsumerRestart > 0 && facts.effectsAtConsumerRestart < facts.head, 'the consumer was restarted mid-stream');
    assert.deepEqual(facts.relayExit, { code: 0, signal: null }, 'SIGTERM stops the relay cleanly');
  });

  test('every event was handled exactly once in effect: one effect per stored event, none lost', async (t) => {
    const stored = await readEverything(crm.runtime.eventStore);
    assert.equal(stored.length, facts.head);
    const rows = effects.prepare('SELECT event_id FROM effects').all() as { event_id: string }[];
    assert.equal(rows.length, stored.length);
    assert.deepEqual(new Set(rows.map((r) => r.event_id)), new Set(stored.map((e) => e.eventId)));
    const onTopic = await topicRecordCount(kafka, topic);
    assert.ok(onTopic >= stored.length, 'every event reached the topic');
    const invocations = invocationCount();
    assert.equal(onTopic - stored.length, facts.onTopicAtKill - facts.checkpointAtKill, 're-published: exactly what was past the checkpoint at the kill');
    assert.ok(invocations > rows.length, 'the re-published events were delivered again and changed nothing');
    t.diagnostic(`${stored.length} events; relay killed with ${facts.onTopicAtKill} events on Kafka, its checkpoint at ${facts.checkpointAtKill} and ${facts.headAtKill} in the store; its successor started from the checkpoint`);
    t.diagnostic(`${onTopic - stored.length} events re-published to Kafka after the kill -9; ${invocations - rows.length} handler redeliveries (${invocations} invocations for ${rows.length} effects)`);
  });

  test('in per-stream order: each stream’s effects were made in version order 1, 2, 3…', () => {
    const rows = effects.prepare('SELECT stream_id, stream_version FROM effects ORDER BY seq').all() as { stream_id: string; stream_version: number }[];
    const versions = new Map<string, number[]>();
    for (const row of rows) versions.set(row.stream_id, [...(versions.get(row.stream_id) ?? []), row.stream_version]);
    assert.ok(versions.size > 10, `${versions.size} streams`);
    for (const [stream, seen] of versions) assert.deepEqual(seen, seen.map((_, i) => i + 1), stream);
    facts.streamIdSample = rows[0]!.stream_id;
  });

  test('raw scan of the broker’s log segments: no plaintext marker; the scan does see clear values', () => {
    const logDir = engineEnv.kafkaLogDir;
    assert.ok(logDir, 'CRM_KAFKA_LOG_DIR is set where Kafka runs');
    assert.deepEqual(scanFiles(logDir, needles), []);
    const topicDirs = readdirSync(logDir).filter((d) => d.startsWith(`${topic}-`)).map((d) => join(logDir, d));
    assert.ok(topicDirs.length > 0);
    const sample = facts.streamIdSample || 'CustomerRegistered';
    for (const clear of [sample, 'CustomerRegistered', 'CaseNoteAdded']) {
      assert.ok(topicDirs.flatMap((d) => scanFiles(d, [clear])).length > 0, `control: ${clear} is found in the segments`);
    }
  });

  test('no log line of the relays or the consumer holds a marker', () => {
    assert.ok(consumerLog.length > 0 && relays.every((r) => r.output().includes('"msg":"published"')));
    assert.deepEqual(scanBytes('consumer log', Buffer.from(consumerLog.join('\n')), needles), []);
    for (const relay of relays) assert.deepEqual(scanBytes('relay output', Buffer.from(relay.output()), needles), []);
  });
});

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (let page = await store.readAll({ after: 0 }); page.length > 0; page = await store.readAll({ after: all.at(-1)!.globalPosition })) all.push(...page);
  return all;
}
