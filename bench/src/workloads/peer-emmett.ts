/**
 * Side by side with the peer: our PostgreSQL event store and Emmett's (`@event-driven-io/emmett-postgresql`
 * 0.42.0, through `@crm/bench-emmett`), on the same PostgreSQL server, same events, same writers:
 *
 * - append with expected version, shaped like the Event Store Benchmark Suite: N streams,
 *   256-byte `CustomerDetailsChanged`, 64 concurrent writers, flat and Zipf stream choice, 1 and 10
 *   events per append; plaintext (no sealing: the plain EventStore port against Emmett's store).
 *   The engine's limit in the same run: the raw multi-row INSERT of pg-store-append.
 * - read a stream (64 concurrent readers, random whole streams), catch-up read of all events
 *   (pages of 1,000 in global order; limit: keyset SELECT pages on our events table), and a
 *   projection rebuild (events per stream into a table/documents in the same database: ours is
 *   the equivalent loop over `readAll`, Emmett's is its own `rebuildPostgreSQLProjections`
 *   with a Pongo single-stream projection and, separately, with a raw batch SQL projection),
 *   on stores filled beforehand (not timed) with the same events.
 * Each store gets a fresh schema (ours) or database (Emmett's: its table names are fixed), dropped afterwards.
 */
import { type EmmettPeer, EMMETT_VERSION, openEmmettPostgres, PeerVersionConflict } from '@crm/bench-emmett';
import type { EventStore } from '@crm/core';
import { openPostgresEventStore } from '@crm/postgres';
import pg from 'pg';
import { summarizeLatencies } from '../stats.ts';
import type { BenchOptions, Workload } from '../workload.ts';
import { Conflict, countsPerStream, fill, ourSide, type PeerConfig, peerConfig, peerProfileFile, peerRecorder, type PeerSide, ratio, readStreams, runAppend, timed } from './peer-common.ts';
import { forEachPage } from './store-catch-up.ts';
import { dropSchema, freshSchema, redactUrl, serverSettings } from './pg.ts';
import { pgStoreAppendConfig, runRawScenario } from './pg-store-append.ts';

export interface PeerEmmettConfig extends PeerConfig {
  poolSize: number;
}

export function peerEmmettConfig(options: BenchOptions): PeerEmmettConfig {
  return { ...peerConfig(options), poolSize: 10 };
}

function serverUrl(): string {
  const url = process.env.CRM_PG_URL;
  if (!url) throw new Error('CRM_PG_URL is not set (main.ts brings PostgreSQL up when it is missing)');
  return url;
}

/** The two sides behind one shape: append with an expected version, read a stream. */
interface Side extends PeerSide {
  name: 'ours' | 'emmett';
}

async function openOurs(url: string, poolSize: number): Promise<Side & { store: EventStore; schema: string }> {
  const schema = freshSchema('peer');
  const store = openPostgresEventStore({ connectionString: url, schema, poolSize });
  await store.ready;
  const close = async () => {
    try {
      await store.close();
    } finally {
      await dropSchema(url, schema);
    }
  };
  return { ...ourSide(store, close), store, schema };
}

async function openEmmett(url: string, poolSize: number): Promise<Side & { peer: EmmettPeer }> {
  const peer = await openEmmettPostgres(url, freshSchema('emmett'), { poolSize });
  try {
    await peer.ready();
  } catch (error) {
    await peer.close().catch(() => {});
    throw error;
  }
  return {
    name: 'emmett',
    peer,
    async append(streamId, events, expected) {
      try {
        return await peer.append(
          streamId,
          events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, metadata: e.metadata as unknown as Record<string, unknown> })),
          expected,
        );
      } catch (error) {
        if (error instanceof PeerVersionConflict) throw new Conflict(error.actual);
        throw error;
      }
    },
    readStream: (streamId) => peer.readStream(streamId),
    readAll: (pageSize, expected) => peer.readAll(pageSize, expected),
    close: () => peer.close(),
  };
}

async function ourRebuild(url: string, store: EventStore, schema: string, pageSize: number): Promise<{ documents: number; counted: number }> {
  const client = new pg.Client({ connectionString: url, application_name: 'crm-bench-peer' });
  await client.connect();
  try {
    const table = `"${schema}".stream_counts`;
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (stream_id text PRIMARY KEY, count bigint NOT NULL);
       CREATE TABLE IF NOT EXISTS "${schema}".stream_counts_checkpoint (id int PRIMARY KEY, position bigint NOT NULL);
       TRUNCATE ${table}; DELETE FROM "${schema}".stream_counts_checkpoint`,
    );
    await forEachPage(store, pageSize, async (page, after) => {
      const counts = countsPerStream(page);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ${table} (stream_id, count) SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (stream_id) DO UPDATE SET count = ${table}.count + excluded.count`,
        [[...counts.keys()], [...counts.values()]],
      );
      await client.query(
        `INSERT INTO "${schema}".stream_counts_checkpoint (id, position) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET position = excluded.position`,
        [after],
      );
      await client.query('COMMIT');
    });
    const { rows } = await client.query<{ documents: string; counted: string }>(`SELECT count(*) AS documents, coalesce(sum(count), 0) AS counted FROM ${table}`);
    return { documents: Number(rows[0]!.documents), counted: Number(rows[0]!.counted) };
  } finally {
    await client.end();
  }
}

/** The engine's limit for catch-up reads: keyset pages of the bare rows, straight from our events table. */
async function rawReadAll(url: string, schema: string, pageSize: number): Promise<number> {
  const client = new pg.Client({ connectionString: url, application_name: 'crm-bench-peer-raw' });
  await client.connect();
  try {
    let after = 0;
    let read = 0;
    for (;;) {
      const { rows } = await client.query<{ global_position: string }>({
        name: 'raw-read-all',
        text: `SELECT global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at
               FROM "${schema}".events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
        values: [after, pageSize],
      });
      read += rows.length;
      if (rows.length < pageSize) return read;
      after = Number(rows[rows.length - 1]!.global_position);
    }
  } finally {
    await client.end();
  }
}

export const peerEmmett: Workload = {
  name: 'peer-emmett',
  title: `Ours vs Emmett ${EMMETT_VERSION} on PostgreSQL: append with expected version, read a stream, catch-up read, projection rebuild`,
  engines: ['postgres'],
  parameters(options) {
    return {
      ...peerEmmettConfig(options),
      peer: `@event-driven-io/emmett-postgresql ${EMMETT_VERSION}`,
      ours: '@crm/postgres openPostgresEventStore, plaintext (no sealing)',
      limit: 'append: raw multi-row INSERT (64 rows) into a copy of our events table (pg-store-append); catch-up: keyset SELECT pages of our events table',
      server: redactUrl(process.env.CRM_PG_URL),
    };
  },
  metrics: [
    { key: 'events/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'conflicts', digits: 0 },
    { key: 'cpu %', digits: 0 },
    { key: 'rss peak MiB', digits: 0 },
    { key: 'events missed', digits: 0 },
    { key: 'ours/emmett', digits: 2, ratio: 'peer' },
    { key: 'ours/limit', digits: 2, ratio: 'limit' },
  ],
  goals: [
    ...(['flat', 'zipf'] as const).flatMap((d) =>
      [1, 10].map((k) => ({ label: `append ${k}/${d}: ours ≥ 1.5× Emmett`, scenario: `append ${k}/${d} · ours ÷ emmett`, metric: 'ours/emmett', op: '>=' as const, target: 1.5 })),
    ),
    { label: 'projection rebuild: ours ≥ 1.5× Emmett (best of its two projections)', scenario: 'rebuild · ours ÷ emmett (best)', metric: 'ours/emmett', op: '>=', target: 1.5 },
  ],
  async run(options, runIndex) {
    const config = peerEmmettConfig(options);
    const url = serverUrl();
    if (runIndex === 0) options.log(`   server: ${JSON.stringify(await serverSettings(url))}`);
    const { out, rate, record } = peerRecorder(options);
    const prof = peerProfileFile(options, 'peer', runIndex);

    // (a) append with expected version; the two sides take turns going first.
    const order = (runIndex % 2 === 0 ? ['ours', 'emmett'] : ['emmett', 'ours']) as Side['name'][];
    for (const distribution of ['flat', 'zipf'] as const) {
      for (const perAppend of config.eventsPerAppend) {
        const seed = 1000 * (runIndex + 1) + (distribution === 'zipf' ? 7 : 0) + perAppend;
        for (const name of order) {
          const scenario = `append ${perAppend}/${distribution} · ${name}`;
          options.log(`  ${scenario}: ${config.appendEvents} events, ${config.writers} writers, ${config.streams} streams...`);
          const side = name === 'ours' ? await openOurs(url, config.poolSize) : await openEmmett(url, config.poolSize);
          try {
            const f = await runAppend(side, config, distribution, perAppend, seed, prof(scenario));
            record(scenario, { 'events/s': f.eventsPerSec, 'p50 ms': f.p50Ms, 'p99 ms': f.p99Ms, conflicts: f.conflicts, 'cpu %': f.cpuPercent, 'rss peak MiB': f.rssPeakMiB }, { events: f.events, seconds: f.seconds });
          } finally {
            await side.close();
          }
        }
        const r = ratio(rate.get(`append ${perAppend}/${distribution} · ours`), rate.get(`append ${perAppend}/${distribution} · emmett`));
        if (r !== undefined) record(`append ${perAppend}/${distribution} · ours ÷ emmett`, { 'ours/emmett': r });
      }
      // The engine's limit: raw multi-row INSERTs of the same rows (pg-store-append's baseline).
      const rawConfig = { ...pgStoreAppendConfig(options), streams: config.streams, appends: config.appendEvents, maxSeconds: config.appendMaxSeconds, warmupAppends: config.warmupAppends };
      options.log(`  limit · raw INSERT (${rawConfig.rawRowsPerInsert} rows) / ${distribution}...`);
      const raw = await runRawScenario(rawConfig, distribution, 1000 * (runIndex + 1) + 3, url);
      record(`append limit/${distribution} · raw multi-row INSERT`, { 'events/s': raw.rowsPerSec, 'cpu %': raw.cpuPercent });
      for (const perAppend of config.eventsPerAppend) {
        const r = ratio(rate.get(`append ${perAppend}/${distribution} · ours`), raw.rowsPerSec);
        if (r !== undefined) record(`append ${perAppend}/${distribution} · ours ÷ raw INSERT`, { 'ours/limit': r });
      }
    }

    // (b)–(d) on filled stores.
    const total = config.readStreams * config.eventsPerReadStream;
    const rebuildRates: Record<string, number> = {};
    for (const name of order) {
      options.log(`  ${name}: filling ${config.readStreams} streams × ${config.eventsPerReadStream} events (not timed)...`);
      const side = name === 'ours' ? await openOurs(url, config.poolSize) : await openEmmett(url, config.poolSize);
      try {
        const streamIds = await fill(side, config);
        const reads = await timed(() => readStreams(side, streamIds, config, 77 + runIndex), prof(`read-stream-${name}`));
        const lat = summarizeLatencies(reads.value.latencies);
        record(`read stream · ${name}`, { 'events/s': reads.value.events / reads.seconds, 'p50 ms': lat.p50, 'p99 ms': lat.p99, 'cpu %': reads.cpuPercent, 'rss peak MiB': reads.rssPeakMiB }, { reads: config.readStreamReads, events: reads.value.events, seconds: reads.seconds, streamsPerSec: config.readStreamReads / reads.seconds });
        const all = await timed(() => side.readAll(config.pageSize), prof(`read-all-${name}`));
        if (all.value !== total) options.log(`    !!! ${name} read ${all.value} of the ${total} events stored`);
        record(`catch-up read all · ${name}`, { 'events/s': all.value / all.seconds, 'cpu %': all.cpuPercent, 'rss peak MiB': all.rssPeakMiB, 'events missed': total - all.value });
        if (side.name === 'ours') {
          const ours = side as Awaited<ReturnType<typeof openOurs>>;
          const raw = await timed(() => rawReadAll(url, ours.schema, config.pageSize));
          record('catch-up read all · limit: raw SELECT pages', { 'events/s': raw.value / raw.seconds, 'cpu %': raw.cpuPercent });
          const rebuild = await timed(() => ourRebuild(url, ours.store, ours.schema, config.pageSize), prof('rebuild-ours'));
          if (rebuild.value.counted !== total) throw new Error(`our rebuild counted ${rebuild.value.counted} of ${total}`);
          rebuildRates.ours = total / rebuild.seconds;
          record('rebuild · ours (readAll loop → upsert per page)', { 'events/s': rebuildRates.ours, 'cpu %': rebuild.cpuPercent, 'rss peak MiB': rebuild.rssPeakMiB }, { documents: rebuild.value.documents });
        } else {
          const peer = (side as Awaited<ReturnType<typeof openEmmett>>).peer;
          // Pongo first: a second Pongo rebuild in the same database found nothing to do in 0.42.0.
          for (const kind of ['pongo', 'raw-sql'] as const) {
            const rebuild = await timed(() => peer.rebuild(kind, config.pageSize), prof(`rebuild-emmett-${kind}`));
            if (rebuild.value.counted !== total) options.log(`    !!! Emmett's ${kind} rebuild counted ${rebuild.value.counted} of the ${total} events stored`);
            rebuildRates[kind] = total / rebuild.seconds;
            record(`rebuild · emmett ${kind === 'pongo' ? 'Pongo single-stream projection' : 'raw batch SQL projection'}`, { 'events/s': rebuildRates[kind]!, 'cpu %': rebuild.cpuPercent, 'rss peak MiB': rebuild.rssPeakMiB, 'events missed': total - rebuild.value.counted }, { documents: rebuild.value.documents });
          }
        }
      } finally {
        await side.close();
      }
    }
    for (const what of ['read stream', 'catch-up read all'] as const) {
      const r = ratio(rate.get(`${what} · ours`), rate.get(`${what} · emmett`));
      if (r !== undefined) record(`${what} · ours ÷ emmett`, { 'ours/emmett': r });
    }
    const rl = ratio(rate.get('catch-up read all · ours'), rate.get('catch-up read all · limit: raw SELECT pages'));
    if (rl !== undefined) record('catch-up read all · ours ÷ raw SELECT', { 'ours/limit': rl });
    const bestPeer = Math.max(rebuildRates.pongo ?? 0, rebuildRates['raw-sql'] ?? 0);
    const rr = ratio(rebuildRates.ours, bestPeer || undefined);
    if (rr !== undefined) record('rebuild · ours ÷ emmett (best)', { 'ours/emmett': rr });
    const rp = ratio(rebuildRates.ours, rebuildRates.pongo);
    if (rp !== undefined) record('rebuild · ours ÷ emmett Pongo', { 'ours/emmett': rp });
    return out;
  },
};
