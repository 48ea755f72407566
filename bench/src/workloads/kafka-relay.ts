/**
 * Store → Kafka: the relay (`runRelay` from @crm/relay with `createKafkaPublisher` from
 * @crm/kafka), on a durable event store (SQLite, the embedded default; PostgreSQL too).
 *
 * (a) Throughput: a store pre-filled with N sealed events (real `sealEvent`, ~533 bytes of
 *     data as the CRM stores them) is relayed to a fresh topic from checkpoint 0 until the
 *     checkpoint reaches the head. Baseline: a bare kafkajs idempotent producer sending the
 *     same messages (same keys, headers, values, pre-encoded in memory) in batches of the
 *     relay's batch size, one batch at a time, to a fresh topic of the same layout.
 * (b) Latency at an offered load: sealed events appended open-loop (a timer schedules them
 *     at a fixed rate, whatever the previous appends are doing) while the relay runs and a
 *     `createKafkaConsumer` group consumes the topic; latency = handler sees the event −
 *     the time the append was scheduled (= issued, when the timer is on time).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BusPublisher,
  type CheckpointStore,
  createLogger,
  type EventStore,
  type EventToAppend,
  generateMasterKey,
  Keyring,
  type Logger,
  masterKeys,
  type RecordedEvent,
} from '@crm/core';
import { customerStream } from '@crm/domain';
import { createKafkaConsumer, createKafkaPublisher, encodeEventMessage, parseKafkaUrl } from '@crm/kafka';
import { openPostgresCheckpointStore, openPostgresEventStore } from '@crm/postgres';
import { runRelay } from '@crm/relay';
import { openSqliteCheckpointStore, openSqliteEventStore, openSqliteKeyStore } from '@crm/sqlite';
import kafkajs from 'kafkajs';
import { v7 as uuidv7 } from 'uuid';
import { enginePid, processCpuSeconds } from '../engines.ts';
import { startProfile } from '../profiler.ts';
import { percentileOfSorted, sorted } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { eventFactory } from './event-payload.ts';
import { dropSchema, freshSchema, redactUrl } from './pg.ts';

export type StoreKind = 'sqlite' | 'postgres';

export interface KafkaRelayConfig {
  /** Events pre-filled into the store and relayed in (a). */
  relayEvents: number;
  /** Customer streams (and subject keys) the events are spread over, round robin. */
  streams: number;
  /** JSON bytes of the event before sealing (the sealed, stored data is ~533 bytes). */
  payloadBytes: number;
  /** The relay's batch size (its default, CRM_RELAY_BATCH_SIZE) and the raw producer's. */
  relayBatchSize: number;
  /** Partitions of every topic (the publisher's default). */
  partitions: number;
  /** Concurrent appenders while pre-filling (not measured). */
  prefillWriters: number;
  /** Offered load of (b), events/s. */
  rate: number;
  /** Measured seconds of (b), after `warmupSeconds` of the same load. */
  latencySeconds: number;
  warmupSeconds: number;
  /** Events of the relayed topic a consumer group works off from the start, to measure its rate. */
  drainEvents: number;
  /** How long (b) waits after the last append for the consumer to see everything. */
  drainSeconds: number;
  /** Which event stores are measured. */
  stores: StoreKind[];
  keyCacheTtlMs: number;
}

export function kafkaRelayConfig(options: BenchOptions): KafkaRelayConfig {
  return {
    relayEvents: options.relayEvents ?? (options.quick ? 20_000 : 100_000),
    streams: 1_000,
    payloadBytes: 256,
    relayBatchSize: 500,
    partitions: 6,
    prefillWriters: 64,
    rate: options.rate ?? 1_000,
    latencySeconds: options.latencySeconds ?? (options.quick ? 5 : 20),
    warmupSeconds: options.quick ? 1 : 2,
    drainSeconds: 30,
    drainEvents: options.quick ? 5_000 : 10_000,
    stores: ['sqlite', 'postgres'],
    keyCacheTtlMs: 60_000,
  };
}

function brokers(): string[] {
  const url = process.env.CRM_KAFKA_URL;
  if (!url) throw new Error('CRM_KAFKA_URL is not set (main.ts brings Kafka up when it is missing)');
  return parseKafkaUrl(url);
}

function pgUrl(): string {
  const url = process.env.CRM_PG_URL;
  if (!url) throw new Error('CRM_PG_URL is not set (main.ts brings PostgreSQL up when it is missing)');
  return url;
}

/** CPU seconds of the Kafka broker so far, when it runs here and its pid is known. */
function brokerCpu(): () => number | undefined {
  const pid = enginePid('kafka', process.env.CRM_KAFKA_URL);
  return () => processCpuSeconds(pid);
}

/** A fresh event store with its checkpoints beside it (as the runtime keeps them); `close` removes it. */
interface RelayStores {
  eventStore: EventStore;
  checkpoints: CheckpointStore;
  close(): Promise<void>;
}

async function openStores(kind: StoreKind, dir: string, name: string): Promise<RelayStores> {
  if (kind === 'sqlite') {
    const path = join(dir, `${name}.sqlite`);
    const eventStore = openSqliteEventStore({ path, durable: true });
    const checkpoints = openSqliteCheckpointStore({ path });
    return { eventStore, checkpoints, close: async () => (await checkpoints.close(), await eventStore.close()) };
  }
  const url = pgUrl();
  const schema = freshSchema('relay');
  const eventStore = openPostgresEventStore({ connectionString: url, schema });
  const checkpoints = openPostgresCheckpointStore({ connectionString: url, schema });
  const close = async () => {
    try {
      await Promise.allSettled([checkpoints.close(), eventStore.close()]);
    } finally {
      await dropSchema(url, schema);
    }
  };
  try {
    await Promise.all([eventStore.ready, checkpoints.ready]);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return { eventStore, checkpoints, close };
}

/** Topics created here (one per scenario), deleted when the run ends. */
class Topics {
  private readonly admin: kafkajs.Admin;
  private readonly created: string[] = [];
  private connected: Promise<void> | undefined;

  constructor(kafka: kafkajs.Kafka, private readonly partitions: number) {
    this.admin = kafka.admin();
  }

  async fresh(label: string): Promise<string> {
    await (this.connected ??= this.admin.connect());
    const topic = `crm-bench-${label}-${randomBytes(4).toString('hex')}`;
    await this.admin.createTopics({ topics: [{ topic, numPartitions: this.partitions, replicationFactor: 1 }], waitForLeaders: true });
    this.created.push(topic);
    return topic;
  }

  /** Records on a topic: the sum of its partitions' high watermarks. */
  async records(topic: string): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  }

  async deleteAll(): Promise<void> {
    if (!this.connected) return;
    const existing = new Set(await this.admin.listTopics());
    // A consumer creates `<topic>.dlq` beside its topic.
    const doomed = this.created.flatMap((t) => [t, `${t}.dlq`]).filter((t) => existing.has(t));
    if (doomed.length) await this.admin.deleteTopics({ topics: doomed, timeout: 30_000 });
    await this.admin.disconnect();
  }
}

/** Subjects with keys in a SQLite key store, and a factory of sealed events for them. */
interface Sealing {
  subjects: string[];
  streamIds: string[];
  next(subject: string): Promise<EventToAppend>;
  close(): Promise<void>;
}

async function prepareSealing(config: KafkaRelayConfig, dir: string): Promise<Sealing> {
  const keyStore = openSqliteKeyStore({ path: join(dir, 'keys.sqlite') });
  const keyring = new Keyring({ keyStore, masterKeys: masterKeys(generateMasterKey()), cacheTtlMs: config.keyCacheTtlMs });
  const subjects = Array.from({ length: config.streams }, () => uuidv7());
  await Promise.all(subjects.map((s) => keyring.createSubjectKey(s)));
  const events = eventFactory('sealed', config.payloadBytes, keyring);
  return { subjects, streamIds: subjects.map(customerStream), next: (s) => events.next(s), close: () => keyStore.close() };
}

/** N sealed events, round robin over the streams, by concurrent appenders (not measured). */
async function prefill(store: EventStore, sealing: Sealing, config: KafkaRelayConfig): Promise<void> {
  let next = 0;
  const writer = async () => {
    while (next < config.relayEvents) {
      const i = next++;
      const s = i % config.streams;
      const event = await sealing.next(sealing.subjects[s]!);
      await store.append(sealing.streamIds[s]!, [event], { expectedVersion: 'any' });
    }
  };
  await Promise.all(Array.from({ length: config.prefillWriters }, writer));
}

interface ThroughputFigures {
  /** The topic the events went to. */
  topic: string;
  eventsPerSec: number;
  events: number;
  seconds: number;
  batches?: number;
  onTopic: number;
  cpuPercent: number;
  brokerCpuPercent?: number;
}

function cpuFigures(cpuBefore: NodeJS.CpuUsage, brokerBefore: number | undefined, broker: () => number | undefined, seconds: number) {
  const cpu = process.cpuUsage(cpuBefore);
  const brokerAfter = broker();
  return {
    cpuPercent: (cpu.user + cpu.system) / 1e4 / seconds,
    ...(brokerBefore !== undefined && brokerAfter !== undefined ? { brokerCpuPercent: ((brokerAfter - brokerBefore) * 100) / seconds } : {}),
  };
}

/** (a) ours: runRelay + createKafkaPublisher from checkpoint 0 until the checkpoint reaches the head. */
async function relayThroughput(stores: RelayStores, topics: Topics, config: KafkaRelayConfig, logger: Logger, profileFile?: string): Promise<ThroughputFigures> {
  const topic = await topics.fresh('relay');
  const publisher = createKafkaPublisher({ brokers: brokers(), clientId: 'crm-bench-relay', topic, partitions: config.partitions, logger });
  try {
    const head = await stores.eventStore.headPosition();
    // Warm-up, not measured: connects the producer (and finds the topic) with one message, as the raw producer does.
    const [first] = await stores.eventStore.readAll({ limit: 1 });
    await publisher.publish([first!]);
    const broker = brokerCpu();
    const stop = new AbortController();
    let reachedAt = Number.NaN;
    const profile = profileFile ? await startProfile() : undefined;
    const brokerBefore = broker();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const progress = await runRelay({
      eventStore: stores.eventStore,
      publisher,
      checkpoints: stores.checkpoints,
      batchSize: config.relayBatchSize,
      signal: stop.signal,
      logger,
      onPublished: (p) => {
        if (p.lastPosition >= head && !stop.signal.aborted) {
          reachedAt = performance.now();
          stop.abort();
        }
      },
    });
    const seconds = (reachedAt - started) / 1000;
    const cpu = cpuFigures(cpuBefore, brokerBefore, broker, seconds);
    if (profileFile) await profile?.stop(profileFile);
    if (progress.lastPosition !== head) throw new Error(`relay stopped at ${progress.lastPosition}, head ${head}`);
    return { topic, eventsPerSec: head / seconds, events: head, seconds, batches: progress.batches, onTopic: (await topics.records(topic)) - 1, ...cpu };
  } finally {
    await publisher.close();
  }
}

/** (a) raw: the same messages, pre-encoded, by a bare idempotent kafkajs producer in batches. */
async function rawThroughput(stores: RelayStores, topics: Topics, config: KafkaRelayConfig, profileFile?: string): Promise<ThroughputFigures> {
  const messages: kafkajs.Message[] = [];
  for (let after = 0; ; ) {
    const page = await stores.eventStore.readAll({ after, limit: 1000 });
    if (page.length === 0) break;
    for (const event of page) messages.push(encodeEventMessage(event));
    after = page[page.length - 1]!.globalPosition;
  }
  const topic = await topics.fresh('raw');
  const kafka = new kafkajs.Kafka({ clientId: 'crm-bench-raw', brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING });
  // The publisher's producer settings: idempotent, one request in flight, acks from all replicas, murmur2 by key.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [messages[0]!] }); // warm-up, not measured
    const broker = brokerCpu();
    const profile = profileFile ? await startProfile() : undefined;
    const brokerBefore = broker();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < messages.length; i += config.relayBatchSize) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + config.relayBatchSize) });
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuFigures(cpuBefore, brokerBefore, broker, seconds);
    if (profileFile) await profile?.stop(profileFile);
    return { topic, eventsPerSec: messages.length / seconds, events: messages.length, seconds, onTopic: (await topics.records(topic)) - 1, ...cpu };
  } finally {
    await producer.disconnect();
  }
}

interface DrainFigures {
  eventsPerSec: number;
  events: number;
  seconds: number;
  cpuPercent: number;
  brokerCpuPercent?: number;
}

/**
 * How fast a consumer group works off a backlog: the first `count` events of a filled topic,
 * timed from the first message handled to the last (group join excluded). Ours:
 * `createKafkaConsumer` (decode, handler, an offset commit per message); raw: a bare kafkajs
 * consumer with kafkajs' default auto-commit (periodic), doing nothing per message.
 */
async function consumerDrain(kind: 'ours' | 'raw', topic: string, count: number, config: KafkaRelayConfig, logger: Logger): Promise<DrainFigures> {
  const group = `crm-bench-drain-${randomBytes(4).toString('hex')}`;
  const broker = brokerCpu();
  let handled = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  let brokerBefore: number | undefined;
  let cpuBefore: NodeJS.CpuUsage | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const onMessage = () => {
    if (handled >= count) return;
    if (handled === 0) {
      first = performance.now();
      brokerBefore = broker();
      cpuBefore = process.cpuUsage();
    }
    if (++handled === count) {
      last = performance.now();
      done();
    }
  };
  const stop = new AbortController();
  let running: Promise<unknown>;
  let rawConsumer: kafkajs.Consumer | undefined;
  if (kind === 'ours') {
    const consumer = createKafkaConsumer({ brokers: brokers(), clientId: 'crm-bench-drain', topic, partitions: config.partitions, logger });
    running = consumer.consume({ group, signal: stop.signal, handle: async () => onMessage() });
  } else {
    const kafka = new kafkajs.Kafka({ clientId: 'crm-bench-drain-raw', brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING });
    rawConsumer = kafka.consumer({ groupId: group });
    const c = rawConsumer;
    running = (async () => {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async () => onMessage() });
      // run() resolves once the consumer is running; this one ends when stopped.
      await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    })();
  }
  const failed = running.then(() => Promise.reject(new Error('the consumer stopped before the backlog was worked off')));
  try {
    await Promise.race([finished, failed, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumer drain: ${handled} of ${count} within 300 s`)), 300_000).unref())]);
  } finally {
    stop.abort();
    await rawConsumer?.disconnect();
    await running.catch(() => {});
    failed.catch(() => {});
  }
  const seconds = (last - first) / 1000;
  return { eventsPerSec: (count - 1) / seconds, events: count, seconds, ...cpuFigures(cpuBefore!, brokerBefore, broker, seconds) };
}

interface StageSummary {
  p50: number;
  p99: number;
  max: number;
}

interface LatencyFigures {
  /** Timer lag: issued − scheduled. */
  issued: StageSummary;
  /** append resolved (committed, group commit) − scheduled. */
  appended: StageSummary;
  /** Kafka acknowledged the relay's batch − scheduled. */
  published: StageSummary;
  /** The consumer's handler saw it − scheduled. */
  consumed: StageSummary;
  offeredPerSec: number;
  /** Measured appends issued per second of the measured window (the timer keeping up). */
  issuedPerSec: number;
  /** Measured events consumed per second, first scheduled to last consumed. */
  consumedPerSec: number;
  measured: number;
  lost: number;
  duplicates: number;
  errors: number;
  groupJoinSeconds: number;
  /** The relay's publishes (batches) per second over the measured window. */
  relayBatchesPerSec: number;
  /** Per second of the measured window (by scheduled time): the slowest append → consumer latency, ms. */
  maxPerSecondMs: number[];
  cpuPercent: number;
  brokerCpuPercent?: number;
}

function stage(values: number[]): StageSummary {
  const s = sorted(values);
  return { p50: percentileOfSorted(s, 50), p99: percentileOfSorted(s, 99), max: s.length ? s[s.length - 1]! : Number.NaN };
}

/** (b) open-loop appends at `rate`/s with the relay and a consumer group running; per-event timings. */
async function latencyAtLoad(stores: RelayStores, sealing: Sealing, topics: Topics, config: KafkaRelayConfig, logger: Logger, profileFile?: string): Promise<LatencyFigures> {
  const topic = await topics.fresh('latency');
  const warmupCount = Math.round(config.rate * config.warmupSeconds);
  const measuredCount = Math.round(config.rate * config.latencySeconds);
  // Index 0 is a probe that waits for the consumer group to be up; then warm-up, then measured.
  const total = 1 + warmupCount + measuredCount;
  const firstMeasured = 1 + warmupCount;
  const scheduledAt = new Float64Array(total).fill(Number.NaN);
  const issuedAt = new Float64Array(total).fill(Number.NaN);
  const appendedAt = new Float64Array(total).fill(Number.NaN);
  const publishedAt = new Float64Array(total).fill(Number.NaN);
  const consumedAt = new Float64Array(total).fill(Number.NaN);
  const indexOf = new Map<string, number>();
  const appendsPerStream = new Float64Array(config.streams);
  let consumed = 0;
  let publishes = 0;
  let publishesBefore = 0;
  let duplicates = 0;
  let errors = 0;
  let firstError: unknown;
  let wake: (() => void) | undefined;

  const inner = createKafkaPublisher({ brokers: brokers(), clientId: 'crm-bench-relay', topic, partitions: config.partitions, logger });
  // Records when Kafka acknowledged each event's batch; otherwise the publisher as is.
  const publisher: BusPublisher = {
    async publish(events) {
      publishes++;
      await inner.publish(events);
      const now = performance.now();
      for (const e of events) {
        const i = indexOf.get(e.eventId);
        if (i !== undefined && Number.isNaN(publishedAt[i]!)) publishedAt[i] = now;
      }
    },
    close: () => inner.close(),
  };
  const stopRelay = new AbortController();
  const relay = runRelay({ eventStore: stores.eventStore, publisher, checkpoints: stores.checkpoints, batchSize: config.relayBatchSize, signal: stopRelay.signal, logger });
  const consumer = createKafkaConsumer({ brokers: brokers(), clientId: 'crm-bench-consumer', topic, partitions: config.partitions, logger });
  const stopConsumer = new AbortController();
  const consuming = consumer.consume({
    group: `crm-bench-${randomBytes(4).toString('hex')}`,
    signal: stopConsumer.signal,
    handle: async (event: RecordedEvent) => {
      const i = indexOf.get(event.eventId);
      if (i === undefined) return;
      if (!Number.isNaN(consumedAt[i]!)) {
        duplicates++;
        return;
      }
      consumedAt[i] = performance.now();
      consumed++;
      wake?.();
    },
  });
  // A consumer that fails must end the wait, not hang it.
  let consumerFailed: unknown;
  consuming.catch((error: unknown) => {
    consumerFailed = error;
    wake?.();
  });
  const waitFor = async (done: () => boolean, seconds: number): Promise<boolean> => {
    const deadline = performance.now() + seconds * 1000;
    while (!done() && consumerFailed === undefined && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    wake = undefined;
    if (consumerFailed !== undefined) throw consumerFailed;
    return done();
  };

  const issue = (i: number, scheduled: number) => {
    const s = i % config.streams;
    const expectedVersion = appendsPerStream[s]!;
    appendsPerStream[s] = expectedVersion + 1;
    scheduledAt[i] = scheduled;
    issuedAt[i] = performance.now();
    void (async () => {
      const event = await sealing.next(sealing.subjects[s]!);
      indexOf.set(event.eventId, i);
      await stores.eventStore.append(sealing.streamIds[s]!, [event], { expectedVersion });
      appendedAt[i] = performance.now();
    })().catch((error: unknown) => {
      errors++;
      firstError ??= error;
    });
  };

  try {
    const joinStarted = performance.now();
    issue(0, performance.now());
    if (!(await waitFor(() => consumed >= 1, 120))) throw new Error('the consumer group saw nothing within 120 s');
    const groupJoinSeconds = (performance.now() - joinStarted) / 1000;

    const broker = brokerCpu();
    let brokerBefore: number | undefined;
    let cpuBefore: NodeJS.CpuUsage | undefined;
    let profile: Awaited<ReturnType<typeof startProfile>> | undefined;
    const intervalMs = 1000 / config.rate;
    const start = performance.now() + 5;
    let next = 1;
    // Open loop: every tick issues whatever is due by now, however the earlier appends are doing.
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (next < total && start + (next - 1) * intervalMs <= now) {
          if (next === firstMeasured) {
            publishesBefore = publishes;
            brokerBefore = broker();
            cpuBefore = process.cpuUsage();
          }
          issue(next, start + (next - 1) * intervalMs);
          next++;
        }
        if (next >= total) return resolve();
        setTimeout(tick, Math.max(0, start + (next - 1) * intervalMs - performance.now()));
      };
      void (async () => {
        // The profile covers the warm-up too (starting it is asynchronous; the timer is not).
        if (profileFile) profile = await startProfile();
        tick();
      })();
    });
    const measuredStart = scheduledAt[firstMeasured]!;
    const issueEnd = issuedAt[total - 1]!;
    const relayBatches = publishes - publishesBefore;
    const allSeen = await waitFor(() => consumed >= total, config.drainSeconds);
    const windowSeconds = (issueEnd - measuredStart) / 1000;
    const cpu = cpuBefore ? cpuFigures(cpuBefore, brokerBefore, broker, (performance.now() - measuredStart) / 1000) : { cpuPercent: Number.NaN };
    if (profileFile && profile) await profile.stop(profileFile);
    if (!allSeen) logger.warn('not every event reached the consumer', { missing: total - consumed });
    if (firstError) logger.error('appends failed', { count: errors, kind: firstError instanceof Error ? firstError.name : 'unknown' });

    const latencies = (to: Float64Array) => {
      const out: number[] = [];
      for (let i = firstMeasured; i < total; i++) if (!Number.isNaN(to[i]!)) out.push(to[i]! - scheduledAt[i]!);
      return out;
    };
    let lastConsumed = 0;
    let measuredConsumed = 0;
    const maxPerSecondMs = new Array<number>(Math.ceil(config.latencySeconds)).fill(0);
    for (let i = firstMeasured; i < total; i++) {
      if (Number.isNaN(consumedAt[i]!)) continue;
      measuredConsumed++;
      lastConsumed = Math.max(lastConsumed, consumedAt[i]!);
      const second = Math.min(maxPerSecondMs.length - 1, Math.floor((scheduledAt[i]! - measuredStart) / 1000));
      maxPerSecondMs[second] = Math.max(maxPerSecondMs[second]!, consumedAt[i]! - scheduledAt[i]!);
    }
    return {
      issued: stage(latencies(issuedAt)),
      appended: stage(latencies(appendedAt)),
      published: stage(latencies(publishedAt)),
      consumed: stage(latencies(consumedAt)),
      offeredPerSec: config.rate,
      issuedPerSec: (measuredCount - 1) / windowSeconds,
      consumedPerSec: measuredConsumed / ((lastConsumed - measuredStart) / 1000),
      measured: measuredCount,
      lost: measuredCount - measuredConsumed,
      duplicates,
      errors,
      groupJoinSeconds,
      relayBatchesPerSec: relayBatches / windowSeconds,
      maxPerSecondMs: maxPerSecondMs.map((v) => Math.round(v)),
      ...cpu,
    };
  } finally {
    stopRelay.abort();
    await relay.catch(() => {});
    stopConsumer.abort();
    await consuming.catch(() => {});
    await publisher.close();
  }
}

const RELAY = (kind: StoreKind) => `${kind}: relay store → topic`;
const RAW = (kind: StoreKind, batch: number) => `${kind}: raw kafkajs producer, ${batch}/send`;
const LATENCY = (kind: StoreKind, what: string) => `${kind}: latency → ${what}`;
const DRAIN = (which: 'ours' | 'raw') => (which === 'ours' ? 'consumer drain: createKafkaConsumer' : 'consumer drain: raw kafkajs consumer');

export const kafkaRelay: Workload = {
  name: 'kafka-relay',
  title: 'Store → Kafka: relay throughput vs a bare kafkajs producer; append-to-consumer latency at an offered load',
  engines: ['kafka', 'postgres'],
  parameters(options) {
    const config = kafkaRelayConfig(options);
    return {
      ...config,
      kafka: process.env.CRM_KAFKA_URL,
      postgres: redactUrl(process.env.CRM_PG_URL),
      event: 'CustomerDetailsChanged, sealed (real sealEvent), ~533 bytes of stored data',
      durable: true,
      producer: 'idempotent, acks -1, maxInFlightRequests 1, murmur2 partitioner (the publisher\'s settings, also for the raw producer)',
      latency: 'scheduled append time → consumer handler (same process: store, relay, consumer)',
    };
  },
  metrics: [
    { key: 'events/s', digits: 0 },
    { key: 'events/batch', digits: 0 },
    { key: 'batches/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'max ms', digits: 1 },
    { key: 'offered/s', digits: 0 },
    { key: 'achieved/s', digits: 0 },
    { key: 'consumed/s', digits: 0 },
    { key: 'lost', digits: 0 },
    { key: 'duplicates', digits: 0 },
    { key: 'errors', digits: 0 },
    { key: 'bench cpu %', digits: 0 },
    { key: 'broker cpu %', digits: 0 },
    { key: 'ours/raw', digits: 3, ratio: 'limit' },
  ],
  goals: [
    ...(['sqlite', 'postgres'] as const).flatMap((kind) => [
      { label: `${kind}: append → consumer p99 ≤ 100 ms at 1,000 events/s offered`, scenario: LATENCY(kind, 'consumed'), metric: 'p99 ms', op: '<=' as const, target: 100 },
      { label: `${kind}: no event lost in any run`, scenario: LATENCY(kind, 'consumed'), metric: 'lost', op: '<=' as const, target: 0, over: 'max' as const },
    ]),
  ],
  async run(options, runIndex) {
    const config = kafkaRelayConfig(options);
    const dir = mkdtempSync(join(tmpdir(), 'crm-bench-relay-'));
    const logger = createLogger({ level: 'warn', write: (line) => options.log(`    [log] ${line}`) });
    const admin = new kafkajs.Kafka({ clientId: 'crm-bench-admin', brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING });
    const topics = new Topics(admin, config.partitions);
    const measurements: Measurement[] = [];
    const profile = (name: string) => (options.cpuProfDir ? join(options.cpuProfDir, `kafka-relay-${name}-run${runIndex + 1}.cpuprofile`) : undefined);
    try {
      options.log(`  creating ${config.streams} subject keys...`);
      const sealing = await prepareSealing(config, dir);
      try {
        // The stores take turns going first, so neither always gets the fresher machine.
        const kinds = runIndex % 2 === 0 ? config.stores : [...config.stores].reverse();
        let relayedTopic: string | undefined;
        for (const kind of kinds) {
          // (a) throughput
          const filled = await openStores(kind, dir, 'throughput');
          try {
            options.log(`  ${kind}: pre-filling ${config.relayEvents} sealed events (not measured)...`);
            const fillStarted = performance.now();
            await prefill(filled.eventStore, sealing, config);
            options.log(`    ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);
            const order = runIndex % 2 === 0 ? (['relay', 'raw'] as const) : (['raw', 'relay'] as const);
            const rates: Partial<Record<'relay' | 'raw', number>> = {};
            for (const which of order) {
              if (which === 'relay') {
                options.log(`  ${RELAY(kind)}: ${config.relayEvents} events, batches of ≤ ${config.relayBatchSize}...`);
                const f = await relayThroughput(filled, topics, config, logger, profile(`${kind}-relay`));
                const perBatch = f.events / (f.batches ?? 1);
                options.log(
                  `    ${f.eventsPerSec.toFixed(0)} events/s (${f.seconds.toFixed(2)} s, ${f.batches} batches, ${perBatch.toFixed(0)}/batch, ${f.onTopic} on the topic), ` +
                    `CPU bench ${f.cpuPercent.toFixed(0)}% / broker ${f.brokerCpuPercent?.toFixed(0) ?? '?'}%`,
                );
                if (f.onTopic < f.events) throw new Error(`relay: only ${f.onTopic} of ${f.events} events on the topic`);
                rates.relay = f.eventsPerSec;
                relayedTopic ??= f.topic;
                measurements.push({
                  scenario: RELAY(kind),
                  metrics: {
                    'events/s': f.eventsPerSec,
                    'events/batch': perBatch,
                    'bench cpu %': f.cpuPercent,
                    ...(f.brokerCpuPercent !== undefined ? { 'broker cpu %': f.brokerCpuPercent } : {}),
                  },
                  notes: { events: f.events, seconds: f.seconds, batches: f.batches, onTopic: f.onTopic },
                });
              } else {
                options.log(`  ${RAW(kind, config.relayBatchSize)}: the same ${config.relayEvents} messages, pre-encoded...`);
                const f = await rawThroughput(filled, topics, config, profile(`${kind}-raw`));
                options.log(
                  `    ${f.eventsPerSec.toFixed(0)} events/s (${f.seconds.toFixed(2)} s, ${f.onTopic} on the topic), ` +
                    `CPU bench ${f.cpuPercent.toFixed(0)}% / broker ${f.brokerCpuPercent?.toFixed(0) ?? '?'}%`,
                );
                if (f.onTopic !== f.events) throw new Error(`raw: ${f.onTopic} of ${f.events} messages on the topic`);
                rates.raw = f.eventsPerSec;
                measurements.push({
                  scenario: RAW(kind, config.relayBatchSize),
                  metrics: {
                    'events/s': f.eventsPerSec,
                    'events/batch': config.relayBatchSize,
                    'bench cpu %': f.cpuPercent,
                    ...(f.brokerCpuPercent !== undefined ? { 'broker cpu %': f.brokerCpuPercent } : {}),
                  },
                  notes: { events: f.events, seconds: f.seconds, onTopic: f.onTopic },
                });
              }
            }
            if (rates.relay !== undefined && rates.raw !== undefined) measurements.push({ scenario: `${kind}: relay ÷ raw`, metrics: { 'ours/raw': rates.relay / rates.raw } });
          } finally {
            await filled.close();
          }

          // The consumer's own rate, once per run (it reads Kafka, whichever store fed it).
          if (relayedTopic && !measurements.some((m) => m.scenario === DRAIN('ours'))) {
            const count = Math.min(config.drainEvents, config.relayEvents);
            const rates: Partial<Record<'ours' | 'raw', number>> = {};
            for (const which of runIndex % 2 === 0 ? (['ours', 'raw'] as const) : (['raw', 'ours'] as const)) {
              options.log(`  ${DRAIN(which)}: the first ${count} events of the relayed topic...`);
              const f = await consumerDrain(which, relayedTopic, count, config, logger);
              options.log(`    ${f.eventsPerSec.toFixed(0)} events/s (${f.seconds.toFixed(2)} s), CPU bench ${f.cpuPercent.toFixed(0)}% / broker ${f.brokerCpuPercent?.toFixed(0) ?? '?'}%`);
              rates[which] = f.eventsPerSec;
              measurements.push({
                scenario: DRAIN(which),
                metrics: { 'events/s': f.eventsPerSec, 'bench cpu %': f.cpuPercent, ...(f.brokerCpuPercent !== undefined ? { 'broker cpu %': f.brokerCpuPercent } : {}) },
                notes: { events: f.events, seconds: f.seconds },
              });
            }
            if (rates.ours !== undefined && rates.raw !== undefined) measurements.push({ scenario: 'consumer ÷ raw consumer', metrics: { 'ours/raw': rates.ours / rates.raw } });
          }

          // (b) latency at an offered load
          const live = await openStores(kind, dir, 'latency');
          try {
            options.log(`  ${kind}: ${config.rate} events/s open loop for ${config.warmupSeconds} s warm-up + ${config.latencySeconds} s, relay + consumer group running...`);
            const f = await latencyAtLoad(live, sealing, topics, config, logger, profile(`${kind}-latency`));
            const line = (what: string, s: StageSummary) => `    ${what.padEnd(10)} p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(1)} ms`;
            options.log(`    group joined in ${f.groupJoinSeconds.toFixed(1)} s (not measured); the relay published ${f.relayBatchesPerSec.toFixed(0)} batches/s`);
            options.log(line('issued', f.issued));
            options.log(line('appended', f.appended));
            options.log(line('published', f.published));
            options.log(line('consumed', f.consumed));
            options.log(`    slowest per second (ms): ${f.maxPerSecondMs.join(' ')}`);
            options.log(
              `    offered ${f.offeredPerSec}/s, issued ${f.issuedPerSec.toFixed(0)}/s, consumed ${f.consumedPerSec.toFixed(0)}/s; ` +
                `lost ${f.lost}, duplicates ${f.duplicates}, errors ${f.errors}; CPU bench ${f.cpuPercent.toFixed(0)}% / broker ${f.brokerCpuPercent?.toFixed(0) ?? '?'}%`,
            );
            const row = (what: string, s: StageSummary, extra: Record<string, number> = {}): Measurement => ({
              scenario: LATENCY(kind, what),
              metrics: { 'p50 ms': s.p50, 'p99 ms': s.p99, 'max ms': s.max, ...extra },
            });
            measurements.push(
              row('issued (timer lag)', f.issued),
              row('appended', f.appended),
              row('published', f.published, { 'batches/s': f.relayBatchesPerSec }),
              {
                ...row('consumed', f.consumed, {
                  'offered/s': f.offeredPerSec,
                  'achieved/s': f.issuedPerSec,
                  'consumed/s': f.consumedPerSec,
                  lost: f.lost,
                  duplicates: f.duplicates,
                  errors: f.errors,
                  'bench cpu %': f.cpuPercent,
                  ...(f.brokerCpuPercent !== undefined ? { 'broker cpu %': f.brokerCpuPercent } : {}),
                }),
                notes: { measured: f.measured, groupJoinSeconds: f.groupJoinSeconds, maxPerSecondMs: f.maxPerSecondMs },
              },
            );
          } finally {
            await live.close();
          }
        }
      } finally {
        await sealing.close();
      }
    } finally {
      await topics.deleteAll().catch((error: unknown) => options.log(`  (could not delete the bench topics: ${error instanceof Error ? error.message : String(error)})`));
      rmSync(dir, { recursive: true, force: true });
    }
    return measurements;
  },
};
