/**
 * Query latency of the views on the embedded default: `GET /v1/views/service/customers`
 * pages of 20 customers with their personal fields opened, as a service agent, on a view of
 * 100,000 customers, closed loop with a few concurrent clients over HTTP.
 *
 * The customers are registered through the command service of a CRM started in this process
 * (not durable: it is setup), which is then stopped and started again on the same data
 * directory with the defaults (durable), so the measured CRM is the one a deployment runs:
 * it finds the view's generation and resumes it. Every answer is checked (20 items, every
 * `name` opened to a string), and every one that shows personal data writes an audit entry
 * (SQLite, synchronous = FULL) before it is sent: that is part of the figure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEGMENTS } from '@crm/contracts';
import { keepAliveClient, type KeepAliveClient } from '../http/keep-alive-client.ts';
import { startProfile } from '../profiler.ts';
import { percentileOfSorted, sorted } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { benchCustomerBody, benchCustomerEmail, benchKeys, runConcurrently, startInProcessCrm } from './crm-in-process.ts';

export interface ViewQueryConfig {
  customers: number;
  /** Commands in flight while registering them (not measured). */
  loadConcurrency: number;
  /** Concurrent HTTP clients, each one request at a time (closed loop). */
  clients: number;
  pageSize: number;
  /** Measured seconds per query shape, after `warmupSeconds` of the same shape. */
  seconds: number;
  warmupSeconds: number;
  /** Share of customers in the segment shape (b) filters on. */
  consumerShare: number;
}

export function viewQueryConfig(options: BenchOptions): ViewQueryConfig {
  return {
    customers: options.quick ? 10_000 : 100_000,
    loadConcurrency: 64,
    clients: 4,
    pageSize: 20,
    seconds: options.httpSeconds ?? (options.quick ? 3 : 10),
    warmupSeconds: options.quick ? 1 : 2,
    consumerShare: 0.5,
  };
}

type Shape = 'a' | 'b' | 'c';
const SHAPES: Shape[] = ['a', 'b', 'c'];
const SHAPE_LABEL: Record<Shape, string> = {
  a: '(a) page of 20, no filter, cursor walk',
  b: '(b) page of 20, segment=consumer, sort -registeredAt, cursor walk',
  c: '(c) email lookup (blind index), 1 item',
};
const ALL = 'all shapes (pooled)';

/** Segment of customer n: consumer for `consumerShare` of them, the others spread over the remaining segments. */
function segmentOf(n: number, config: ViewQueryConfig): (typeof SEGMENTS)[number] {
  const others = SEGMENTS.filter((s) => s !== 'consumer');
  const x = (n * 2654435761) % 1000; // spread, not in runs
  return x < config.consumerShare * 1000 ? 'consumer' : others[n % others.length]!;
}

interface ShapeFigures {
  latencies: number[];
  seconds: number;
  errors: number;
  shortPages: number;
  items: number;
  failureSamples: string[];
  cpuPercent: number;
}

interface Page {
  position?: number;
  items?: Array<Record<string, unknown>>;
  nextCursor?: string;
}

const param = (value: unknown) => encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value));

/** One query shape, `clients` at a time, for `seconds`; every answer checked. */
async function driveShape(
  shape: Shape,
  http: KeepAliveClient,
  authorization: string,
  config: ViewQueryConfig,
  seconds: number,
  random: () => number,
): Promise<ShapeFigures> {
  const latencies: number[] = [];
  const failureSamples: string[] = [];
  let errors = 0;
  let shortPages = 0;
  let items = 0;
  const fail = (what: string) => {
    errors++;
    if (failureSamples.length < 5) failureSamples.push(what.slice(0, 400));
  };
  const headers = { authorization };
  const base = '/v1/views/service/customers';
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const client = async () => {
    let cursor: string | undefined;
    while (performance.now() < deadline) {
      let path: string;
      let email: string | undefined;
      if (shape === 'a') path = `${base}?limit=${config.pageSize}${cursor ? `&cursor=${param(cursor)}` : ''}`;
      else if (shape === 'b') path = `${base}?limit=${config.pageSize}&filter=${param({ segment: 'consumer' })}&sort=-registeredAt${cursor ? `&cursor=${param(cursor)}` : ''}`;
      else {
        email = benchCustomerEmail(Math.floor(random() * config.customers));
        path = `${base}?limit=${config.pageSize}&filter=${param({ email })}`;
      }
      const t0 = performance.now();
      let answer;
      try {
        answer = await http.request('GET', path, headers);
      } catch (error) {
        fail(`${shape}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const latency = answer.endedAt - t0;
      if (answer.status !== 200) {
        fail(`${shape}: ${answer.status} ${answer.body}`);
        continue;
      }
      const page = JSON.parse(answer.body) as Page;
      const list = page.items ?? [];
      const opened = list.every((item) => typeof item.name === 'string' && typeof item.email === 'string');
      if (!opened) {
        fail(`${shape}: an item without an opened name/email: ${JSON.stringify(list.find((item) => typeof item.name !== 'string'))}`);
        continue;
      }
      if (shape === 'c') {
        if (list.length !== 1 || list[0]!.email !== email) {
          fail(`${shape}: expected exactly the customer with the email asked for, got ${list.length} items`);
          continue;
        }
      } else {
        if (shape === 'b' && !list.every((item) => item.segment === 'consumer')) {
          fail(`${shape}: an item of another segment`);
          continue;
        }
        if (list.length !== config.pageSize) {
          // Only the last page of a walk may be short; it is not counted, and the walk starts again.
          if (page.nextCursor || list.length === 0) fail(`${shape}: ${list.length} items with${page.nextCursor ? '' : 'out'} a next cursor`);
          else shortPages++;
          cursor = undefined;
          continue;
        }
        cursor = page.nextCursor;
      }
      latencies.push(latency);
      items += list.length;
    }
  };
  await Promise.all(Array.from({ length: config.clients }, client));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { latencies, seconds: elapsed, errors, shortPages, items, failureSamples, cpuPercent: (cpu.user + cpu.system) / 1e4 / elapsed };
}

/** A seeded PRNG (mulberry32), so runs ask for the same emails. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Summary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
}

function summary(values: number[]): Summary {
  const s = sorted(values);
  return { p50: percentileOfSorted(s, 50), p95: percentileOfSorted(s, 95), p99: percentileOfSorted(s, 99), max: s.length ? s[s.length - 1]! : Number.NaN, count: s.length };
}

export const viewQuery: Workload = {
  name: 'view-query',
  title: 'View queries: pages of 20 service customers with opened personal fields, embedded read store, closed loop over HTTP',
  parameters(options) {
    return {
      ...viewQueryConfig(options),
      view: 'service/customers',
      role: 'service-agent',
      crm: 'in the bench process: registered through runtime.commands (not durable), restarted on the defaults (durable) to measure; HTTP client in this process, keep-alive agent',
      audit: 'every answer with personal data writes an audit entry (SQLite, synchronous FULL) before it is sent',
      latency: 'request sent → last byte of the answer (before parsing)',
    };
  },
  metrics: [
    { key: 'req/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p95 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'max ms', digits: 1 },
    { key: 'items/answer', digits: 1 },
    { key: 'errors', digits: 0 },
    { key: 'bench cpu %', digits: 0 },
    { key: 'peak rss MiB', digits: 0 },
    { key: 'customers/s', digits: 0 },
  ],
  goals: [
    ...SHAPES.map((shape) => ({ label: `${SHAPE_LABEL[shape]}: p99 ≤ 20 ms`, scenario: SHAPE_LABEL[shape], metric: 'p99 ms', op: '<=' as const, target: 20 })),
    { label: 'all shapes: p99 ≤ 20 ms', scenario: ALL, metric: 'p99 ms', op: '<=', target: 20 },
    { label: 'every answer as expected (20 opened items; 1 for the lookup) in any run', scenario: ALL, metric: 'errors', op: '<=', target: 0, over: 'max' },
  ],
  async run(options, runIndex) {
    const config = viewQueryConfig(options);
    const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-query-'));
    const secret = randomBytes(32).toString('base64url');
    const keys = benchKeys();
    const measurements: Measurement[] = [];
    try {
      // Setup: register the customers on a CRM that does not fsync, then stop it.
      options.log(`  registering ${config.customers} customers through the command service (${config.loadConcurrency} in flight, not measured)...`);
      const loader = await startInProcessCrm({ env: { CRM_DATA_DIR: dataDir, CRM_DURABLE: 'false', ...keys }, secret, log: options.log });
      let loadSeconds: number;
      try {
        await loader.projections?.ready;
        const loadStarted = performance.now();
        const { head } = await runConcurrently(config.customers, config.loadConcurrency, (n) => loader.execute('RegisterCustomer', benchCustomerBody(n, segmentOf(n, config))));
        const committed = (performance.now() - loadStarted) / 1000;
        await loader.waitForViews(head, 600_000);
        loadSeconds = (performance.now() - loadStarted) / 1000;
        options.log(`    ${(config.customers / committed).toFixed(0)} commands/s; every view caught up after ${loadSeconds.toFixed(1)} s`);
      } finally {
        await loader.stop();
      }

      // Measured: the same data directory on the defaults (durable).
      const crm = await startInProcessCrm({ env: { CRM_DATA_DIR: dataDir, ...keys }, secret, log: options.log });
      try {
        await crm.projections?.ready;
        await crm.waitForViews(await crm.runtime.eventStore.headPosition(), 60_000);
        const http = keepAliveClient(crm.url, { maxSockets: config.clients });
        const authorization = await crm.authorization(['service-agent']);
        const random = seeded(runIndex + 1);
        let peakRss = process.memoryUsage.rss();
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
        const pooled: number[] = [];
        let pooledErrors = 0;
        let pooledItems = 0;
        let pooledSeconds = 0;
        try {
          for (const shape of SHAPES) {
            options.log(`  ${SHAPE_LABEL[shape]}: ${config.clients} clients, ${config.warmupSeconds} s warm-up + ${config.seconds} s...`);
            await driveShape(shape, http, authorization, config, config.warmupSeconds, random);
            const profile = options.cpuProfDir ? await startProfile() : undefined;
            const f = await driveShape(shape, http, authorization, config, config.seconds, random);
            if (profile && options.cpuProfDir) await profile.stop(join(options.cpuProfDir, `view-query-${shape}-run${runIndex + 1}.cpuprofile`));
            const s = summary(f.latencies);
            options.log(
              `    ${(s.count / f.seconds).toFixed(0)} req/s, p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(1)} ms; ` +
                `${(f.items / Math.max(1, s.count)).toFixed(1)} items/answer, errors ${f.errors}, short last pages ${f.shortPages}; CPU ${f.cpuPercent.toFixed(0)}%`,
            );
            for (const sample of f.failureSamples) options.log(`    !!! ${sample}`);
            pooled.push(...f.latencies);
            pooledErrors += f.errors;
            pooledItems += f.items;
            pooledSeconds += f.seconds;
            measurements.push({
              scenario: SHAPE_LABEL[shape],
              metrics: {
                'req/s': s.count / f.seconds,
                'p50 ms': s.p50,
                'p95 ms': s.p95,
                'p99 ms': s.p99,
                'max ms': s.max,
                'items/answer': f.items / Math.max(1, s.count),
                errors: f.errors,
                'bench cpu %': f.cpuPercent,
              },
              notes: { answers: s.count, shortLastPages: f.shortPages, ...(f.failureSamples.length ? { failureSamples: f.failureSamples } : {}) },
            });
          }
        } finally {
          clearInterval(sampler);
          http.close();
        }
        const s = summary(pooled);
        measurements.push(
          {
            scenario: ALL,
            metrics: {
              'req/s': s.count / pooledSeconds,
              'p50 ms': s.p50,
              'p95 ms': s.p95,
              'p99 ms': s.p99,
              'max ms': s.max,
              'items/answer': pooledItems / Math.max(1, s.count),
              errors: pooledErrors,
              'peak rss MiB': peakRss / 2 ** 20,
            },
            notes: { processMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), note: 'peak rss: sampled every 50 ms over the query phases (this process: CRM + client); processMaxRssMiB includes the setup' },
          },
          { scenario: 'setup: register customers, views caught up', metrics: { 'customers/s': config.customers / loadSeconds } },
        );
        options.log(`  all shapes: p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
      } finally {
        await crm.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    return measurements;
  },
};
