/**
 * Freshness of the views: from a command to the change being visible in the view that holds
 * it, under an open-loop load of commands over HTTP at a fixed rate (1,000/s), on two
 * configurations of one CRM started in this process:
 *
 * - embedded: the default (SQLite event, key and read stores; in-process bus; durable);
 * - pg+kafka+mongodb: PostgreSQL event and key stores (fresh schemas), Kafka bus (fresh topic,
 *   relay inline), MongoDB read store (FerretDB, fresh database); projectors inline.
 *
 * Commands are scheduled by time (one every 1 ms), whatever the earlier ones are doing, and
 * every latency is taken from the scheduled send time (no coordinated omission). "Visible" =
 * the service view (all three command types change it) has applied the command's `position`:
 * its watermark, as `projections.progress$` publishes it, is ≥ that position — the same test
 * `minPosition` makes. A sample of commands is also read back over HTTP with `minPosition`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enginePid, processCpuSeconds, processTreeCpuSeconds } from '../engines.ts';
import { type HttpAnswer, keepAliveClient } from '../http/keep-alive-client.ts';
import { startProfile } from '../profiler.ts';
import { percentileOfSorted, sorted } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { benchCustomerBody, benchKeys, engineCrmSetup, type InProcessCrm, runConcurrently, startInProcessCrm } from './crm-in-process.ts';
import { changeCustomerDetailsBody } from './http-commands.ts';
import { redactUrl } from './pg.ts';

export type FreshnessSetup = 'embedded' | 'pg+kafka+mongodb';

export interface ViewFreshnessConfig {
  /** Offered load, commands/s. */
  rate: number;
  /** Measured seconds per configuration, after `warmupSeconds` of the same load. */
  seconds: number;
  warmupSeconds: number;
  /** Customers registered (and cases opened) before the load, not measured. */
  customers: number;
  cases: number;
  /** Every n-th command (a ChangeCustomerDetails) is also read back over HTTP with minPosition. */
  readBackEvery: number;
  /** How long to wait after the last command for answers and for the view to apply everything. */
  drainSeconds: number;
  /** Sockets of the keep-alive agent the commands go through. */
  maxSockets: number;
  setups: FreshnessSetup[];
  /** Out of 20 commands: which slot is which type (the rest are ChangeCustomerDetails). */
  mix: { AddCaseNote: number; GiveConsent: number };
}

export function viewFreshnessConfig(options: BenchOptions): ViewFreshnessConfig {
  return {
    rate: options.rate ?? 1_000,
    seconds: options.latencySeconds ?? (options.quick ? 5 : 30),
    warmupSeconds: options.quick ? 1 : 3,
    customers: 2_000,
    cases: 200,
    readBackEvery: 20,
    drainSeconds: 30,
    maxSockets: 256,
    setups: ['embedded', 'pg+kafka+mongodb'],
    mix: { AddCaseNote: 1, GiveConsent: 1 },
  };
}

const VIEW = 'service';
/** Most documents per upsert sent to FerretDB: its pool has 100 connections per database, shared by the four views writing at once. */
export const FERRETDB_UPSERT_CHUNK = 10;
const KIND = { change: 0, note: 1, consent: 2 } as const;
const KIND_PATH = ['/v1/commands/ChangeCustomerDetails', '/v1/commands/AddCaseNote', '/v1/commands/GiveConsent'];

/** Slot i % 20: 0 is a ChangeCustomerDetails that is read back; 7 AddCaseNote; 13 GiveConsent; else ChangeCustomerDetails. */
function kindOf(i: number, config: ViewFreshnessConfig): number {
  const slot = i % 20;
  if (slot >= 7 && slot < 7 + config.mix.AddCaseNote) return KIND.note;
  if (slot >= 13 && slot < 13 + config.mix.GiveConsent) return KIND.consent;
  return KIND.change;
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
  return {
    p50: percentileOfSorted(s, 50),
    p95: percentileOfSorted(s, 95),
    p99: percentileOfSorted(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
    count: s.length,
  };
}

/** What one configuration brings: the CRM's env on top of the defaults, and how to clean up after it. */
interface Setup {
  env: Record<string, string>;
  /** Bench-only read store wrapper (see chunkedUpserts). */
  wrapReadStore?: Parameters<typeof startInProcessCrm>[0]['wrapReadStore'];
  /** CPU seconds so far of the engines this configuration uses (when they run here). */
  engineCpu(): Record<string, number | undefined>;
  cleanUp(): Promise<void>;
}

function embeddedSetup(): Setup {
  return { env: {}, engineCpu: () => ({}), cleanUp: async () => {} };
}

function enginesSetup(): Setup {
  const engines = engineCrmSetup('fresh', FERRETDB_UPSERT_CHUNK);
  const pids = { pg: enginePid('postgres', engines.urls.pg), kafka: enginePid('kafka', engines.urls.kafka), ferretdb: enginePid('ferretdb', engines.urls.mongo) };
  return {
    ...engines,
    engineCpu: () => ({ pg: processTreeCpuSeconds(pids.pg), broker: processCpuSeconds(pids.kafka), ferretdb: processCpuSeconds(pids.ferretdb) }),
  };
}

interface SetupFigures {
  commands: Summary;
  timerLag: Summary;
  visible: Summary;
  readBack: Summary;
  /** Scheduled send of the command → the read-back's answer. */
  commandToRead: Summary;
  offeredPerSec: number;
  achievedPerSec: number;
  answeredPerSec: number;
  measured: number;
  notVisible: number;
  viewBehind: number;
  errors: number;
  failureSamples: string[];
  statusCounts: Record<string, number>;
  cpuPercent: number;
  engineCpuPercent: Record<string, number>;
  /** Per second of the measured window (by scheduled time): the slowest freshness, ms. */
  maxVisiblePerSecondMs: number[];
  /** How long the views took to follow the bus at start (probe), s. */
  followSeconds: number;
  seedSeconds: number;
}

/** One configuration, measured once. `extraEnv` (diagnosis only, not used by the workload) goes on top of the configuration's env. */
export async function measureFreshnessSetup(
  kind: FreshnessSetup,
  config: ViewFreshnessConfig,
  options: BenchOptions,
  runIndex: number,
  extraEnv: Record<string, string> = {},
): Promise<SetupFigures> {
  const setup = kind === 'embedded' ? embeddedSetup() : enginesSetup();
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-fresh-'));
  const secret = randomBytes(32).toString('base64url');
  let crm: InProcessCrm | undefined;
  let subscription: { unsubscribe(): void } | undefined;
  const client = { current: undefined as ReturnType<typeof keepAliveClient> | undefined };
  try {
    crm = await startInProcessCrm({
      env: { CRM_DATA_DIR: dataDir, ...benchKeys(), ...setup.env, ...extraEnv },
      secret,
      log: options.log,
      ...(setup.wrapReadStore ? { wrapReadStore: setup.wrapReadStore } : {}),
    });
    const c = crm;
    if (!c.projections) throw new Error('the projectors must run in this process (CRM_PROJECTOR=inline)');
    await c.projections.ready;

    // Until every view follows the bus (a fresh Kafka topic takes seconds to form the consumer groups), a probe waits.
    const followStarted = performance.now();
    const probe = await c.execute('RegisterOrganisation', { organisationName: 'Probe GmbH', segment: 'enterprise', contacts: [] });
    await c.waitForViews(probe.position, 60_000);
    const followSeconds = (performance.now() - followStarted) / 1000;

    options.log(`    views follow (${followSeconds.toFixed(1)} s); seeding ${config.customers} customers and ${config.cases} cases (not measured)...`);
    const seedStarted = performance.now();
    const registered = await runConcurrently(config.customers, 32, (n) => c.execute('RegisterCustomer', benchCustomerBody(n, 'consumer')));
    const customers = registered.answers.map((a) => String(a.subjectId));
    const opened = await runConcurrently(config.cases, 32, (n) =>
      c.execute('OpenServiceCase', { customerId: customers[(n * 7) % customers.length]!, channel: 'email', summary: `Bench case ${n}` }),
    );
    const cases = opened.answers.map((a) => String(a.caseId));
    await c.waitForViews(Math.max(registered.head, opened.head), 300_000);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // Watermark history of the view: every time it moved, when and to where (monotonic).
    const marks: number[] = [];
    const markTimes: number[] = [];
    subscription = c.projections.progress$.subscribe((progress) => {
      const w = progress.get(VIEW);
      if (w !== undefined && (marks.length === 0 || w > marks[marks.length - 1]!)) {
        marks.push(w);
        markTimes.push(performance.now());
      }
    });
    /** When the watermark first reached `position` (NaN if it never did). */
    const reachedAt = (position: number): number => {
      let low = 0;
      let high = marks.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (marks[mid]! < position) low = mid + 1;
        else high = mid;
      }
      return low < marks.length ? markTimes[low]! : Number.NaN;
    };

    const http = keepAliveClient(c.url, { maxSockets: config.maxSockets });
    client.current = http;
    const commandHeaders = { 'content-type': 'application/json', authorization: await c.authorization(['sales-rep', 'service-agent']) };
    const readHeaders = { authorization: await c.authorization(['service-agent']) };
    const reader = keepAliveClient(c.url, { maxSockets: 64 });

    const warmupCount = Math.round(config.rate * config.warmupSeconds);
    const measuredCount = Math.round(config.rate * config.seconds);
    const total = warmupCount + measuredCount;
    const firstMeasured = warmupCount;
    const scheduledAt = new Float64Array(total).fill(Number.NaN);
    const issuedAt = new Float64Array(total).fill(Number.NaN);
    const answeredAt = new Float64Array(total).fill(Number.NaN);
    const positions = new Float64Array(total).fill(Number.NaN);
    const readStartedAt: number[] = [];
    const readEndedAt: number[] = [];
    const readCommand: number[] = [];
    const statusCounts: Record<string, number> = {};
    const failureSamples: string[] = [];
    let errors = 0;
    let viewBehind = 0;
    let inFlight = 0;
    const pendingReads = new Set<Promise<void>>();
    const fail = (what: string) => {
      errors++;
      if (failureSamples.length < 5) failureSamples.push(what.slice(0, 400));
    };

    const readBack = (i: number, customerId: string, position: number) => {
      const started = performance.now();
      const path = `/v1/views/service/customers?filter=${encodeURIComponent(JSON.stringify({ _id: customerId }))}&minPosition=${position}`;
      const done = reader
        .request('GET', path, readHeaders)
        .then((answer) => {
          if (answer.status === 503) {
            viewBehind++;
            return;
          }
          const body = answer.status === 200 ? (JSON.parse(answer.body) as { position?: number; items?: Array<Record<string, unknown>> }) : undefined;
          const item = body?.items?.[0];
          if (!body || body.items?.length !== 1 || typeof item?.name !== 'string' || item._id !== customerId || Number(body.position) < position) {
            fail(`read-back ${answer.status} ${answer.body}`);
            return;
          }
          readStartedAt.push(started);
          readEndedAt.push(answer.endedAt);
          readCommand.push(i);
        })
        .catch((error: unknown) => fail(`read-back: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => pendingReads.delete(done));
      pendingReads.add(done);
    };

    const issue = (i: number, scheduled: number) => {
      const kindOfCommand = kindOf(i, config);
      let body: string;
      let customerId: string | undefined;
      if (kindOfCommand === KIND.note) {
        body = JSON.stringify({ caseId: cases[Math.floor(i / 20) % cases.length]!, text: `Bench note ${i}: called back, customer satisfied` });
      } else if (kindOfCommand === KIND.consent) {
        body = JSON.stringify({
          customerId: customers[(Math.floor(i / 20) + customers.length / 2) % customers.length]!,
          purpose: 'profiling',
          legalBasis: 'consent',
          source: 'web-form',
          textVersion: '2026-01',
        });
      } else {
        customerId = customers[i % customers.length]!;
        body = changeCustomerDetailsBody(customerId, i);
      }
      scheduledAt[i] = scheduled;
      issuedAt[i] = performance.now();
      inFlight++;
      http
        .request('POST', KIND_PATH[kindOfCommand]!, commandHeaders, body)
        .then((answer: HttpAnswer) => {
          statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
          if (answer.status !== 200) return fail(`${KIND_PATH[kindOfCommand]} ${answer.status} ${answer.body}`);
          const position = Number((JSON.parse(answer.body) as { position?: unknown }).position);
          if (!Number.isInteger(position) || position <= 0) return fail(`${KIND_PATH[kindOfCommand]} answered no position: ${answer.body}`);
          answeredAt[i] = answer.endedAt;
          positions[i] = position;
          if (customerId !== undefined && i >= firstMeasured && i % config.readBackEvery === 0) readBack(i, customerId, position);
        })
        .catch((error: unknown) => fail(`${KIND_PATH[kindOfCommand]}: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => inFlight--);
    };

    options.log(`    ${config.rate} commands/s open loop: ${config.warmupSeconds} s warm-up + ${config.seconds} s measured...`);
    const profile = options.cpuProfDir ? await startProfile() : undefined;
    const cpuBefore: { bench?: NodeJS.CpuUsage; engines?: Record<string, number | undefined>; at?: number } = {};
    const intervalMs = 1000 / config.rate;
    const start = performance.now() + 5;
    let next = 0;
    // Open loop: every tick issues whatever is due by now, however the earlier commands are doing.
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (next < total && start + next * intervalMs <= now) {
          if (next === firstMeasured) {
            cpuBefore.bench = process.cpuUsage();
            cpuBefore.engines = setup.engineCpu();
            cpuBefore.at = performance.now();
          }
          issue(next, start + next * intervalMs);
          next++;
        }
        if (next >= total) return resolve();
        setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
      };
      tick();
    });
    const issueEnd = issuedAt[total - 1]!;
    const measuredStart = scheduledAt[firstMeasured]!;
    const cpuSeconds = (issueEnd - cpuBefore.at!) / 1000;
    const bench = process.cpuUsage(cpuBefore.bench);
    const enginesAfter = setup.engineCpu();
    const engineCpuPercent: Record<string, number> = {};
    for (const [name, before] of Object.entries(cpuBefore.engines ?? {})) {
      const after = enginesAfter[name];
      if (before !== undefined && after !== undefined) engineCpuPercent[name] = ((after - before) * 100) / cpuSeconds;
    }
    if (profile && options.cpuProfDir) await profile.stop(join(options.cpuProfDir, `view-freshness-${kind.replace(/\W+/g, '-')}-run${runIndex + 1}.cpuprofile`));

    // Drain: every answer, then the view up to the highest position answered, then the read-backs.
    options.log(`    draining (${inFlight} commands in flight)...`);
    const deadline = performance.now() + config.drainSeconds * 1000;
    while (inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    let highest = 0;
    for (let i = 0; i < total; i++) if (!Number.isNaN(positions[i]!)) highest = Math.max(highest, positions[i]!);
    await c.reader.waitForPosition(VIEW, highest, Math.max(1, deadline - performance.now()));
    options.log(`    view at ${await c.reader.position(VIEW)} of ${highest}; ${pendingReads.size} read-backs in flight`);
    await Promise.allSettled([...pendingReads]);
    if (inFlight > 0) fail(`${inFlight} commands unanswered after ${config.drainSeconds} s`);

    const commandLatencies: number[] = [];
    const lags: number[] = [];
    const visible: number[] = [];
    let notVisible = 0;
    let answered = 0;
    let lastAnswered = measuredStart;
    const maxVisiblePerSecondMs = new Array<number>(Math.ceil(config.seconds)).fill(0);
    for (let i = firstMeasured; i < total; i++) {
      lags.push(issuedAt[i]! - scheduledAt[i]!);
      if (Number.isNaN(answeredAt[i]!)) continue;
      answered++;
      lastAnswered = Math.max(lastAnswered, answeredAt[i]!);
      commandLatencies.push(answeredAt[i]! - scheduledAt[i]!);
      const at = reachedAt(positions[i]!);
      if (Number.isNaN(at)) {
        // Never visible within the drain: counted as infinitely late, so the percentiles cannot hide it.
        notVisible++;
        visible.push(Number.POSITIVE_INFINITY);
        continue;
      }
      const freshness = at - scheduledAt[i]!;
      visible.push(freshness);
      const second = Math.min(maxVisiblePerSecondMs.length - 1, Math.floor((scheduledAt[i]! - measuredStart) / 1000));
      maxVisiblePerSecondMs[second] = Math.max(maxVisiblePerSecondMs[second]!, freshness);
    }
    http.close();
    reader.close();
    return {
      commands: summary(commandLatencies),
      timerLag: summary(lags),
      visible: summary(visible),
      readBack: summary(readStartedAt.map((s, k) => readEndedAt[k]! - s)),
      commandToRead: summary(readCommand.map((i, k) => readEndedAt[k]! - scheduledAt[i]!)),
      offeredPerSec: config.rate,
      achievedPerSec: (measuredCount - 1) / ((issueEnd - measuredStart) / 1000),
      answeredPerSec: answered / ((lastAnswered - measuredStart) / 1000),
      measured: measuredCount,
      notVisible,
      viewBehind,
      errors,
      failureSamples,
      statusCounts,
      cpuPercent: ((bench.user + bench.system) / 1e4) / cpuSeconds,
      engineCpuPercent,
      maxVisiblePerSecondMs: maxVisiblePerSecondMs.map((v) => Math.round(v)),
      followSeconds,
      seedSeconds,
    };
  } finally {
    subscription?.unsubscribe();
    client.current?.close();
    try {
      // A read store that hangs (FerretDB's deadlock) keeps the projectors' consumers from stopping: give up after a while.
      const stopped = crm?.stop();
      const timedOut = await Promise.race([stopped?.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 60_000).unref())]);
      if (timedOut) options.log('    !!! the CRM did not stop within 60 s (a read store operation hangs); going on without it');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await setup.cleanUp().catch((error: unknown) => options.log(`    (${error instanceof Error ? error.message : String(error)})`));
    }
  }
}

const ROW = (setup: FreshnessSetup, what: string) => `${setup}: ${what}`;
const COMMANDS = 'command (scheduled → answer)';
const VISIBLE = 'visible in view (progress$)';
const READ_BACK = 'read-your-writes GET (minPosition)';
const COMMAND_TO_READ = 'command → read-back answer';

export const viewFreshness: Workload = {
  name: 'view-freshness',
  title: 'View freshness: command → visible in the service view, open loop at 1,000 commands/s over HTTP (embedded; PostgreSQL + Kafka + MongoDB)',
  engines: ['postgres', 'kafka', 'ferretdb'],
  parameters(options) {
    const config = viewFreshnessConfig(options);
    return {
      ...config,
      view: VIEW,
      durable: true,
      crm: 'in the bench process: loadConfig + openRuntime + startCrm, projectors and (Kafka) relay inline; HTTP client in this process, keep-alive agent',
      mixPer20: `1 AddCaseNote, 1 GiveConsent, 18 ChangeCustomerDetails (slot 0 read back)`,
      latencyFrom: 'the scheduled send time (open loop: a late timer counts against us)',
      stores: {
        embedded: 'SQLite event, key and read stores, in-process bus',
        'pg+kafka+mongodb': 'PostgreSQL event + key stores (fresh schemas), Kafka bus (fresh topic, 6 partitions, relay inline), MongoDB read store (FerretDB, fresh database)',
      },
      postgres: redactUrl(process.env.CRM_PG_URL),
      kafka: process.env.CRM_KAFKA_URL,
      mongodb: redactUrl(process.env.CRM_MONGO_URL),
    };
  },
  metrics: [
    { key: 'p50 ms', digits: 2 },
    { key: 'p95 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'max ms', digits: 1 },
    { key: 'offered/s', digits: 0 },
    { key: 'achieved/s', digits: 0 },
    { key: 'answered/s', digits: 0 },
    { key: 'timer lag p99 ms', digits: 2 },
    { key: 'samples', digits: 0 },
    { key: 'not visible', digits: 0 },
    { key: 'view-behind', digits: 0 },
    { key: 'errors', digits: 0 },
    { key: 'bench cpu %', digits: 0 },
    { key: 'pg cpu %', digits: 0 },
    { key: 'broker cpu %', digits: 0 },
    { key: 'ferretdb cpu %', digits: 0 },
  ],
  goals: [
    { label: 'embedded: command → visible p99 ≤ 20 ms at 1,000 commands/s', scenario: ROW('embedded', VISIBLE), metric: 'p99 ms', op: '<=', target: 20 },
    { label: 'PostgreSQL + Kafka + MongoDB: command → visible p99 ≤ 250 ms at 1,000 commands/s', scenario: ROW('pg+kafka+mongodb', VISIBLE), metric: 'p99 ms', op: '<=', target: 250 },
    ...(['embedded', 'pg+kafka+mongodb'] as const).flatMap((setup) => [
      { label: `${setup}: the CRM kept up (answered ≥ 98% of 1,000/s offered)`, scenario: ROW(setup, COMMANDS), metric: 'answered/s', op: '>=' as const, target: 980 },
      { label: `${setup}: every command visible, no error, in any run`, scenario: ROW(setup, VISIBLE), metric: 'not visible', op: '<=' as const, target: 0, over: 'max' as const },
      { label: `${setup}: no failed command or read-back in any run`, scenario: ROW(setup, COMMANDS), metric: 'errors', op: '<=' as const, target: 0, over: 'max' as const },
    ]),
  ],
  async run(options, runIndex) {
    const config = viewFreshnessConfig(options);
    const measurements: Measurement[] = [];
    // The configurations take turns going first, so neither always gets the fresher machine.
    const order = runIndex % 2 === 0 ? config.setups : [...config.setups].reverse();
    for (const setup of order) {
      options.log(`  ${setup}:`);
      const f = await measureFreshnessSetup(setup, config, options, runIndex);
      const line = (what: string, s: Summary) =>
        `    ${what.padEnd(36)} p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(1)} ms (${s.count})`;
      options.log(`    seeded in ${f.seedSeconds.toFixed(1)} s; views followed the bus after ${f.followSeconds.toFixed(1)} s`);
      options.log(line(COMMANDS, f.commands));
      options.log(line(VISIBLE, f.visible));
      options.log(line(READ_BACK, f.readBack));
      options.log(line(COMMAND_TO_READ, f.commandToRead));
      options.log(`    slowest freshness per second (ms): ${f.maxVisiblePerSecondMs.join(' ')}`);
      options.log(
        `    offered ${f.offeredPerSec}/s, issued ${f.achievedPerSec.toFixed(0)}/s, answered ${f.answeredPerSec.toFixed(0)}/s; timer lag p99 ${f.timerLag.p99.toFixed(2)} ms; ` +
          `not visible ${f.notVisible}, view-behind ${f.viewBehind}, errors ${f.errors}; CPU bench ${f.cpuPercent.toFixed(0)}%` +
          Object.entries(f.engineCpuPercent).map(([name, v]) => ` / ${name} ${v.toFixed(0)}%`).join(''),
      );
      if (f.errors > 0) {
        options.log(`    !!! ${f.errors} FAILED commands or read-backs — the figures are not valid; status counts ${JSON.stringify(f.statusCounts)}`);
        for (const sample of f.failureSamples) options.log(`    !!! ${sample}`);
      }
      const engines: Record<string, number> = {};
      if (f.engineCpuPercent.pg !== undefined) engines['pg cpu %'] = f.engineCpuPercent.pg;
      if (f.engineCpuPercent.broker !== undefined) engines['broker cpu %'] = f.engineCpuPercent.broker;
      if (f.engineCpuPercent.ferretdb !== undefined) engines['ferretdb cpu %'] = f.engineCpuPercent.ferretdb;
      const stats = (s: Summary) => ({ 'p50 ms': s.p50, 'p95 ms': s.p95, 'p99 ms': s.p99, 'max ms': s.max, samples: s.count });
      measurements.push(
        {
          scenario: ROW(setup, COMMANDS),
          metrics: {
            ...stats(f.commands),
            'offered/s': f.offeredPerSec,
            'achieved/s': f.achievedPerSec,
            'answered/s': f.answeredPerSec,
            'timer lag p99 ms': f.timerLag.p99,
            errors: f.errors,
            'bench cpu %': f.cpuPercent,
            ...engines,
          },
          notes: { statusCounts: f.statusCounts, seedSeconds: f.seedSeconds, followSeconds: f.followSeconds, ...(f.failureSamples.length ? { failureSamples: f.failureSamples } : {}) },
        },
        { scenario: ROW(setup, VISIBLE), metrics: { ...stats(f.visible), 'not visible': f.notVisible }, notes: { maxPerSecondMs: f.maxVisiblePerSecondMs } },
        { scenario: ROW(setup, READ_BACK), metrics: { ...stats(f.readBack), 'view-behind': f.viewBehind } },
        { scenario: ROW(setup, COMMAND_TO_READ), metrics: stats(f.commandToRead) },
      );
    }
    return measurements;
  },
};
