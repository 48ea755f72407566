/**
 * The CRM in the bench process (as test/src/support/crm-under-test.ts starts it): `loadConfig`
 * from an env of our own (temp data dir, free port, JWT secret, log level warn), `openRuntime`
 * with a logger that writes through the bench log, `startCrm`. In process, so a workload can
 * watch `projections.progress$` and use `runtime.commands` directly, besides the HTTP API.
 */
import { randomBytes } from 'node:crypto';
import type { Role } from '@crm/contracts';
import { createLogger, type ReadStore } from '@crm/core';
import { mintDevToken, type RunningCrm, startCrm } from '@crm/api';
import { loadConfig, openRuntime } from '@crm/runtime';
import { SEGMENTS } from '@crm/contracts';

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

