/**
 * Subject export (Art. 15/20): how long `exportSubject` takes to stream everything held on
 * one data subject with a long history, on the embedded default (SQLite event and key
 * stores), and what it costs in memory.
 *
 * - History (once per process, untimed): written through the command service (sealed, real
 *   deciders), non-durable to write it fast. The subject is a person customer with
 *   `subjectEvents` events naming them: registration, rectifications of their details,
 *   consents given and withdrawn, service cases with many notes (written case by case side by
 *   side, so that appends share commits), deals opened, moved and won. As many events of
 *   other people are interleaved (their own cases and notes), so the subject's events are
 *   spread across the log as in a real store.
 * - Export (timed, per run): a fresh Keyring (cold key cache, as after a restart) and the
 *   four views of the CRM; the document's chunks are consumed and dropped as they come, as
 *   the HTTP route writes them. Memory: RSS and heap sampled at every chunk (garbage
 *   included), and in a second, untimed pass the heap retained after a full collection at
 *   every chunk: what the export holds on to while it streams.
 * - `scan` (for comparison): the same export on a store whose `readBySubject` pages through
 *   the whole log and filters, as on EventStoreDB, which has no subject index.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CommandService, type EventStore, generateMasterKey, Keyring, type KeyStore, type MasterKeys, masterKeys, type RecordedEvent } from '@crm/core';
import { commandHandlers } from '@crm/domain';
import { exportSubject } from '@crm/privacy';
import { createViewKeys, crmViews } from '@crm/projector';
import { openSqliteEventStore, openSqliteKeyStore } from '@crm/sqlite';
import { v7 as uuidv7 } from 'uuid';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';

export interface SubjectExportConfig {
  /** Events naming the subject. */
  subjectEvents: number;
  /** Events of other people interleaved with them. */
  otherEvents: number;
  /** The subject's service cases, among which their notes are spread. */
  cases: number;
  /** Rectifications of the subject's details (each a `CustomerDetailsChanged`). */
  rectifications: number;
  /** The subject's deals (opened, moved, won: one event naming them, two related). */
  deals: number;
  /** Events per page of the subject index: `exportSubject`'s default. */
  pageSize: number;
}

export function subjectExportConfig(options: BenchOptions): SubjectExportConfig {
  return options.quick
    ? { subjectEvents: 2_000, otherEvents: 2_000, cases: 10, rectifications: 40, deals: 5, pageSize: 500 }
    : { subjectEvents: 10_000, otherEvents: 10_000, cases: 40, rectifications: 200, deals: 10, pageSize: 500 };
}

interface History {
  dir: string;
  eventStore: EventStore;
  keyStore: KeyStore;
  keys: MasterKeys;
  subjectId: string;
  /** Events in the store. */
  head: number;
  setupSeconds: number;
}

let history: Promise<History> | undefined;

async function writeHistory(config: SubjectExportConfig, log: (line: string) => void): Promise<History> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-export-'));
  const eventStore = openSqliteEventStore({ path: join(dir, 'events.sqlite'), durable: false });
  const keyStore = openSqliteKeyStore({ path: join(dir, 'keys.sqlite') });
  const keys = masterKeys(generateMasterKey());
  const keyring = new Keyring({ keyStore, masterKeys: keys, cacheTtlMs: 3_600_000 });
  const commands = new CommandService({ eventStore, keyring, handlers: commandHandlers, newId: uuidv7 });
  const run = async (type: string, body: Record<string, unknown>) => commands.execute({ type, body, actor: 'bench-export' });

  const agent = String((await run('HireEmployee', {
    name: 'Bench Agent', email: 'agent@example.org', position: 'Agent', department: 'Service', salaryBand: 'B3', startDate: '2020-01-01',
  })).subjectId);
  const subjectId = String((await run('RegisterCustomer', {
    name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 30 1234567',
    address: { street: 'Musterweg 1', postalCode: '10115', city: 'Berlin', country: 'DE' }, dateOfBirth: '1985-05-05',
    segment: 'consumer', accountOwnerId: agent,
  })).subjectId);
  let named = 1;
  for (let r = 0; r < config.rectifications; r++) {
    await run('ChangeCustomerDetails', { customerId: subjectId, email: `erika.${r}@example.org`, ...(r % 10 === 0 ? { name: `Erika Mustermann ${r}` } : {}) });
    named++;
  }
  for (const purpose of ['marketing-email', 'phone-marketing', 'profiling']) {
    await run('GiveConsent', { customerId: subjectId, purpose, legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' });
    named++;
  }
  await run('WithdrawConsent', { customerId: subjectId, purpose: 'profiling', source: 'email' });
  named++;
  for (let d = 0; d < config.deals; d++) {
    const dealId = String((await run('OpenDeal', { customerId: subjectId, title: `Deal ${d}`, amountMinor: 1000_00 + d, currency: 'EUR', ownerId: agent })).dealId);
    await run('MoveDealStage', { dealId, stage: 'proposal' });
    await run('WinDeal', { dealId });
    named++;
  }
  const caseIds: string[] = [];
  for (let c = 0; c < config.cases; c++) {
    caseIds.push(String((await run('OpenServiceCase', { customerId: subjectId, channel: 'email', summary: `Case ${c}: the router blinks`, assignedAgentId: agent })).caseId));
    named++;
  }
  const notes = config.subjectEvents - named;
  const others = Math.max(1, Math.round(config.otherEvents / 100));
  const noise = Array.from({ length: others }, async (_, o) => {
    const other = String((await run('RegisterCustomer', { name: `Other Person ${o}`, email: `other.${o}@example.org`, segment: 'consumer' })).subjectId);
    const caseId = String((await run('OpenServiceCase', { customerId: other, channel: 'phone', summary: `Other case ${o}` })).caseId);
    for (let n = 0; n < config.otherEvents / others - 2; n++) await run('AddCaseNote', { caseId, text: `Other note ${o}/${n}: ${'y'.repeat(150)}` });
  });
  // The subject's notes, spread over their cases, written side by side with the noise.
  await Promise.all([
    ...caseIds.map(async (caseId, c) => {
      const count = Math.floor(notes / caseIds.length) + (c < notes % caseIds.length ? 1 : 0);
      for (let n = 0; n < count; n++) {
        await run('AddCaseNote', { caseId, text: `Note ${c}/${n}: called the customer back about the router; ${'x'.repeat(150)}`, authorAgentId: agent });
      }
    }),
    ...noise,
  ]);
  for (const caseId of caseIds) await run('ResolveServiceCase', { caseId, resolution: 'solved' });
  const head = await eventStore.headPosition();
  const setupSeconds = (performance.now() - started) / 1000;
  log(`   history: ${head} events, ${config.subjectEvents} naming the subject (written in ${setupSeconds.toFixed(1)} s, not measured)`);
  return { dir, eventStore, keyStore, keys, subjectId, head, setupSeconds };
}

/** The store with `readBySubject` done by paging through the whole log: what an adapter without an index does. */
function scanningStore(store: EventStore, pageSize: number): EventStore {
  return Object.assign(Object.create(store) as EventStore, {
    async readBySubject(subjectId: string, options: { after?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
      const limit = options.limit ?? pageSize;
      const found: RecordedEvent[] = [];
      let after = options.after ?? 0;
      for (;;) {
        const page = await store.readAll({ after, limit: 1000 });
        for (const event of page) {
          if (event.metadata.subjectIds.includes(subjectId)) found.push(event);
          if (found.length === limit) return found;
        }
        const last = page.at(-1);
        if (!last) return found;
        after = last.globalPosition;
      }
    },
  });
}

/** A full garbage collection, for the memory pass (`--expose-gc` turned on at run time). */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function measure(h: History, config: SubjectExportConfig, scenario: 'index' | 'scan'): Promise<Measurement> {
  const views = crmViews(createViewKeys(randomBytes(32)));
  const eventStore = scenario === 'index' ? h.eventStore : scanningStore(h.eventStore, config.pageSize);
  const chunksOf = () =>
    exportSubject({
      eventStore,
      keyring: new Keyring({ keyStore: h.keyStore, masterKeys: h.keys, cacheTtlMs: 60_000 }),
      keyStore: h.keyStore,
      views,
      subjectId: h.subjectId,
      pageSize: config.pageSize,
    });
  const gc = collectGarbage();

  // Timed pass: chunks consumed and dropped as they come.
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let rssPeak = rssBefore;
  let heapPeak = heapBefore;
  let bytes = 0;
  let chunks = 0;
  let last = '';
  const cpu = process.cpuUsage();
  const started = performance.now();
  for await (const chunk of chunksOf()) {
    bytes += Buffer.byteLength(chunk);
    chunks++;
    last = chunk;
    const { rss, heapUsed } = process.memoryUsage();
    rssPeak = Math.max(rssPeak, rss);
    heapPeak = Math.max(heapPeak, heapUsed);
  }
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);

  // Memory pass (untimed): what the export holds on to, after a full collection at every chunk.
  gc();
  const retainedBefore = process.memoryUsage().heapUsed;
  let retainedPeak = retainedBefore;
  for await (const chunk of chunksOf()) {
    if (chunk.length === 0) continue;
    gc();
    retainedPeak = Math.max(retainedPeak, process.memoryUsage().heapUsed);
  }
  const summary = JSON.parse(/"summary":(\{[^}]*\})\}\s*$/.exec(last)?.[1] ?? '{}') as { records?: number; relatedEvents?: number };
  const events = (summary.records ?? 0) + (summary.relatedEvents ?? 0);
  return {
    scenario: scenario === 'index' ? `export via the subject index (${config.subjectEvents} events)` : `export scanning the log (${h.head} events)`,
    metrics: {
      ms,
      'events/s': events / (ms / 1000),
      'cpu ms': (used.user + used.system) / 1000,
      MB: bytes / 1e6,
      chunks,
      'peak rss growth MB': (rssPeak - rssBefore) / 1e6,
      'peak heap growth MB': (heapPeak - heapBefore) / 1e6,
      'retained heap growth MB': (retainedPeak - retainedBefore) / 1e6,
    },
    notes: { records: summary.records, relatedEvents: summary.relatedEvents },
  };
}

export const subjectExport: Workload = {
  name: 'export',
  title: 'Subject export (Art. 15/20): one subject with a long history, streamed (embedded SQLite)',
  parameters: (options) => ({ ...subjectExportConfig(options), durableHistory: false, views: ['service', 'sales', 'hr', 'analytics'] }),
  metrics: [
    { key: 'ms', digits: 0 },
    { key: 'events/s', digits: 0 },
    { key: 'cpu ms', digits: 0 },
    { key: 'MB', digits: 1 },
    { key: 'chunks', digits: 0 },
    { key: 'peak rss growth MB', digits: 1 },
    { key: 'peak heap growth MB', digits: 1 },
    { key: 'retained heap growth MB', digits: 2 },
  ],
  goals: [],
  async run(options, runIndex) {
    const config = subjectExportConfig(options);
    history ??= writeHistory(config, options.log);
    const h = await history;
    try {
      // The two take turns going first.
      const results = new Map<string, Measurement>();
      for (const scenario of runIndex % 2 === 0 ? (['index', 'scan'] as const) : (['scan', 'index'] as const)) {
        const result = await measure(h, config, scenario);
        options.log(`  ${result.scenario}: ${result.metrics.ms!.toFixed(0)} ms, ${result.metrics.MB!.toFixed(1)} MB in ${result.metrics.chunks} chunks, retained heap +${result.metrics['retained heap growth MB']!.toFixed(2)} MB`);
        results.set(scenario, result);
      }
      return [results.get('index')!, results.get('scan')!];
    } finally {
      if (runIndex === options.runs - 1) {
        history = undefined;
        await h.eventStore.close();
        await h.keyStore.close();
        rmSync(h.dir, { recursive: true, force: true });
      }
    }
  },
};
