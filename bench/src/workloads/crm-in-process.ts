/**
 * The CRM in the bench process (as test/src/support/crm-under-test.ts starts it): `loadConfig`
 * from an env of our own (temp data dir, free port, JWT secret, log level warn), `openRuntime`
 * with a logger that writes through the bench log, `startCrm`. In process, so a workload can
 * watch `projections.progress$` and use `runtime.commands` directly, besides the HTTP API.
 */
import { randomBytes } from 'node:crypto';
import { parseKafkaUrl } from '@crm/kafka';
import kafkajs from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { Role } from '@crm/contracts';
import { createLogger, type ReadStore } from '@crm/core';
import { mintDevToken, type RunningCrm, startCrm } from '@crm/api';
import { loadConfig, openRuntime } from '@crm/runtime';
import { SEGMENTS } from '@crm/contracts';
import { dropSchema, freshSchema } from './pg.ts';

export interface InProcessCrm extends RunningCrm {
  /** A bearer token (cached) for these roles. */
  authorization(roles: Role[]): Promise<string>;
  /** Runs a command through the command service (no HTTP, no role check); throws on refusal. */
  execute(type: string, body: unknown): Promise<{ position: number; [extra: string]: unknown }>;
  /** Waits until every view has applied `position`; throws when one has not within `timeoutMs`. */
  waitForViews(position: number, timeoutMs: number): Promise<void>;
}

export interface InProcessOptions {
  /** CRM_* variables on top of the bench's defaults (CRM_DATA_DIR is required). */
  env: Record<string, string>;
  /** HS256 secret for the tokens (and CRM_JWT_SECRET). */
  secret: string;
  log(line: string): void;
  /** Wraps the runtime's read store before the CRM starts (a bench-only stand-in for an adapter fix, e.g. `chunkedUpserts`). */
  wrapReadStore?: (store: ReadStore) => ReadStore;
}

/** Random 32-byte keys as base64, so the CRM generates (and warns about) none. */
export function benchKeys(): { CRM_MASTER_KEY: string; CRM_VIEW_KEY: string } {
  return { CRM_MASTER_KEY: randomBytes(32).toString('base64'), CRM_VIEW_KEY: randomBytes(32).toString('base64') };
}

export async function startInProcessCrm(options: InProcessOptions): Promise<InProcessCrm> {
  const config = loadConfig({ CRM_PORT: '0', CRM_LOG_LEVEL: 'warn', CRM_JWT_SECRET: options.secret, ...options.env });
  const logger = createLogger({ level: config.logLevel, write: (line) => options.log(`    [crm] ${line}`) });
  const runtime = await openRuntime(config, logger);
  if (options.wrapReadStore) runtime.readStore = options.wrapReadStore(runtime.readStore);
  const crm = await startCrm(config, runtime);
  const tokens = new Map<string, Promise<string>>();
  return {
    ...crm,
    authorization(roles) {
      const key = roles.join(',');
      let token = tokens.get(key);
      if (!token) {
        token = mintDevToken(options.secret, { subject: `bench-${roles.join('+')}`, roles, ttlSeconds: 6 * 3600 }).then((t) => `Bearer ${t}`);
        tokens.set(key, token);
      }
      return token;
    },
    async execute(type, body) {
      const answer = await crm.runtime.commands.execute({ type, body, actor: 'bench-loader' });
      return answer as { position: number; [extra: string]: unknown };
    },
    async waitForViews(position, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (const view of crm.runtime.views) {
        const left = Math.max(1, deadline - performance.now());
        if (!(await crm.reader.waitForPosition(view.name, position, left))) {
          throw new Error(`view ${view.name} did not reach position ${position} within ${timeoutMs} ms (it is at ${await crm.reader.position(view.name)})`);
        }
      }
    },
  };
}

/** A person customer whose every personal value is unique to `n` (the email is what the blind-index lookups ask for). */
export function benchCustomerBody(n: number, segment: (typeof SEGMENTS)[number] = SEGMENTS[n % SEGMENTS.length]!): Record<string, unknown> {
  return {
    name: `Bench Person ${n}`,
    email: benchCustomerEmail(n),
    phone: `+49 30 ${String(1_000_000 + n).slice(-7)}`,
    address: { street: `Benchstraße ${(n % 300) + 1}`, postalCode: String(10_000 + (n % 89_999)), city: 'Berlin', country: 'DE' },
    dateOfBirth: `19${60 + (n % 40)}-0${(n % 9) + 1}-1${n % 10}`,
    segment,
  };
}

export const benchCustomerEmail = (n: number): string => `bench.person.${n}@example.org`;

/**
 * Runs `count` commands, `concurrency` at a time; `command(i)` names each. Resolves with the
 * answers in order and the highest position written.
 */
export async function runConcurrently<T extends { position: number }>(
  count: number,
  concurrency: number,
  command: (i: number) => Promise<T>,
): Promise<{ answers: T[]; head: number }> {
  const answers = new Array<T>(count);
  let next = 0;
  let head = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const answer = await command(i);
      answers[i] = answer;
      head = Math.max(head, answer.position);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { answers, head };
}

/**
 * A ReadStore whose upserts go to the store in chunks of at most `size` documents, in order.
 * Bench-only, for FerretDB 1.24 (SQLite backend): its `update` command keeps every update's
 * query open until the whole command returns (`defer closer.Close()` inside the loop over the
 * updates, internal/handler/msg_update.go), and its pool has 100 SQLite connections per
 * database, so one bulkWrite of ~100 upserts (the MongoDB adapter sends a projector batch as
 * one) waits for a connection it holds itself: every later operation on that database hangs.
 * Not product code: it stands in for a bounded bulkWrite in infra/mongodb's upsert. Upserts
 * are idempotent and were never atomic across documents, so chunking changes nothing else.
 */
export function chunkedUpserts(store: ReadStore, size: number): ReadStore {
  return {
    ...store,
    async upsert(collection, documents) {
      for (let i = 0; i < documents.length; i += size) await store.upsert(collection, documents.slice(i, i + size));
    },
  };
}


/** A CRM configuration on the real engines, with the URLs it uses and the clean-up of what it made. */
export interface EngineCrmSetup {
  env: Record<string, string>;
  urls: { pg: string; kafka: string; mongo: string };
  wrapReadStore(store: ReadStore): ReadStore;
  cleanUp(): Promise<void>;
}

/**
 * PostgreSQL event and key stores (fresh schemas), a fresh Kafka topic and a fresh MongoDB
 * (FerretDB) database, from CRM_PG_URL, CRM_KAFKA_URL and CRM_MONGO_URL; `label` names them.
 * The clean-up drops all three and reports every part that failed.
 */
export function engineCrmSetup(label: string, ferretDbUpsertChunk: number): EngineCrmSetup {
  const pg = process.env.CRM_PG_URL;
  const kafka = process.env.CRM_KAFKA_URL;
  const mongo = process.env.CRM_MONGO_URL;
  if (!pg || !kafka || !mongo) throw new Error('CRM_PG_URL, CRM_KAFKA_URL and CRM_MONGO_URL must be set (main.ts brings the engines up when they are missing)');
  const eventsSchema = freshSchema(`${label}_events`);
  const keysSchema = freshSchema(`${label}_keys`);
  const topic = `crm-bench-${label}-${randomBytes(4).toString('hex')}`;
  const database = `crm_bench_${label}_${randomBytes(5).toString('hex')}`;
  return {
    env: {
      CRM_EVENT_STORE: pg,
      CRM_EVENT_STORE_SCHEMA: eventsSchema,
      CRM_KEY_STORE: pg,
      CRM_KEY_STORE_SCHEMA: keysSchema,
      CRM_BUS: kafka,
      CRM_KAFKA_TOPIC: topic,
      CRM_READ_STORE: mongo,
      CRM_READ_STORE_DB: database,
    },
    urls: { pg, kafka, mongo },
    // FerretDB 1.24 deadlocks on a bulkWrite of ~100 upserts (see chunkedUpserts); MongoDB does not.
    wrapReadStore: (store) => chunkedUpserts(store, ferretDbUpsertChunk),
    async cleanUp() {
      const problems: string[] = [];
      const attempt = async (what: string, work: () => Promise<unknown>) => {
        try {
          await work();
        } catch (error) {
          problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        }
      };
      await attempt('drop schemas', async () => {
        await dropSchema(pg, eventsSchema);
        await dropSchema(pg, keysSchema);
      });
      await attempt('delete topics', async () => {
        const admin = new kafkajs.Kafka({ clientId: 'crm-bench-admin', brokers: parseKafkaUrl(kafka), logLevel: kafkajs.logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          const existing = new Set(await admin.listTopics());
          const doomed = [topic, `${topic}.dlq`].filter((t) => existing.has(t));
          if (doomed.length) await admin.deleteTopics({ topics: doomed, timeout: 30_000 });
        } finally {
          await admin.disconnect();
        }
      });
      await attempt('drop database', async () => {
        const client = new MongoClient(mongo, { serverSelectionTimeoutMS: 5000 });
        try {
          await client.db(database).dropDatabase();
        } finally {
          await client.close();
        }
      });
      if (problems.length) throw new Error(`clean-up after ${topic}: ${problems.join('; ')}`);
    },
  };
}
