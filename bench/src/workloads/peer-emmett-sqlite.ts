/**
 * Side by side with the peer on SQLite: our embedded event store (`openSqliteEventStore`, durable:
 * WAL + synchronous FULL) and Emmett's SQLite event store (`@event-driven-io/emmett-sqlite` 0.38.5
 * on `sqlite3`, through `@crm/bench-emmett-sqlite`; WAL + FULL too), each on a file of its own in
 * the same temp folder (same file system), same events, same writers — peer-emmett's method:
 *
 * - append with expected version, ESBS shape: N streams, 256-byte `CustomerDetailsChanged`,
 *   64 concurrent writers, flat and Zipf, 1 and 10 events per append (plaintext).
 * - read a stream (64 readers, random whole streams), catch-up read of all events (pages of 1,000
 *   in global order), projection rebuild "events per stream" into a table of the same file.
 *
 * Emmett runs in two modes (see bench-emmett-sqlite/src/index.ts): `store` — its
 * `getSQLiteEventStore`, one call at a time (concurrent calls break it); `connection` — its exported
 * `appendToStream`/`readStream` on one long-lived connection, appends one at a time. Goals compare
 * ours with the faster of the two. Emmett has no projection rebuild on SQLite: its rebuild here is a
 * consumer with a projection processor replaying from the beginning.
 *
 * Emmett's SQLite store is an optional install (the `sqlite3` native module): when it is missing,
 * the workload says so by name and why, and records no figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EMMETT_SQLITE_VERSION,
  emmettSqliteAvailability,
  type EmmettSqliteMode,
  type EmmettSqlitePeer,
  openEmmettSqlite,
  SqlitePeerVersionConflict,
} from '@crm/bench-emmett-sqlite';
import type { EventStore } from '@crm/core';
import { openSqliteEventStore } from '@crm/sqlite';
import Database from 'better-sqlite3';
import { summarizeLatencies } from '../stats.ts';
import type { Measurement, Workload } from '../workload.ts';
import { Conflict, countsPerStream, fill, ourSide, peerConfig, peerProfileFile, peerRecorder, type PeerSide, ratio, readStreams, runAppend, timed } from './peer-common.ts';
import { forEachPage } from './store-catch-up.ts';

type SideName = 'ours' | 'emmett store' | 'emmett connection';

interface Side extends PeerSide {
  name: SideName;
}

const EMMETT_SIDES: { name: Extract<SideName, `emmett ${string}`>; mode: EmmettSqliteMode }[] = [
  { name: 'emmett store', mode: 'store' },
  { name: 'emmett connection', mode: 'connection' },
];

const OURS_SETTINGS = { journal_mode: 'wal', synchronous: 'FULL', busy_timeout: 5000 } as const;

/** A fresh folder in the temp dir (the same file system for both sides), removed by `remove`. */
function freshDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-peer-sqlite-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function openOurs(path: string): Side & { store: EventStore; path: string } {
  // durable (the default): journal_mode WAL, synchronous FULL, group commit on a writer thread.
  const store = openSqliteEventStore({ path });
  return { ...ourSide(store, () => store.close()), store, path };
}

async function openEmmett(path: string, name: Extract<SideName, `emmett ${string}`>, mode: EmmettSqliteMode): Promise<Side & { peer: EmmettSqlitePeer }> {
  const peer = await openEmmettSqlite(path, mode);
  return {
    name,
    peer,
    async append(streamId, events, expected) {
      try {
        return await peer.append(
          streamId,
          events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, metadata: e.metadata as unknown as Record<string, unknown> })),
          expected,
        );
      } catch (error) {
        if (error instanceof SqlitePeerVersionConflict) throw new Conflict(error.actual);
        throw error;
      }
    },
    readStream: (streamId) => peer.readStream(streamId),
    readAll: (pageSize) => peer.readAll(pageSize),
    close: () => peer.close(),
  };
}

/**
 * Ours: the equivalent loop of a projection rebuild — pages of `readAll`, counts per stream, one
 * transaction per page with an upsert per stream and the checkpoint, on a connection of its own to
 * the same file, as durable as the store (WAL, synchronous FULL).
 */
async function ourRebuild(store: EventStore, path: string, pageSize: number): Promise<{ documents: number; counted: number }> {
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${OURS_SETTINGS.busy_timeout}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE IF NOT EXISTS stream_counts (stream_id TEXT PRIMARY KEY, count INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS stream_counts_checkpoint (id INTEGER PRIMARY KEY, position INTEGER NOT NULL);
             DELETE FROM stream_counts; DELETE FROM stream_counts_checkpoint;`);
    const upsert = db.prepare('INSERT INTO stream_counts (stream_id, count) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET count = count + excluded.count');
    const checkpoint = db.prepare('INSERT INTO stream_counts_checkpoint (id, position) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position');
    const commitPage = db.transaction((counts: Map<string, number>, position: number) => {
      for (const [stream, count] of counts) upsert.run(stream, count);
      checkpoint.run(position);
    });
    await forEachPage(store, pageSize, (page, after) => commitPage(countsPerStream(page), after));
    const row = db.prepare('SELECT count(*) AS documents, coalesce(sum(count), 0) AS counted FROM stream_counts').get() as { documents: number; counted: number };
    return { documents: row.documents, counted: row.counted };
  } finally {
    db.close();
  }
}

/** What each side's connections run with, read where it can be: Emmett's from a connection made as it makes them, ours from its file and code. */
async function durabilitySettings(): Promise<Record<string, unknown>> {
  const { dir, remove } = freshDir();
  try {
    const peer = await openEmmettSqlite(join(dir, 'emmett.sqlite'), 'store');
    const emmett = await peer.settings().finally(() => peer.close());
    const ours = openSqliteEventStore({ path: join(dir, 'ours.sqlite') });
    await ours.close();
    const file = new Database(join(dir, 'ours.sqlite'), { readonly: true });
    try {
      const journal = file.pragma('journal_mode', { simple: true });
      const sqlite = (file.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
      return { ours: { ...OURS_SETTINGS, journal_mode: journal, sqlite, driver: 'better-sqlite3' }, emmett: { ...emmett, driver: 'sqlite3' } };
    } finally {
      file.close();
    }
  } finally {
    remove();
  }
}

export const peerEmmettSqlite: Workload = {
  name: 'peer-emmett-sqlite',
  title: `Ours vs Emmett ${EMMETT_SQLITE_VERSION} on SQLite: append with expected version, read a stream, catch-up read, projection rebuild`,
  parameters(options) {
    const availability = emmettSqliteAvailability();
    return {
      ...peerConfig(options),
      peer: availability.available
        ? `@event-driven-io/emmett-sqlite ${availability.emmettSqlite} on sqlite3 ${availability.sqlite3}: getSQLiteEventStore one call at a time (store), and its appendToStream/readStream on one connection (connection)`
        : `NOT AVAILABLE: ${availability.reason}`,
      ours: '@crm/sqlite openSqliteEventStore, durable (default), plaintext (no sealing)',
      durability: 'both WAL + synchronous FULL (a commit is fsync’d before the append resolves)',
      files: `one per store, in ${tmpdir()}`,
    };
  },
  metrics: [
    { key: 'events/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'conflicts', digits: 0 },
    { key: 'version gaps', digits: 0 },
    { key: 'busy retries', digits: 0 },
    { key: 'cpu %', digits: 0 },
    { key: 'rss peak MiB', digits: 0 },
    { key: 'events missed', digits: 0 },
    { key: 'ours/emmett', digits: 2, ratio: 'peer' },
    { key: 'not run', digits: 0 },
  ],
  goals: [
    ...(['flat', 'zipf'] as const).flatMap((d) =>
      [1, 10].map((k) => ({
        label: `append ${k}/${d}: ours ≥ 1.5× Emmett SQLite (faster of its two modes)`,
        scenario: `append ${k}/${d} · ours ÷ emmett (best)`,
        metric: 'ours/emmett',
        op: '>=' as const,
        target: 1.5,
      })),
    ),
    { label: 'projection rebuild: ours ≥ 1.5× Emmett SQLite (its projection processor from the beginning)', scenario: 'rebuild · ours ÷ emmett', metric: 'ours/emmett', op: '>=', target: 1.5 },
  ],
  async run(options, runIndex) {
    const availability = emmettSqliteAvailability();
    if (!availability.available) {
      options.log(`   NOT RUN: the Emmett SQLite comparison (peer-emmett-sqlite) did not run, Emmett's SQLite store cannot be loaded: ${availability.reason}`);
      options.log('   (an optional install: see "peer-emmett-sqlite" in bench/README.md)');
      const notRun: Measurement = { scenario: "Emmett SQLite comparison NOT RUN (Emmett's SQLite store cannot be loaded)", metrics: { 'not run': 1 }, notes: { reason: availability.reason } };
      return [notRun];
    }
    const config = peerConfig(options);
    const { out, rate, record } = peerRecorder(options);
    const prof = peerProfileFile(options, 'peer-sqlite', runIndex);
    if (runIndex === 0) {
      const settings = await durabilitySettings();
      options.log(`   settings: ${JSON.stringify(settings)}`);
      out.push({ scenario: 'settings', metrics: {}, notes: settings });
    }

    const open = async (name: SideName, path: string): Promise<Side> => {
      if (name === 'ours') return openOurs(path);
      const { mode } = EMMETT_SIDES.find((s) => s.name === name)!;
      return openEmmett(path, name, mode);
    };
    const best = (scenarioOf: (name: SideName) => string) => {
      const rates = EMMETT_SIDES.map((s) => rate.get(scenarioOf(s.name))).filter((r): r is number => r !== undefined);
      return rates.length ? Math.max(...rates) : undefined;
    };

    // (a) append with expected version; the sides take turns going first.
    const names: SideName[] = ['ours', ...EMMETT_SIDES.map((s) => s.name)];
    const order = runIndex % 2 === 0 ? names : [...names].reverse();
    for (const distribution of ['flat', 'zipf'] as const) {
      for (const perAppend of config.eventsPerAppend) {
        const seed = 1000 * (runIndex + 1) + (distribution === 'zipf' ? 7 : 0) + perAppend;
        const scenarioOf = (name: SideName) => `append ${perAppend}/${distribution} · ${name}`;
        for (const name of order) {
          const scenario = scenarioOf(name);
          options.log(`  ${scenario}: ${config.appendEvents} events, ${config.writers} writers, ${config.streams} streams...`);
          const { dir, remove } = freshDir();
          try {
            const side = await open(name, join(dir, `${name.replace(' ', '-')}.sqlite`));
            try {
              const f = await runAppend(side, config, distribution, perAppend, seed, prof(scenario));
              const peer = 'peer' in side ? (side as Side & { peer: EmmettSqlitePeer }).peer : undefined;
              const emmettOnly: Record<string, number> = peer ? { 'version gaps': await peer.versionGaps(), 'busy retries': peer.busyRetries() } : {};
              record(scenario, { 'events/s': f.eventsPerSec, 'p50 ms': f.p50Ms, 'p99 ms': f.p99Ms, conflicts: f.conflicts, ...emmettOnly, 'cpu %': f.cpuPercent, 'rss peak MiB': f.rssPeakMiB }, { events: f.events, seconds: f.seconds });
            } finally {
              await side.close();
            }
          } finally {
            remove();
          }
        }
        const ours = rate.get(scenarioOf('ours'));
        const r = ratio(ours, best(scenarioOf));
        if (r !== undefined) record(`append ${perAppend}/${distribution} · ours ÷ emmett (best)`, { 'ours/emmett': r });
        const rs = ratio(ours, rate.get(scenarioOf('emmett store')));
        if (rs !== undefined) record(`append ${perAppend}/${distribution} · ours ÷ emmett store`, { 'ours/emmett': rs });
      }
    }

    // (b)–(d) on filled stores: ours, and one Emmett file read through both modes.
    const total = config.readStreams * config.eventsPerReadStream;
    const rebuildRates: { ours?: number; emmett?: number } = {};
    const fillOrder = runIndex % 2 === 0 ? (['ours', 'emmett'] as const) : (['emmett', 'ours'] as const);
    for (const which of fillOrder) {
      const { dir, remove } = freshDir();
      try {
        options.log(`  ${which}: filling ${config.readStreams} streams × ${config.eventsPerReadStream} events (not timed)...`);
        const path = join(dir, `${which}.sqlite`);
        // Emmett's file is filled through the connection mode (the faster); both modes read it.
        const first = await open(which === 'ours' ? 'ours' : 'emmett connection', path);
        const sides: Side[] = [first];
        try {
          const streamIds = await fill(first, config);
          if (which === 'emmett') sides.push(await open('emmett store', path));
          const readOrder = runIndex % 2 === 0 ? sides : [...sides].reverse();
          for (const side of readOrder) {
            const reads = await timed(() => readStreams(side, streamIds, config, 77 + runIndex), prof(`read-stream-${side.name}`));
            const lat = summarizeLatencies(reads.value.latencies);
            record(`read stream · ${side.name}`, { 'events/s': reads.value.events / reads.seconds, 'p50 ms': lat.p50, 'p99 ms': lat.p99, 'cpu %': reads.cpuPercent, 'rss peak MiB': reads.rssPeakMiB }, { reads: config.readStreamReads, events: reads.value.events, seconds: reads.seconds, streamsPerSec: config.readStreamReads / reads.seconds });
          }
          const label = which === 'ours' ? 'ours' : 'emmett';
          const all = await timed(() => first.readAll(config.pageSize), prof(`read-all-${label}`));
          if (all.value !== total) options.log(`    !!! ${label} read ${all.value} of the ${total} events stored`);
          record(`catch-up read all · ${label}`, { 'events/s': all.value / all.seconds, 'cpu %': all.cpuPercent, 'rss peak MiB': all.rssPeakMiB, 'events missed': total - all.value });
          if (which === 'ours') {
            const ours = first as ReturnType<typeof openOurs>;
            const rebuild = await timed(() => ourRebuild(ours.store, ours.path, config.pageSize), prof('rebuild-ours'));
            if (rebuild.value.counted !== total) throw new Error(`our rebuild counted ${rebuild.value.counted} of ${total}`);
            rebuildRates.ours = total / rebuild.seconds;
            record('rebuild · ours (readAll loop → upsert per stream and page)', { 'events/s': rebuildRates.ours, 'cpu %': rebuild.cpuPercent, 'rss peak MiB': rebuild.rssPeakMiB }, { documents: rebuild.value.documents });
          } else {
            const peer = (first as Side & { peer: EmmettSqlitePeer }).peer;
            const rebuild = await timed(() => peer.rebuild(config.pageSize), prof('rebuild-emmett'));
            if (rebuild.value.counted !== total) options.log(`    !!! Emmett's rebuild counted ${rebuild.value.counted} of the ${total} events stored`);
            rebuildRates.emmett = total / rebuild.seconds;
            record(
              'rebuild · emmett (consumer + projection processor from BEGINNING)',
              { 'events/s': rebuildRates.emmett, 'cpu %': rebuild.cpuPercent, 'rss peak MiB': rebuild.rssPeakMiB, 'events missed': total - rebuild.value.counted },
              { documents: rebuild.value.documents, checkpoint: rebuild.value.checkpoint, eventsStored: total },
            );
          }
        } finally {
          for (const side of sides) await side.close();
        }
      } finally {
        remove();
      }
    }
    const readBest = best((name) => `read stream · ${name}`);
    const rr = ratio(rate.get('read stream · ours'), readBest);
    if (rr !== undefined) record('read stream · ours ÷ emmett (best)', { 'ours/emmett': rr });
    const rc = ratio(rate.get('catch-up read all · ours'), rate.get('catch-up read all · emmett'));
    if (rc !== undefined) record('catch-up read all · ours ÷ emmett', { 'ours/emmett': rc });
    const rb = ratio(rebuildRates.ours, rebuildRates.emmett);
    if (rb !== undefined) record('rebuild · ours ÷ emmett', { 'ours/emmett': rb });
    return out;
  },
};
