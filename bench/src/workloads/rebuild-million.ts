/**
 * rebuild-million (issue #6): the CRM process at most 300 MB RSS while rebuilding
 * 1,000,000 events on the embedded default.
 *
 * - Generation (not the figure): a fresh temp data directory, opened with `openRuntime`
 *   (SQLite event and key stores, not durable). Subject keys for every customer and employee
 *   are created first (`keyring.createSubjectKey`, concurrently), then customer "stories" of
 *   19 realistic domain events each (registration, consents, details changes, a withdrawal;
 *   a service case with notes, resolved; two deals, one won, one lost) and employees (hired,
 *   absence, position change) are built, sealed with `sealEvent(keyring, event, eventId,
 *   { subjectIds })` and appended one batch per stream, many stories at once. No command
 *   path: that is what makes 1M events take minutes instead of an hour.
 * - Rebuild (the figure): a CHILD process (rebuild-million-child.ts: `loadConfig` +
 *   `openRuntime` on that data directory, then `startProjectorsFor(runtime, config)`
 *   until `ready`: all four views built from position 0 into a fresh embedded read store,
 *   durable as `npm start` has it). This process samples the child's VmRSS from
 *   /proc/<pid>/status every 100 ms and reads its VmHWM (the kernel's peak) at the end, so
 *   the generator's own memory never counts.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type EventToAppend, sealEvent, subjectsOfEvent } from '@crm/core';
import { customerStream, dealStream, type DomainEvent, employeeStream, serviceCaseStream } from '@crm/domain';
import { type CrmRuntime, loadConfig, openRuntime } from '@crm/runtime';
import { v7 as uuidv7 } from 'uuid';
import type { BenchOptions, Goal, Measurement, Workload } from '../workload.ts';
import { seededRandom } from './stream-choice.ts';

export interface RebuildMillionConfig {
  /** Events to generate (at least; the last story completes). */
  events: number;
  /** Stories appended at once while generating. */
  concurrency: number;
  seed: number;
  /** Node flags of the child per scenario; the first is the default process. */
  scenarios: Array<{ name: string; nodeFlags: string[] }>;
  rssSampleMs: number;
  goalMB: number;
}

export function rebuildMillionConfig(options: BenchOptions): RebuildMillionConfig {
  return {
    events: options.quick ? 50_000 : 1_000_000,
    concurrency: 64,
    seed: 6,
    scenarios: [
      { name: 'embedded default', nodeFlags: [] },
      // What a deployment with a 300 MB budget runs: V8's old space sized to fit it (see the README).
      { name: `heap sized: max-old-space-size=${BUDGET_HEAP_MIB}`, nodeFlags: [`--max-old-space-size=${BUDGET_HEAP_MIB}`] },
    ],
    rssSampleMs: 100,
    goalMB: 300,
  };
}

const MiB = 2 ** 20;
/** The old-space size that keeps the whole process within 300 MB (the rest: code, SQLite, buffers). */
export const BUDGET_HEAP_MIB = 160;
const EVENTS_PER_STORY = 19;
const EVENTS_PER_EMPLOYEE = 3;
const CHILD = fileURLToPath(new URL('./rebuild-million-child.ts', import.meta.url));

const SEGMENTS = ['consumer', 'small-business', 'mid-market', 'enterprise'] as const;
const CHANNELS = ['email', 'phone', 'chat', 'web'] as const;
const RESOLUTIONS = ['solved', 'workaround', 'no-fault-found', 'duplicate'] as const;
const LOSS_REASONS = ['price', 'competitor', 'no-budget', 'timing'] as const;
const CITIES = ['Berlin', 'Hamburg', 'München', 'Köln', 'Frankfurt am Main', 'Leipzig'] as const;
const ABSENCES = ['vacation', 'sick-leave', 'training'] as const;

interface Generated {
  dir: string;
  env: Record<string, string>;
  events: number;
  customers: number;
  employees: number;
  keys: number;
  seconds: number;
  keySeconds: number;
  storeMiB: number;
}

export async function generate(config: RebuildMillionConfig, log: (line: string) => void): Promise<Generated> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-million-'));
  const env = {
    CRM_DATA_DIR: dir,
    CRM_LOG_LEVEL: 'error',
    CRM_MASTER_KEY: randomBytes(32).toString('base64'),
    CRM_VIEW_KEY: randomBytes(32).toString('base64'),
    CRM_SUPPRESSION_KEY: randomBytes(32).toString('base64'),
  };
  let runtime: CrmRuntime | undefined;
  try {
    runtime = await openRuntime(loadConfig({ ...env, CRM_DURABLE: 'false' }), createLogger({ level: 'error' }));
    const rt = runtime;
    const random = seededRandom(config.seed);
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const date = (year: number) => `${year}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`;
    const employees = Math.max(10, Math.round(config.events / (EVENTS_PER_STORY * 100 + EVENTS_PER_EMPLOYEE)));
    const customers = Math.ceil((config.events - employees * EVENTS_PER_EMPLOYEE) / EVENTS_PER_STORY);
    const employeeIds = Array.from({ length: employees }, () => uuidv7());
    const customerIds = Array.from({ length: customers }, () => uuidv7());
    const started = performance.now();

    // Keys first (concurrently: the key store group-commits).
    const allSubjects = [...employeeIds, ...customerIds];
    for (let i = 0; i < allSubjects.length; i += 2000) await Promise.all(allSubjects.slice(i, i + 2000).map((id) => rt.keyring.createSubjectKey(id)));
    const keySeconds = (performance.now() - started) / 1000;
    log(`  generate: ${allSubjects.length} subject keys in ${keySeconds.toFixed(1)} s`);

    let appended = 0;
    const append = async (streamId: string, events: DomainEvent[]) => {
      const sealed: EventToAppend[] = [];
      for (const event of events) {
        const eventId = uuidv7();
        sealed.push(await sealEvent(rt.keyring, event, eventId, { subjectIds: subjectsOfEvent(event), actor: 'bench-generator' }));
      }
      await rt.eventStore.append(streamId, sealed, { expectedVersion: 'no-stream' });
      appended += sealed.length;
    };
    const address = (i: number) => ({ street: `Hauptstr. ${i % 200}`, postalCode: String(10000 + (i % 89999)), city: pick(CITIES), country: 'DE' });

    const employeeStory = async (i: number) => {
      const id = employeeIds[i]!;
      await append(employeeStream(id), [
        { type: 'EmployeeHired', data: { employeeId: id, name: `Bench Employee ${i}`, email: `employee.${i}@bench-company.example`, phone: `+49 30 ${100000 + i}`, address: address(i), dateOfBirth: date(int(1960, 2000)), position: i % 2 ? 'Account executive' : 'Service agent', department: i % 2 ? 'Sales' : 'Service', salaryBand: `B${int(1, 8)}`, startDate: date(int(2010, 2024)) } },
        { type: 'AbsenceRecorded', data: { employeeId: id, absenceId: uuidv7(), kind: pick(ABSENCES), from: '2025-03-01', to: '2025-03-05' } },
        { type: 'EmployeePositionChanged', data: { employeeId: id, position: 'Senior account executive', department: 'Sales', salaryBand: `B${int(1, 8)}`, effectiveDate: '2025-04-01' } },
      ] as DomainEvent[]);
    };
    const customerStory = async (i: number) => {
      const id = customerIds[i]!;
      const owner = pick(employeeIds);
      const agent = pick(employeeIds);
      const caseId = uuidv7();
      const dealA = uuidv7();
      const dealB = uuidv7();
      await append(customerStream(id), [
        { type: 'CustomerRegistered', data: { customerId: id, name: `Bench Customer ${i}`, email: `customer.${i}@example.com`, phone: `+49 170 ${1000000 + i}`, address: address(i), dateOfBirth: date(int(1940, 2005)), segment: pick(SEGMENTS), lifecycleStage: 'lead', accountOwnerId: owner } },
        { type: 'ConsentGiven', data: { customerId: id, subjectId: id, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 't1' } },
        { type: 'ConsentGiven', data: { customerId: id, subjectId: id, purpose: 'phone-marketing', legalBasis: 'consent', source: 'web-form', textVersion: 't1' } },
        { type: 'CustomerDetailsChanged', data: { customerId: id, phone: `+49 171 ${1000000 + i}` } },
        { type: 'CustomerDetailsChanged', data: { customerId: id, email: `customer.${i}.new@example.com` } },
        { type: 'CustomerDetailsChanged', data: { customerId: id, address: address(i + 7) } },
        { type: 'ConsentWithdrawn', data: { customerId: id, subjectId: id, purpose: 'phone-marketing', source: 'email' } },
      ] as DomainEvent[]);
      await append(serviceCaseStream(caseId), [
        { type: 'ServiceCaseOpened', data: { caseId, customerId: id, subjectId: id, channel: pick(CHANNELS), summary: `Router ${i} does not connect after the firmware update`, assignedAgentId: agent } },
        ...Array.from({ length: 4 }, (_, n) => ({ type: 'CaseNoteAdded', data: { caseId, noteId: uuidv7(), subjectId: id, text: `Note ${n + 1}: called the customer back, asked for the serial number and the LED pattern`, authorAgentId: agent } })),
        { type: 'ServiceCaseResolved', data: { caseId, resolution: pick(RESOLUTIONS) } },
      ] as DomainEvent[]);
      const amount = int(10, 5000) * 100;
      await append(dealStream(dealA), [
        { type: 'DealOpened', data: { dealId: dealA, customerId: id, subjectId: id, title: `Upgrade ${i}`, amountMinor: amount, currency: 'EUR', ownerId: owner, stage: 'qualification' } },
        { type: 'DealStageMoved', data: { dealId: dealA, from: 'qualification', to: 'proposal' } },
        { type: 'DealWon', data: { dealId: dealA, amountMinor: amount, currency: 'EUR', wonOn: date(2025) } },
      ] as DomainEvent[]);
      await append(dealStream(dealB), [
        { type: 'DealOpened', data: { dealId: dealB, customerId: id, subjectId: id, title: `Support plan ${i}`, amountMinor: amount * 2, currency: 'USD', ownerId: owner, stage: 'qualification' } },
        { type: 'DealStageMoved', data: { dealId: dealB, from: 'qualification', to: 'negotiation' } },
        { type: 'DealLost', data: { dealId: dealB, reason: pick(LOSS_REASONS), lostOn: date(2025) } },
      ] as DomainEvent[]);
    };

    // Employees first (owners and agents), then the customers, `concurrency` stories at once.
    const runAll = async (count: number, story: (i: number) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: config.concurrency }, async () => {
          while (next < count) await story(next++);
        }),
      );
    };
    await runAll(employees, employeeStory);
    let lastLog = performance.now();
    const progress = setInterval(() => {
      const now = performance.now();
      if (now - lastLog > 20_000) {
        lastLog = now;
        log(`  generate: ${appended} events (${((now - started) / 1000).toFixed(0)} s)`);
      }
    }, 1000);
    try {
      await runAll(customers, customerStory);
    } finally {
      clearInterval(progress);
    }
    const events = await rt.eventStore.headPosition();
    const seconds = (performance.now() - started) / 1000;
    await rt.close();
    runtime = undefined;
    let storeBytes = 0;
    for (const suffix of ['', '-wal']) {
      try {
        storeBytes += statSync(join(dir, `events.sqlite${suffix}`)).size;
      } catch {
        /* not there */
      }
    }
    log(`  generate: ${events} events (${customers} customers, ${employees} employees) in ${seconds.toFixed(1)} s = ${(events / seconds).toFixed(0)} ev/s`);
    return { dir, env, events, customers, employees, keys: allSubjects.length, seconds, keySeconds, storeMiB: storeBytes / MiB };
  } catch (error) {
    await runtime?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

interface ChildReport {
  seconds: number;
  events: number;
  openSeconds: number;
  views: Array<{ view: string; eventsRead: number; buildSeconds: number; doneAtSeconds: number }>;
  problems: string[];
  memory: { beforeMiB: Record<string, number>; atPeakRssMiB: Record<string, number>; maximaMiB: Record<string, number> };
  timeline: Array<Record<string, number>>;
}

function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the child on a fresh read store in the data directory; samples its RSS from /proc. */
async function rebuildInChild(g: Generated, nodeFlags: string[], sampleMs: number): Promise<{ report: ChildReport; peakRssMiB: number; hwmMiB: number | undefined; wallSeconds: number }> {
  for (const file of ['views.sqlite', 'views.sqlite-wal', 'views.sqlite-shm']) rmSync(join(g.dir, file), { force: true });
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', CHILD], {
    env: { ...process.env, ...g.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  let peakKiB = 0;
  let hwmKiB: number | undefined;
  const sample = () => {
    const rss = procStatusKiB(pid, 'VmRSS');
    if (rss !== undefined && rss > peakKiB) peakKiB = rss;
    const hwm = procStatusKiB(pid, 'VmHWM');
    if (hwm !== undefined) hwmKiB = hwm;
  };
  const timer = setInterval(sample, sampleMs);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = performance.now();
  // The last VmHWM is read while the child is still alive (it prints, then exits): sample on its output too.
  child.stdout.on('data', sample);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(timer);
  const wallSeconds = (performance.now() - started) / 1000;
  const line = stdout.trim().split('\n').pop();
  if (code !== 0 || !line) throw new Error(`rebuild child exited ${code}: ${stderr.slice(-2000)}`);
  return { report: JSON.parse(line) as ChildReport, peakRssMiB: peakKiB / 1024, hwmMiB: hwmKiB !== undefined ? hwmKiB / 1024 : undefined, wallSeconds };
}

let generated: Promise<Generated> | undefined;

const goals: Goal[] = [
  { label: 'embedded default, Node defaults: peak RSS of the CRM process while rebuilding ≤ 300 MB (286 MiB)', scenario: 'embedded default', metric: 'peak rss MiB', op: '<=', target: 300e6 / MiB },
  {
    label: `embedded default, heap sized for the budget (--max-old-space-size=${BUDGET_HEAP_MIB}): peak RSS ≤ 300 MB (286 MiB)`,
    scenario: `heap sized: max-old-space-size=${BUDGET_HEAP_MIB}`,
    metric: 'peak rss MiB',
    op: '<=',
    target: 300e6 / MiB,
  },
];

export const rebuildMillion: Workload = {
  name: 'rebuild-million',
  title: 'Peak RSS of a CRM process rebuilding all four views from 1,000,000 events (embedded default, child process)',
  parameters(options) {
    const config = rebuildMillionConfig(options);
    return {
      ...config,
      generation: `openRuntime on a temp CRM_DATA_DIR (SQLite, not durable); subject keys per customer and employee; ${EVENTS_PER_STORY} events per customer story (customer 7, case 6, two deals 3+3), ${EVENTS_PER_EMPLOYEE} per employee; sealEvent + append one batch per stream, ${config.concurrency} stories at once; written once per process`,
      rebuild: 'child process: loadConfig + openRuntime (embedded defaults, fresh read store), startProjectorsFor(runtime, config) as npm start does, until ready; all four views from position 0, one at a time',
      rss: 'child VmRSS from /proc/<pid>/status every 100 ms (parent), and VmHWM at the end; goal 300 MB = 286.1 MiB',
    };
  },
  metrics: [
    { key: 'events', digits: 0 },
    { key: 'rebuild ev/s', digits: 0 },
    { key: 'rebuild s', digits: 1 },
    { key: 'peak rss MiB', digits: 0 },
    { key: 'vmhwm MiB', digits: 0 },
    { key: 'heap used MiB', digits: 0 },
    { key: 'heap total MiB', digits: 0 },
    { key: 'external MiB', digits: 0 },
    { key: 'array buffers MiB', digits: 0 },
    { key: 'generate s', digits: 0 },
    { key: 'heap limit hit', digits: 0 },
    { key: 'errors', digits: 0 },
  ],
  goals,
  async run(options, runIndex) {
    const config = rebuildMillionConfig(options);
    const last = runIndex === options.runs - 1;
    try {
      generated ??= generate(config, options.log);
      const g = await generated;
      const measurements: Measurement[] = [];
      for (const [index, scenario] of config.scenarios.entries()) {
        let child: Awaited<ReturnType<typeof rebuildInChild>>;
        try {
          child = await rebuildInChild(g, scenario.nodeFlags, config.rssSampleMs);
        } catch (error) {
          if (index === 0) throw error;
          // A heap cap too small for what the rebuild retains is a finding (heap limit hit), not an invalid run.
          const message = error instanceof Error ? error.message : String(error);
          options.log(`  ${scenario.name}: the child failed (${/heap out of memory|Reached heap limit/i.test(message) ? 'JavaScript heap out of memory' : 'error'}): ${message.slice(-400)}`);
          measurements.push({ scenario: scenario.name, metrics: { 'heap limit hit': /heap out of memory|Reached heap limit/i.test(message) ? 1 : 0 }, notes: { nodeFlags: scenario.nodeFlags, failure: message.slice(-2000) } });
          continue;
        }
        const { report, peakRssMiB, hwmMiB, wallSeconds } = child;
        const peak = Math.max(peakRssMiB, hwmMiB ?? 0);
        const m = report.memory.atPeakRssMiB;
        options.log(
          `  ${scenario.name}: rebuild ${report.seconds.toFixed(1)} s = ${(report.events / report.seconds).toFixed(0)} ev/s; peak RSS ${peakRssMiB.toFixed(0)} MiB (VmHWM ${hwmMiB?.toFixed(0) ?? '?'} MiB) — ` +
            `${peak <= config.goalMB * 1e6 / MiB ? 'within' : 'OVER'} 300 MB; at the peak: heapUsed ${m.heapUsed} heapTotal ${m.heapTotal} external ${m.external} arrayBuffers ${m.arrayBuffers} MiB; views ${JSON.stringify(report.views)}`,
        );
        for (const problem of report.problems) options.log(`  !!! ${scenario.name}: ${problem}`);
        measurements.push({
          scenario: scenario.name,
          metrics: {
            events: report.events,
            'rebuild ev/s': report.events / report.seconds,
            'rebuild s': report.seconds,
            'peak rss MiB': peak,
            ...(hwmMiB !== undefined ? { 'vmhwm MiB': hwmMiB } : {}),
            'heap used MiB': m.heapUsed!,
            'heap total MiB': m.heapTotal!,
            'external MiB': m.external!,
            'array buffers MiB': m.arrayBuffers!,
            'generate s': g.seconds,
            errors: report.problems.length,
          },
          notes: {
            nodeFlags: scenario.nodeFlags,
            sampledPeakRssMiB: Number(peakRssMiB.toFixed(1)),
            childWallSeconds: Number(wallSeconds.toFixed(1)),
            openSeconds: Number(report.openSeconds.toFixed(2)),
            views: report.views,
            memory: report.memory,
            timeline: report.timeline,
            ...(runIndex === 0 && index === 0
              ? { generation: { events: g.events, customers: g.customers, employees: g.employees, subjectKeys: g.keys, seconds: Number(g.seconds.toFixed(1)), keySeconds: Number(g.keySeconds.toFixed(1)), eventStoreMiB: Number(g.storeMiB.toFixed(1)) } }
              : {}),
            ...(report.problems.length ? { problems: report.problems } : {}),
          },
        });
      }
      return measurements;
    } finally {
      if (last && generated) {
        const g = await generated.catch(() => undefined);
        generated = undefined;
        if (g) rmSync(g.dir, { recursive: true, force: true });
      }
    }
  },
};
