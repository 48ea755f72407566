/**
 * Forget-me latency (issue #5): from the DPO's erasure request to its answer, the receipt with
 * every view scrubbed, for customers with ~1,000 events of history each, on two configurations
 * of one CRM started in this process (as view-freshness does):
 *
 * - embedded: the default (SQLite event, key and read stores; in-process bus; durable);
 * - pg+kafka+mongodb: PostgreSQL event and key stores (fresh schemas), Kafka bus (fresh topic,
 *   relay inline), MongoDB read store (FerretDB, fresh database); projectors inline.
 *
 * Setup (not measured): views built, a probe command followed by every view (the consumer
 * groups have joined), then per subject a history written through `runtime.commands`, all
 * subjects side by side (registration; rectifications and consents given/withdrawn on the
 * customer stream; service cases with many notes; deals opened, moved, won), and every view
 * caught up. Then, one subject at a time: `POST /v1/privacy/requests { kind: 'erasure' }` as
 * role dpo, timed from the send until the 201 answer with its receipt. The service answers only
 * once every view has applied `SubjectForgotten` (and the relay has published it, on Kafka), so
 * the time is the whole erasure: holds, suppression hashes, key destruction, the notice, every
 * view scrubbed, the verification. Each receipt is checked: state done, key destroyed, every view
 * reached, verification passed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentileOfSorted, sorted } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { benchKeys, engineCrmSetup, type InProcessCrm, startInProcessCrm } from './crm-in-process.ts';
import { redactUrl } from './pg.ts';

export type ForgetSetup = 'embedded' | 'pg+kafka+mongodb';

export interface ForgetMeConfig {
  /** Subjects erased (and measured) per configuration. */
  subjects: Record<ForgetSetup, number>;
  /** Per subject: ChangeCustomerDetails on the customer stream. */
  rectifications: number;
  /** Per subject: consents given and withdrawn, alternating (on the customer stream). */
  consentEvents: number;
  /** Per subject: service cases, each opened and given `notesPerCase` notes. */
  cases: number;
  notesPerCase: number;
  /** Per subject: deals, each opened, moved to proposal and won. */
  deals: number;
  /** How long to wait for the views to follow the bus at start, and to catch up after the setup. */
  followTimeoutMs: number;
  catchUpTimeoutMs: number;
  /** Most documents per upsert sent to FerretDB (see chunkedUpserts). */
  ferretDbUpsertChunk: number;
  setups: ForgetSetup[];
}

export function forgetMeConfig(options: BenchOptions): ForgetMeConfig {
  return {
    subjects: options.quick ? { embedded: 5, 'pg+kafka+mongodb': 3 } : { embedded: 30, 'pg+kafka+mongodb': 15 },
    rectifications: 310,
    consentEvents: 40,
    cases: 4,
    notesPerCase: 160,
    deals: 5,
    followTimeoutMs: 120_000,
    catchUpTimeoutMs: 600_000,
    ferretDbUpsertChunk: 10,
    setups: ['embedded', 'pg+kafka+mongodb'],
  };
}

/**
 * Events naming the subject (what `readBySubject` finds): registration + rectifications + consents + cases (open + notes) +
 * one per deal (opened; the move and the win are related events that do not name them, 2 more per deal in the store).
 */
export function eventsPerSubject(config: ForgetMeConfig): number {
  return 1 + config.rectifications + config.consentEvents + config.cases * (1 + config.notesPerCase) + config.deals;
}

interface Setup {
  env: Record<string, string>;
  wrapReadStore?: Parameters<typeof startInProcessCrm>[0]['wrapReadStore'];
  cleanUp(): Promise<void>;
}

function embeddedSetup(): Setup {
  return { env: {}, cleanUp: async () => {} };
}

function enginesSetup(config: ForgetMeConfig): Setup {
  return engineCrmSetup('forget', config.ferretDbUpsertChunk);
}

/** One subject's history through the command service: the customer stream, each case and each deal written side by side. */
async function writeSubjectHistory(crm: InProcessCrm, config: ForgetMeConfig, n: number, agentId: string): Promise<{ subjectId: string; head: number }> {
  let head = 0;
  const run = async (type: string, body: Record<string, unknown>) => {
    const answer = await crm.execute(type, body);
    head = Math.max(head, answer.position);
    return answer;
  };
  const tag = `${n}-${randomBytes(3).toString('hex')}`;
  const subjectId = String(
    (
      await run('RegisterCustomer', {
        name: `Forget Me ${tag}`,
        email: `forget.me.${tag}@example.org`,
        phone: `+49 30 ${String(1_000_000 + n).slice(-7)}`,
        address: { street: `Vergissweg ${(n % 300) + 1}`, postalCode: String(10_000 + n), city: 'Berlin', country: 'DE' },
        dateOfBirth: `19${60 + (n % 40)}-0${(n % 9) + 1}-1${n % 10}`,
        segment: 'consumer',
        accountOwnerId: agentId,
      })
    ).subjectId,
  );
  const customerStream = async () => {
    const consentEvery = Math.max(1, Math.floor(config.rectifications / Math.max(1, config.consentEvents)));
    let consents = 0;
    for (let r = 0; r < config.rectifications; r++) {
      await run('ChangeCustomerDetails', { customerId: subjectId, email: `forget.me.${tag}.${r}@example.org`, ...(r % 10 === 0 ? { name: `Forget Me ${tag} ${r}` } : {}) });
      if (r % consentEvery === 0 && consents < config.consentEvents) {
        await (consents % 2 === 0
          ? run('GiveConsent', { customerId: subjectId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' })
          : run('WithdrawConsent', { customerId: subjectId, purpose: 'marketing-email', source: 'email' }));
        consents++;
      }
    }
    for (; consents < config.consentEvents; consents++) {
      await (consents % 2 === 0
        ? run('GiveConsent', { customerId: subjectId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' })
        : run('WithdrawConsent', { customerId: subjectId, purpose: 'marketing-email', source: 'email' }));
    }
  };
  const serviceCase = async (c: number) => {
    const caseId = String((await run('OpenServiceCase', { customerId: subjectId, channel: 'email', summary: `Case ${c}: the router blinks`, assignedAgentId: agentId })).caseId);
    for (let k = 0; k < config.notesPerCase; k++) {
      await run('AddCaseNote', { caseId, text: `Note ${c}/${k}: called ${tag} back about the router; ${'x'.repeat(120)}`, authorAgentId: agentId });
    }
  };
  const deal = async (d: number) => {
    const dealId = String((await run('OpenDeal', { customerId: subjectId, title: `Deal ${d}`, amountMinor: 1000_00 + d, currency: 'EUR', ownerId: agentId })).dealId);
    await run('MoveDealStage', { dealId, stage: 'proposal' });
    await run('WinDeal', { dealId });
  };
  await Promise.all([customerStream(), ...Array.from({ length: config.cases }, (_, c) => serviceCase(c)), ...Array.from({ length: config.deals }, (_, d) => deal(d))]);
  return { subjectId, head };
}

async function countSubjectEvents(crm: InProcessCrm, subjectId: string): Promise<number> {
  let count = 0;
  let after = 0;
  for (;;) {
    const page = await crm.runtime.eventStore.readBySubject(subjectId, { after, limit: 1000 });
    count += page.length;
    const last = page.at(-1);
    if (!last) return count;
    after = last.globalPosition;
  }
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

interface SetupFigures {
  latency: Summary;
  latencies: number[];
  subjectEvents: { min: number; max: number };
  keyCacheTtlMs: number;
  /** Max over the receipts of keyCache.effectiveEverywhereBy − keys.destroyedAt, ms. */
  keyCacheBoundMs: number;
  views: string[];
  scrubbedDocuments: number;
  errors: number;
  failureSamples: string[];
  followSeconds: number;
  setupSeconds: number;
  eventsWritten: number;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function measureSetup(kind: ForgetSetup, config: ForgetMeConfig, options: BenchOptions): Promise<SetupFigures> {
  const setup = kind === 'embedded' ? embeddedSetup() : enginesSetup(config);
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-forget-'));
  const secret = randomBytes(32).toString('base64url');
  let crm: InProcessCrm | undefined;
  try {
    crm = await startInProcessCrm({
      env: { CRM_DATA_DIR: dataDir, ...benchKeys(), ...setup.env },
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
    await c.waitForViews(probe.position, config.followTimeoutMs);
    const followSeconds = (performance.now() - followStarted) / 1000;

    const subjects = config.subjects[kind];
    options.log(`    views follow (${followSeconds.toFixed(1)} s); writing ${subjects} histories of ${eventsPerSubject(config)} events side by side (not measured)...`);
    const setupStarted = performance.now();
    const agentId = String(
      (await c.execute('HireEmployee', { name: 'Bench Agent', email: `agent.${randomBytes(3).toString('hex')}@example.org`, position: 'Agent', department: 'Service', salaryBand: 'B3', startDate: '2020-01-01' }))
        .subjectId,
    );
    const histories = await Promise.all(Array.from({ length: subjects }, (_, n) => writeSubjectHistory(c, config, n, agentId)));
    const head = Math.max(...histories.map((h) => h.head));
    await c.waitForViews(head, config.catchUpTimeoutMs);
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    const counts = await Promise.all(histories.map((h) => countSubjectEvents(c, h.subjectId)));
    const eventsWritten = await c.runtime.eventStore.headPosition();
    options.log(`    ${eventsWritten} events written and every view caught up in ${setupSeconds.toFixed(1)} s; events per subject ${Math.min(...counts)}–${Math.max(...counts)}`);

    const authorization = await c.authorization(['dpo']);
    const latencies: number[] = [];
    const failureSamples: string[] = [];
    let errors = 0;
    let keyCacheBoundMs = 0;
    let scrubbedDocuments = 0;
    let views: string[] = [];
    const fail = (what: string) => {
      errors++;
      if (failureSamples.length < 5) failureSamples.push(what.slice(0, 400));
    };
    options.log(`    erasing ${subjects} subjects, one at a time...`);
    for (const [i, { subjectId }] of histories.entries()) {
      const body = JSON.stringify({ kind: 'erasure', subjectId, reason: `Forget-me bench ${i}` });
      const started = performance.now();
      let status: number;
      let text: string;
      try {
        const response = await fetch(`${c.url}/v1/privacy/requests`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body });
        text = await response.text();
        status = response.status;
      } catch (error) {
        fail(`erasure ${i}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const ms = performance.now() - started;
      if (status !== 201) {
        fail(`erasure ${i}: ${status} ${text}`);
        continue;
      }
      const answer = JSON.parse(text) as Json;
      const receipt = answer.receipt as Json | undefined;
      const problems: string[] = [];
      if (answer.state !== 'done') problems.push(`state ${answer.state}`);
      if (!receipt) problems.push('no receipt');
      else {
        if (receipt.keys?.destroyed !== true) problems.push('key not destroyed');
        const receiptViews = (receipt.views ?? []) as Json[];
        if (!receiptViews.every((v) => v.reached === true)) problems.push(`views not reached: ${receiptViews.filter((v) => v.reached !== true).map((v) => v.view).join(', ')}`);
        const expected = c.runtime.views.map((v) => v.name).sort();
        if (JSON.stringify(receiptViews.map((v) => v.view).sort()) !== JSON.stringify(expected)) problems.push(`receipt views ${receiptViews.map((v) => v.view).join(',')} ≠ ${expected.join(',')}`);
        if (receipt.verification?.passed !== true) problems.push(`verification ${JSON.stringify(receipt.verification)}`);
        views = receiptViews.map((v) => String(v.view));
        if (receipt.notification?.published !== true) problems.push('SubjectForgotten not published on the bus');
        for (const v of receiptViews) scrubbedDocuments += Number(v.scrubbed?.deleted ?? 0) + Number(v.scrubbed?.unlinked ?? 0);
        const bound = new Date(String(receipt.keyCache?.effectiveEverywhereBy)).getTime() - new Date(String(receipt.keys?.destroyedAt)).getTime();
        if (!Number.isFinite(bound)) problems.push(`no key-cache bound: ${JSON.stringify(receipt.keyCache)} / ${receipt.keys?.destroyedAt}`);
        else keyCacheBoundMs = Math.max(keyCacheBoundMs, bound);
      }
      if (problems.length) {
        fail(`erasure ${i}: ${problems.join('; ')}`);
        continue;
      }
      latencies.push(ms);
    }
    return {
      latency: summary(latencies),
      latencies,
      subjectEvents: { min: Math.min(...counts), max: Math.max(...counts) },
      keyCacheTtlMs: c.runtime.config.keyCacheTtlMs,
      keyCacheBoundMs,
      views,
      scrubbedDocuments,
      errors,
      failureSamples,
      followSeconds,
      setupSeconds,
      eventsWritten,
    };
  } finally {
    try {
      const stopped = crm?.stop();
      const timedOut = await Promise.race([stopped?.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 60_000).unref())]);
      if (timedOut) options.log('    !!! the CRM did not stop within 60 s (a read store operation hangs); going on without it');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await setup.cleanUp().catch((error: unknown) => options.log(`    (${error instanceof Error ? error.message : String(error)})`));
    }
  }
}

const ROW = (setup: ForgetSetup) => `${setup}: erasure request → 201 with receipt`;

export const forgetMe: Workload = {
  name: 'forget-me',
  title: 'Forget-me latency: erasure request → 201 with the receipt (every view scrubbed), subjects with ~1,000 events (embedded; PostgreSQL + Kafka + MongoDB)',
  engines: ['postgres', 'kafka', 'ferretdb'],
  parameters(options) {
    const config = forgetMeConfig(options);
    return {
      ...config,
      eventsPerSubject: eventsPerSubject(config),
      durable: true,
      crm: 'in the bench process: loadConfig + openRuntime + startCrm, projectors and (Kafka) relay inline; HTTP client (fetch) in this process',
      request: "POST /v1/privacy/requests { kind: 'erasure', subjectId, reason } as dpo, one subject at a time",
      stores: {
        embedded: 'SQLite event, key and read stores, in-process bus',
        'pg+kafka+mongodb': 'PostgreSQL event + key stores (fresh schemas), Kafka bus (fresh topic, relay inline), MongoDB read store (FerretDB, fresh database)',
      },
      postgres: redactUrl(process.env.CRM_PG_URL),
      kafka: process.env.CRM_KAFKA_URL,
      mongodb: redactUrl(process.env.CRM_MONGO_URL),
    };
  },
  metrics: [
    { key: 'p50 ms', digits: 1 },
    { key: 'p95 ms', digits: 1 },
    { key: 'p99 ms', digits: 1 },
    { key: 'max ms', digits: 1 },
    { key: 'samples', digits: 0 },
    { key: 'events/subject', digits: 0 },
    { key: 'key cache ttl ms', digits: 0 },
    { key: 'key cache bound ms', digits: 0 },
    { key: 'errors', digits: 0 },
  ],
  goals: [
    { label: 'embedded: forget-me p99 ≤ 200 ms (subject with ~1,000 events)', scenario: ROW('embedded'), metric: 'p99 ms', op: '<=', target: 200 },
    { label: 'PostgreSQL + Kafka + MongoDB: forget-me p99 ≤ 2 s (subject with ~1,000 events)', scenario: ROW('pg+kafka+mongodb'), metric: 'p99 ms', op: '<=', target: 2_000 },
    ...(['embedded', 'pg+kafka+mongodb'] as const).map((setup) => ({
      label: `${setup}: every erasure answered 201 with a complete, verified receipt, in any run`,
      scenario: ROW(setup),
      metric: 'errors',
      op: '<=' as const,
      target: 0,
      over: 'max' as const,
    })),
  ],
  async run(options, runIndex) {
    const config = forgetMeConfig(options);
    const measurements: Measurement[] = [];
    const order = runIndex % 2 === 0 ? config.setups : [...config.setups].reverse();
    for (const setup of order) {
      options.log(`  ${setup}:`);
      const f = await measureSetup(setup, config, options);
      const s = f.latency;
      options.log(
        `    erasure → receipt: p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.count}); ` +
          `key cache TTL ${f.keyCacheTtlMs} ms, receipt bound ${f.keyCacheBoundMs} ms; ${f.scrubbedDocuments} documents scrubbed in ${f.views.join(', ')}`,
      );
      if (f.errors > 0) {
        options.log(`    !!! ${f.errors} FAILED erasures — the figures are not valid`);
        for (const sample of f.failureSamples) options.log(`    !!! ${sample}`);
      }
      measurements.push({
        scenario: ROW(setup),
        metrics: {
          'p50 ms': s.p50,
          'p95 ms': s.p95,
          'p99 ms': s.p99,
          'max ms': s.max,
          samples: s.count,
          'events/subject': f.subjectEvents.min,
          'key cache ttl ms': f.keyCacheTtlMs,
          'key cache bound ms': f.keyCacheBoundMs,
          errors: f.errors,
        },
        notes: {
          latenciesMs: f.latencies.map((v) => Math.round(v * 10) / 10),
          subjectEvents: f.subjectEvents,
          views: f.views,
          scrubbedDocuments: f.scrubbedDocuments,
          eventsWritten: f.eventsWritten,
          setupSeconds: f.setupSeconds,
          followSeconds: f.followSeconds,
          ...(f.failureSamples.length ? { failureSamples: f.failureSamples } : {}),
        },
      });
    }
    return measurements;
  },
};
