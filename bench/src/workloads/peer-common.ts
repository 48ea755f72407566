/**
 * What the peer comparisons (peer-emmett on PostgreSQL, peer-emmett-sqlite) share: the ESBS-shaped
 * configuration, the side interface, the append driver (W writers, expected versions, conflicts
 * re-read), the fill of the read/rebuild data set, 64 concurrent stream readers, a timer with CPU
 * and RSS, and the recording of figures and ratios. Moved here from peer-emmett.ts (the side and
 * configuration types widened from its PostgreSQL ones), otherwise unchanged.
 */
import { join } from 'node:path';
import { type EventStore, type EventToAppend, WrongExpectedVersion } from '@crm/core';
import { customerStream } from '@crm/domain';
import { v7 as uuidv7 } from 'uuid';
import { startProfile } from '../profiler.ts';
import { summarizeLatencies } from '../stats.ts';
import type { BenchOptions, Measurement } from '../workload.ts';
import { eventFactory } from './event-payload.ts';
import { type Distribution, seededRandom, streamChooser } from './stream-choice.ts';
import { rssSampler } from './rss.ts';
import { readAllPages } from './store-catch-up.ts';

export interface PeerConfig {
  streams: number;
  writers: number;
  payloadBytes: number;
  zipfS: number;
  /** Events appended (successfully) per append scenario, and the cap in seconds. */
  appendEvents: number;
  appendMaxSeconds: number;
  warmupAppends: number;
  eventsPerAppend: number[];
  /** The read/rebuild data set: streams × events each, appended 100 at a time (not timed). */
  readStreams: number;
  eventsPerReadStream: number;
  readStreamReads: number;
  readers: number;
  pageSize: number;
}

/** The ESBS shape and the read/rebuild data set, full size or `--quick`. */
export function peerConfig(options: BenchOptions): PeerConfig {
  const quick = options.quick;
  return {
    streams: quick ? 1_000 : 10_000,
    writers: 64,
    payloadBytes: 256,
    zipfS: 0.99,
    appendEvents: options.appends ?? (quick ? 3_000 : 30_000),
    appendMaxSeconds: options.storeSeconds ?? (quick ? 10 : 30),
    warmupAppends: quick ? 300 : 1_000,
    eventsPerAppend: [1, 10],
    readStreams: quick ? 200 : 1_000,
    eventsPerReadStream: quick ? 50 : 100,
    readStreamReads: quick ? 1_000 : 5_000,
    readers: 64,
    pageSize: 1_000,
  };
}

/** One side of a comparison behind one shape: append with an expected version, read a stream, read all. */
export interface PeerSide {
  name: string;
  append(streamId: string, events: EventToAppend[], expected: number): Promise<number>;
  readStream(streamId: string): Promise<number>;
  readAll(pageSize: number, expected?: number): Promise<number>;
  close(): Promise<void>;
}

/** A failed expected-version check, with the version the side reports (or re-reads) as current. */
export class Conflict extends Error {
  constructor(readonly actual: number) {
    super('conflict');
  }
}

/** Our side on any store behind the EventStore port: the same calls whichever engine holds it. */
export function ourSide(store: EventStore, close: () => Promise<void>): PeerSide & { name: 'ours' } {
  return {
    name: 'ours',
    async append(streamId, events, expected) {
      try {
        return (await store.append(streamId, events, { expectedVersion: expected })).nextExpectedVersion;
      } catch (error) {
        if (error instanceof WrongExpectedVersion) throw new Conflict(error.actual);
        throw error;
      }
    },
    async readStream(streamId) {
      return (await store.readStream(streamId)).length;
    },
    readAll: (pageSize) => readAllPages(store, pageSize),
    close,
  };
}

/** The "events per stream" projection both sides rebuild: a page's count per stream. */
export function countsPerStream(page: ReadonlyArray<{ streamId: string }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of page) counts.set(event.streamId, (counts.get(event.streamId) ?? 0) + 1);
  return counts;
}

export interface AppendFigures {
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  conflicts: number;
  events: number;
  seconds: number;
  cpuPercent: number;
  rssPeakMiB: number;
}

/** W writers, each picking a stream and appending `perAppend` events with the version it believes current; conflicts re-read. */
export async function runAppend(
  side: PeerSide,
  config: PeerConfig,
  distribution: Distribution,
  perAppend: number,
  seed: number,
  profileFile?: string,
): Promise<AppendFigures> {
  const subjects = Array.from({ length: config.streams }, () => uuidv7());
  const streamIds = subjects.map(customerStream);
  const events = eventFactory('plaintext', config.payloadBytes);
  const choose = streamChooser(distribution, config.streams, seededRandom(seed), config.zipfS);
  const versions = new Float64Array(config.streams);

  async function drive(targetEvents: number, latencies?: number[], deadline = Number.POSITIVE_INFINITY) {
    let started = 0;
    let succeeded = 0;
    let conflicts = 0;
    const writer = async () => {
      while (started < targetEvents && performance.now() < deadline) {
        started += perAppend;
        const stream = choose();
        const expected = versions[stream]!;
        const t0 = performance.now();
        const batch: EventToAppend[] = [];
        for (let i = 0; i < perAppend; i++) batch.push(await events.next(subjects[stream]!));
        try {
          const next = await side.append(streamIds[stream]!, batch, expected);
          latencies?.push(performance.now() - t0);
          succeeded += perAppend;
          versions[stream] = Math.max(versions[stream]!, next);
        } catch (error) {
          if (!(error instanceof Conflict)) throw error;
          conflicts++;
          started -= perAppend;
          versions[stream] = Math.max(versions[stream]!, error.actual);
        }
      }
    };
    await Promise.all(Array.from({ length: config.writers }, writer));
    return { succeeded, conflicts };
  }

  await drive(config.warmupAppends * perAppend);
  const latencies: number[] = [];
  const rss = rssSampler();
  const profile = profileFile ? await startProfile() : undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const { succeeded, conflicts } = await drive(config.appendEvents, latencies, started + config.appendMaxSeconds * 1000);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (profileFile) await profile?.stop(profileFile);
  const summary = summarizeLatencies(latencies);
  return {
    eventsPerSec: succeeded / seconds,
    p50Ms: summary.p50,
    p99Ms: summary.p99,
    conflicts,
    events: succeeded,
    seconds,
    cpuPercent: (cpu.user + cpu.system) / 1e4 / seconds,
    rssPeakMiB: rss.stop(),
  };
}

/** Fills a store (not timed) with `streams` × `perStream` events, 100 per append, 8 streams at a time. */
export async function fill(side: PeerSide, config: PeerConfig): Promise<string[]> {
  const subjects = Array.from({ length: config.readStreams }, () => uuidv7());
  const streamIds = subjects.map(customerStream);
  const events = eventFactory('plaintext', config.payloadBytes);
  let next = 0;
  const worker = async () => {
    while (next < subjects.length) {
      const i = next++;
      let version = 0;
      while (version < config.eventsPerReadStream) {
        const n = Math.min(100, config.eventsPerReadStream - version);
        const batch: EventToAppend[] = [];
        for (let k = 0; k < n; k++) batch.push(await events.next(subjects[i]!));
        version = await side.append(streamIds[i]!, batch, version);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return streamIds;
}

export async function timed<T>(fn: () => Promise<T>, profileFile?: string): Promise<{ value: T; seconds: number; rssPeakMiB: number; cpuPercent: number }> {
  const rss = rssSampler();
  const profile = profileFile ? await startProfile() : undefined;
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (profileFile) await profile?.stop(profileFile);
  return { value, seconds, rssPeakMiB: rss.stop(), cpuPercent: (cpu.user + cpu.system) / 1e4 / seconds };
}

/** 64 readers reading random whole streams. */
export async function readStreams(side: PeerSide, streamIds: string[], config: PeerConfig, seed: number) {
  const random = seededRandom(seed);
  let started = 0;
  let events = 0;
  const latencies: number[] = [];
  const reader = async () => {
    while (started < config.readStreamReads) {
      started++;
      const t0 = performance.now();
      const n = await side.readStream(streamIds[Math.floor(random() * streamIds.length)]!);
      events += n;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: config.readers }, reader));
  return { events, latencies };
}

/** a ÷ b, when both are known and b > 0. */
export const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

/** A CPU profile's file for the scenario `name` of run `runIndex` (with --cpu-prof), e.g. `peer-append-1-flat-ours-run1.cpuprofile`. */
export function peerProfileFile(options: BenchOptions, prefix: string, runIndex: number): (name: string) => string | undefined {
  return (name) => (options.cpuProfDir ? join(options.cpuProfDir, `${prefix}-${name.replace(/[^a-z0-9]+/gi, '-')}-run${runIndex + 1}.cpuprofile`) : undefined);
}

/** Collects one run's measurements, remembers each scenario's events/s (for ratios), and logs each line. */
export function peerRecorder(options: BenchOptions) {
  const out: Measurement[] = [];
  const rate = new Map<string, number>();
  const record = (scenario: string, metrics: Record<string, number>, notes?: Record<string, unknown>) => {
    out.push({ scenario, metrics, ...(notes ? { notes } : {}) });
    if (metrics['events/s'] !== undefined) rate.set(scenario, metrics['events/s']);
    options.log(`    ${scenario}: ${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(k.includes('/') && !k.includes('events') ? 2 : 0)}`).join(', ')}${notes ? ` ${JSON.stringify(notes)}` : ''}`);
  };
  return { out, rate, record };
}
