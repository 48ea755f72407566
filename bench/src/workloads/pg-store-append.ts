/**
 * The store-append workload (N streams, 256-byte events, W concurrent writers, one event per
 * append with an expected version, flat and Zipf) against the PostgreSQL event store, each
 * scenario on a fresh schema (dropped afterwards). In the same run, the raw baseline: the
 * same rows inserted into a bare copy of the store's `events` table (`CREATE TABLE … (LIKE
 * <store schema>.events INCLUDING ALL)`: same columns, types, collations, checks, primary key
 * and unique indexes; no triggers, no streams or idempotency tables) with multi-row INSERTs
 * of a fixed number of rows, by the same number of concurrent writers over a pg.Pool of the
 * store's pool size, durable (synchronous_commit as the server has it: on by default).
 * No expected-version read, no ordering lock, no idempotency, no NOTIFY: positions and
 * versions come from counters in this process.
 */
import { join } from 'node:path';
import { customerStream } from '@crm/domain';
import { openPostgresEventStore } from '@crm/postgres';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { enginePid, processTreeCpuSeconds } from '../engines.ts';
import { startProfile } from '../profiler.ts';
import { summarizeLatencies } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { customerDetails, eventFactory, personalBytes, type Variant } from './event-payload.ts';
import { dropSchema, freshSchema, pgQuery, redactUrl, serverSettings } from './pg.ts';
import { runStoreScenario, type StoreAppendConfig, storeAppendConfig, type StoreOpener } from './store-append.ts';
import { type Distribution, hottestShare, seededRandom, streamChooser } from './stream-choice.ts';

export interface PgStoreAppendConfig extends StoreAppendConfig {
  /** Connections of the store's pool, and of the raw baseline's pool. */
  poolSize: number;
  /** Rows per INSERT statement of the raw baseline. */
  rawRowsPerInsert: number;
  /** Which event variants run against our store (the raw baseline inserts plaintext rows). */
  variants: Variant[];
  /**
   * Diagnosis only (--pg-analyze): ANALYZE the store's tables (and the raw table) after the
   * warm-up, as autovacuum eventually does on a long-lived store. Off for the figures.
   */
  analyzeAfterWarmup: boolean;
}

export function pgStoreAppendConfig(options: BenchOptions): PgStoreAppendConfig {
  return { ...storeAppendConfig(options), poolSize: 10, rawRowsPerInsert: 64, variants: ['plaintext', 'sealed'], analyzeAfterWarmup: options.pgAnalyze ?? false };
}

function connectionString(): string {
  const url = process.env.CRM_PG_URL;
  if (!url) throw new Error('CRM_PG_URL is not set (main.ts brings PostgreSQL up when it is missing)');
  return url;
}

/** CPU of the PostgreSQL server (postmaster and its children), when it runs here and its pid is known. */
function pgServerCpu(url: string): () => number | undefined {
  const pid = enginePid('postgres', url);
  return () => processTreeCpuSeconds(pid);
}

/** Our store on a fresh schema, dropped again on close. */
function pgStoreOpener(url: string, poolSize: number, analyzeAfterWarmup: boolean): StoreOpener {
  return async (_dir, onCommit) => {
    const schema = freshSchema('store');
    const store = openPostgresEventStore({ connectionString: url, schema, poolSize, onCommit: ({ appends }) => onCommit(appends) });
    const close = async () => {
      try {
        await store.close();
      } finally {
        await dropSchema(url, schema);
      }
    };
    try {
      await store.ready;
    } catch (error) {
      await close().catch(() => {});
      throw error;
    }
    return {
      store,
      close,
      serverCpuSeconds: pgServerCpu(url),
      ...(analyzeAfterWarmup ? { afterWarmup: async () => void (await pgQuery(url, `ANALYZE "${schema}".events, "${schema}".streams, "${schema}".idempotency`)) } : {}),
    };
  };
}

const RAW_COLUMNS = 'global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at';

/** `INSERT … VALUES ($1..$8, now()), …` for `rows` rows. */
function rawInsertText(table: string, rows: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const base = r * 8;
    tuples.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7}, $${base + 8}, now())`);
  }
  return `INSERT INTO ${table} (${RAW_COLUMNS}) VALUES ${tuples.join(', ')}`;
}

export interface RawFigures {
  rowsPerSec: number;
  /** Per INSERT statement (rowsPerInsert rows), from building its first row to the commit. */
  p50Ms: number;
  p99Ms: number;
  rows: number;
  seconds: number;
  cpuPercent: number;
  serverCpuPercent?: number;
  indexes: number;
}

/**
 * The raw baseline: a bare copy of the store's events table in a fresh schema, W writers each
 * inserting `rowsPerInsert` rows per statement (autocommit: one durable commit per statement)
 * over a pool of `poolSize` connections. Rows are built by the same event factory (plaintext),
 * streams picked by the same chooser and seed as our store's scenario.
 */
export async function runRawScenario(
  config: PgStoreAppendConfig,
  distribution: Distribution,
  seed: number,
  url: string,
  profileFile?: string,
): Promise<RawFigures> {
  const template = freshSchema('tmpl');
  const schema = freshSchema('raw');
  const table = `"${schema}"."events"`;
  let pool: pg.Pool | undefined;
  try {
    // The store's own DDL, by migrating a throwaway store schema and copying its events table.
    const templateStore = openPostgresEventStore({ connectionString: url, schema: template, poolSize: 1 });
    try {
      await templateStore.ready;
    } finally {
      await templateStore.close();
    }
    await pgQuery(url, `CREATE SCHEMA "${schema}"; CREATE TABLE ${table} (LIKE "${template}"."events" INCLUDING ALL)`);
    await dropSchema(url, template);
    const { rows: indexRows } = await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM pg_indexes WHERE schemaname = $1', [schema]);

    pool = new pg.Pool({ connectionString: url, max: config.poolSize, application_name: 'crm-bench-raw' });
    pool.on('error', () => {});
    const openPool = pool;
    const subjects = Array.from({ length: config.streams }, () => uuidv7());
    const streamIds = subjects.map(customerStream);
    const events = eventFactory('plaintext', config.payloadBytes);
    const choose = streamChooser(distribution, config.streams, seededRandom(seed), config.zipfS);
    const versions = new Float64Array(config.streams);
    let position = 0;
    const statements = new Map<number, { name: string; text: string }>();
    const statement = (rows: number) => {
      let s = statements.get(rows);
      if (!s) statements.set(rows, (s = { name: `raw-insert-${rows}`, text: rawInsertText(table, rows) }));
      return s;
    };

    /** W writers until `target` rows are inserted (or the deadline); per-statement latencies into `latencies`. */
    async function drive(target: number, latencies?: number[], deadline = Number.POSITIVE_INFINITY) {
      let started = 0;
      let inserted = 0;
      const writer = async () => {
        while (started < target && performance.now() < deadline) {
          const n = Math.min(config.rawRowsPerInsert, target - started);
          started += n;
          const t0 = performance.now();
          const values: unknown[] = new Array(n * 8);
          for (let r = 0; r < n; r++) {
            const stream = choose();
            const event = await events.next(subjects[stream]!);
            const v = r * 8;
            values[v] = ++position;
            values[v + 1] = event.eventId;
            values[v + 2] = streamIds[stream]!;
            const version = versions[stream]! + 1;
            versions[stream] = version;
            values[v + 3] = version;
            values[v + 4] = event.type;
            values[v + 5] = event.schemaVersion;
            values[v + 6] = JSON.stringify(event.data);
            values[v + 7] = JSON.stringify(event.metadata);
          }
          await openPool.query({ ...statement(n), values });
          latencies?.push(performance.now() - t0);
          inserted += n;
        }
      };
      await Promise.all(Array.from({ length: config.writers }, writer));
      return inserted;
    }

    await drive(config.warmupAppends);
    if (config.analyzeAfterWarmup) await pgQuery(url, `ANALYZE ${table}`);
    const serverCpu = pgServerCpu(url);
    const latencies: number[] = [];
    const profile = profileFile ? await startProfile() : undefined;
    const serverCpuBefore = serverCpu();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const rows = await drive(config.appends, latencies, started + config.maxSeconds * 1000);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverCpuAfter = serverCpu();
    if (profileFile) await profile?.stop(profileFile);
    const { rows: countRows } = await pgQuery<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`);
    if (Number(countRows[0]?.n) !== config.warmupAppends + rows) throw new Error(`raw baseline: ${countRows[0]?.n} rows in the table, expected ${config.warmupAppends + rows}`);
    const summary = summarizeLatencies(latencies);
    return {
      rowsPerSec: rows / seconds,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      rows,
      seconds,
      cpuPercent: (cpu.user + cpu.system) / 1e4 / seconds,
      ...(serverCpuBefore !== undefined && serverCpuAfter !== undefined ? { serverCpuPercent: ((serverCpuAfter - serverCpuBefore) * 100) / seconds } : {}),
      indexes: Number(indexRows[0]?.n),
    };
  } finally {
    await pool?.end();
    await dropSchema(url, template).catch(() => {});
    await dropSchema(url, schema);
  }
}

const raw = (distribution: Distribution, rows: number) => `raw INSERT ${rows} rows/stmt / ${distribution}`;

/** Ours and raw alternate which goes first from run to run, so neither always gets the fresher machine. */
function scenarios(config: PgStoreAppendConfig, runIndex: number): [Variant | 'raw', Distribution][] {
  const order: (Variant | 'raw')[] = runIndex % 2 === 0 ? [...config.variants, 'raw'] : ['raw', ...config.variants];
  return (['flat', 'zipf'] as const).flatMap((distribution) => order.map((kind): [Variant | 'raw', Distribution] => [kind, distribution]));
}

export const pgStoreAppend: Workload = {
  name: 'pg-store-append',
  title: 'Store level on PostgreSQL: concurrent single-event appends with expected version vs raw multi-row INSERTs (durable)',
  engines: ['postgres'],
  parameters(options) {
    const config = pgStoreAppendConfig(options);
    const sample = customerDetails(uuidv7(), 1, config.payloadBytes);
    return {
      ...config,
      postgres: redactUrl(process.env.CRM_PG_URL),
      event: 'CustomerDetailsChanged',
      personalBytesSealed: personalBytes(sample),
      hottestStreamShareZipf: Number(hottestShare('zipf', config.streams, config.zipfS).toFixed(4)),
      latency: 'ours: from building (and sealing) the event to append resolved; raw: per INSERT statement, from building its first row to its commit',
      raw: 'bare copy of the store events table (LIKE … INCLUDING ALL), multi-row INSERT, autocommit, positions/versions from in-process counters',
    };
  },
  metrics: [
    { key: 'events/s', digits: 0 },
    { key: 'rows/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'conflicts', digits: 0 },
    { key: 'appends/commit', digits: 1 },
    { key: 'stored data bytes', digits: 0 },
    { key: 'bench cpu %', digits: 0 },
    { key: 'pg cpu %', digits: 0 },
    { key: 'ours/raw', digits: 3, ratio: 'limit' },
    { key: 'sealed/plaintext', digits: 3, ratio: 'feature' },
  ],
  goals: [
    { label: 'plaintext ≥ 40% of raw INSERT throughput (flat)', scenario: 'plaintext ÷ raw (flat)', metric: 'ours/raw', op: '>=', target: 0.4 },
    { label: 'plaintext ≥ 40% of raw INSERT throughput (zipf)', scenario: 'plaintext ÷ raw (zipf)', metric: 'ours/raw', op: '>=', target: 0.4 },
  ],
  async run(options, runIndex) {
    const config = pgStoreAppendConfig(options);
    const url = connectionString();
    const settings = await serverSettings(url);
    if (runIndex === 0) options.log(`  server: ${JSON.stringify(settings)}`);
    const measurements: Measurement[] = [];
    const rate = new Map<string, number>();
    for (const [kind, distribution] of scenarios(config, runIndex)) {
      const seed = 1000 * (runIndex + 1) + (distribution === 'zipf' ? 7 : 0);
      const profileFile = options.cpuProfDir ? join(options.cpuProfDir, `pg-${kind}-${distribution}-run${runIndex + 1}.cpuprofile`) : undefined;
      if (kind === 'raw') {
        const name = raw(distribution, config.rawRowsPerInsert);
        options.log(`  ${name}: ${config.appends} rows, ${config.writers} writers, pool ${config.poolSize}...`);
        const f = await runRawScenario(config, distribution, seed, url, profileFile);
        options.log(
          `    ${f.rowsPerSec.toFixed(0)} rows/s, per INSERT p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms, ` +
            `CPU bench ${f.cpuPercent.toFixed(0)}% / postgres ${f.serverCpuPercent?.toFixed(0) ?? '?'}%, ${f.indexes} indexes`,
        );
        rate.set(name, f.rowsPerSec);
        measurements.push({
          scenario: name,
          metrics: {
            'rows/s': f.rowsPerSec,
            'p50 ms': f.p50Ms,
            'p99 ms': f.p99Ms,
            'bench cpu %': f.cpuPercent,
            ...(f.serverCpuPercent !== undefined ? { 'pg cpu %': f.serverCpuPercent } : {}),
          },
          notes: { rows: f.rows, seconds: f.seconds, indexes: f.indexes, latency: 'per INSERT statement', server: settings },
        });
        continue;
      }
      const name = `${kind} / ${distribution}`;
      options.log(`  ${name}: ${config.appends} appends, ${config.writers} writers, ${config.streams} streams, pool ${config.poolSize}...`);
      const f = await runStoreScenario(config, kind, distribution, seed, profileFile, pgStoreOpener(url, config.poolSize, config.analyzeAfterWarmup));
      if (f.appends < config.appends) options.log(`  (stopped after ${config.maxSeconds} s with ${f.appends} appends)`);
      options.log(
        `    ${f.eventsPerSec.toFixed(0)} events/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms, ` +
          `${f.conflicts} conflicts, ${f.appendsPerCommit.toFixed(1)} appends/commit, ` +
          `CPU bench ${f.cpuPercent.toFixed(0)}% / postgres ${f.serverCpuPercent?.toFixed(0) ?? '?'}%` +
          (kind === 'sealed' ? ` (key setup ${f.keySetupSeconds.toFixed(1)} s, not measured)` : ''),
      );
      rate.set(name, f.eventsPerSec);
      measurements.push({
        scenario: name,
        metrics: {
          'events/s': f.eventsPerSec,
          'p50 ms': f.p50Ms,
          'p99 ms': f.p99Ms,
          conflicts: f.conflicts,
          'appends/commit': f.appendsPerCommit,
          'stored data bytes': f.storedDataBytes,
          'bench cpu %': f.cpuPercent,
          ...(f.serverCpuPercent !== undefined ? { 'pg cpu %': f.serverCpuPercent } : {}),
        },
        notes: { appends: f.appends, seconds: f.seconds, server: settings },
      });
    }
    for (const distribution of ['flat', 'zipf'] as const) {
      const plain = rate.get(`plaintext / ${distribution}`);
      const sealed = rate.get(`sealed / ${distribution}`);
      const bare = rate.get(raw(distribution, config.rawRowsPerInsert));
      if (plain !== undefined && bare !== undefined) measurements.push({ scenario: `plaintext ÷ raw (${distribution})`, metrics: { 'ours/raw': plain / bare } });
      if (sealed !== undefined && bare !== undefined) measurements.push({ scenario: `sealed ÷ raw (${distribution})`, metrics: { 'ours/raw': sealed / bare } });
      if (sealed !== undefined && plain !== undefined) measurements.push({ scenario: `sealed ÷ plaintext (${distribution})`, metrics: { 'sealed/plaintext': sealed / plain } });
    }
    return measurements;
  },
};
