/**
 * A realistic CRM history, written through the real command path (CommandService: validate,
 * decide, seal per subject, append with an expected version) of a runtime opened by
 * `openRuntime` on a temp data directory: employees with absences and position changes
 * (some leave), person customers and organisations with contact persons, consents (given,
 * withdrawn, objections), details changes, reclassifications, owner changes, service cases
 * with notes (assigned, resolved, reopened), deals moved through stages and won or lost.
 *
 * Each customer's (or employee's) story is a sequence of commands on its own streams, so
 * stories never conflict; `concurrency` stories run at once (many commands in flight, like
 * the writers of store-append and the connections of http-commands), so group commit packs
 * the appends. Stories are drawn from a seeded PRNG (stream-choice.ts); which story's
 * command commits first still depends on timing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandAnswer, createLogger } from '@crm/core';
import { type CrmRuntime, loadConfig, openRuntime } from '@crm/runtime';
import { changeCustomerDetailsBody, registerCustomerBody } from './http-commands.ts';
import { seededRandom } from './stream-choice.ts';

export interface HistoryOptions {
  /** Stop starting new stories once this many events are committed (the last stories finish). */
  events: number;
  /** Stories in flight at once. */
  concurrency: number;
  seed: number;
}

export interface History {
  dir: string;
  /** Reopened after writing: what the rebuilds read through (event store, key store, view keys, bus). */
  runtime: CrmRuntime;
  /** Events in the store (its head position). */
  events: number;
  commands: number;
  /** Commands per type. */
  counts: Record<string, number>;
  customers: number;
  organisations: number;
  employees: number;
  seconds: number;
  close(): Promise<void>;
}

const SEGMENTS = ['consumer', 'small-business', 'mid-market', 'enterprise', 'public-sector'] as const;
const STAGES = ['qualification', 'needs-analysis', 'proposal', 'negotiation'] as const;
const LOSS_REASONS = ['price', 'competitor', 'no-budget', 'no-decision', 'timing', 'other'] as const;
const CHANNELS = ['email', 'phone', 'chat', 'web', 'in-person'] as const;
const RESOLUTIONS = ['solved', 'workaround', 'no-fault-found', 'duplicate', 'withdrawn'] as const;
const ABSENCES = ['vacation', 'sick-leave', 'parental-leave', 'training', 'other'] as const;
const SOURCES = ['web-form', 'email', 'phone-call', 'in-person', 'paper-form', 'import'] as const;
const BANDS = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8'] as const;
const CITIES = ['Berlin', 'Hamburg', 'München', 'Köln', 'Frankfurt am Main', 'Stuttgart', 'Leipzig', 'Dresden'] as const;

const ROLE: Record<string, string> = {
  OpenServiceCase: 'service-agent',
  AddCaseNote: 'service-agent',
  AssignServiceCase: 'service-agent',
  ResolveServiceCase: 'service-agent',
  ReopenServiceCase: 'service-agent',
  HireEmployee: 'hr',
  ChangeEmployeePosition: 'hr',
  RecordAbsence: 'hr',
  EndEmployment: 'hr',
};

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Opens a runtime on a fresh temp data directory and writes the history through its command service. */
export async function writeHistory(options: HistoryOptions, log: (line: string) => void): Promise<History> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-rebuild-'));
  // Not durable while writing the history: it is setup, read back by every rebuild; fsync
  // per commit would only slow setup. The view key and master key are given, not generated.
  const config = loadConfig({
    CRM_DATA_DIR: dir,
    CRM_DURABLE: 'false',
    CRM_LOG_LEVEL: 'error',
    CRM_MASTER_KEY: randomBytes(32).toString('base64'),
    CRM_VIEW_KEY: randomBytes(32).toString('base64'),
  });
  let runtime: CrmRuntime;
  try {
    runtime = await openRuntime(config, createLogger({ level: 'error' }));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const close = async () => {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const random = seededRandom(options.seed);
    const chance = (p: number) => random() < p;
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const date = (year: number) => `${year}-${pad2(int(1, 12))}-${pad2(int(1, 28))}`;

    const counts: Record<string, number> = {};
    let commands = 0;
    let head = 0;
    const run = async (type: string, body: Record<string, unknown>): Promise<CommandAnswer> => {
      const answer = await runtime.commands.execute({ type, body, actor: `bench-${ROLE[type] ?? 'sales-rep'}` });
      counts[type] = (counts[type] ?? 0) + 1;
      commands++;
      if (answer.position > head) head = answer.position;
      return answer;
    };
    let n = 0;
    const started = performance.now();

    // Staff first: account owners, agents and deal owners (they stay employed), and leavers.
    const staffCount = Math.max(20, Math.round(options.events / 700));
    const hire = (i: number) =>
      run('HireEmployee', {
        name: `Bench Employee ${i}`,
        email: `employee.${i}@bench-company.example`,
        phone: '+49 30 5550100',
        address: { street: `Personalweg ${(i % 90) + 1}`, postalCode: '10115', city: pick(CITIES), country: 'DE' },
        dateOfBirth: `19${int(60, 99)}-${pad2(int(1, 12))}-${pad2(int(1, 28))}`,
        position: pick(['Account Executive', 'Service Agent', 'Sales Manager', 'Team Lead']),
        department: pick(['Sales', 'Customer Service', 'Operations']),
        salaryBand: pick(BANDS),
        startDate: date(int(2015, 2022)),
      }).then((a) => String(a.subjectId));
    const staff = await pool(staffCount, options.concurrency, (i) => hire(i));

    /** An employee's personnel file over the years: absences, position changes, maybe leaving. */
    const employeeStory = async (leaver: boolean) => {
      const employeeId = await hire(1_000_000 + n++);
      for (let k = int(3, 10); k > 0; k--) {
        const from = date(int(2023, 2026));
        await run('RecordAbsence', { employeeId, kind: pick(ABSENCES), from, to: from });
      }
      for (let k = int(0, 2); k > 0; k--) {
        await run('ChangeEmployeePosition', { employeeId, position: pick(['Senior Agent', 'Team Lead', 'Principal']), salaryBand: pick(BANDS), effectiveDate: date(2024) });
      }
      if (leaver) await run('EndEmployment', { employeeId, endDate: date(2026), reason: pick(['resignation', 'retirement', 'contract-end', 'mutual-agreement'] as const) });
    };

    const casesAndDeals = async (customerId: string, subjectId: string | undefined) => {
      for (let c = chance(0.7) ? int(1, 3) : 0; c > 0; c--) {
        const assigned = chance(0.6) ? { assignedAgentId: pick(staff) } : {};
        const { caseId } = await run('OpenServiceCase', { customerId, ...(subjectId ? { subjectId } : {}), channel: pick(CHANNELS), summary: `Bench case ${n++}: the delivery did not arrive`, ...assigned });
        for (let k = int(1, 4); k > 0; k--) await run('AddCaseNote', { caseId, text: `Called back; note ${n++} about the next steps and what the customer said.`, authorAgentId: pick(staff) });
        if (chance(0.5)) await run('AssignServiceCase', { caseId, agentId: pick(staff) });
        if (chance(0.8)) {
          await run('ResolveServiceCase', { caseId, resolution: pick(RESOLUTIONS) });
          if (chance(0.15)) {
            await run('ReopenServiceCase', { caseId });
            await run('AddCaseNote', { caseId, text: `Reopened: note ${n++}.`, authorAgentId: pick(staff) });
          }
        }
      }
      for (let d = chance(0.6) ? int(1, 2) : 0; d > 0; d--) {
        const { dealId } = await run('OpenDeal', { customerId, title: `Bench deal ${n++}`, amountMinor: int(10, 5000) * 1000, currency: 'EUR', ownerId: pick(staff) });
        for (let s = int(1, STAGES.length - 1); s > 0; s--) await run('MoveDealStage', { dealId, stage: STAGES[s]! });
        const outcome = random();
        if (outcome < 0.4) await run('WinDeal', { dealId });
        else if (outcome < 0.7) await run('LoseDeal', { dealId, reason: pick(LOSS_REASONS) });
      }
    };

    const consents = async (customerId: string, subjectId: string | undefined) => {
      const whose = { customerId, ...(subjectId ? { subjectId } : {}) };
      const given = (['marketing-email', 'phone-marketing', 'profiling'] as const).filter((_, i) => chance([0.7, 0.2, 0.3][i]!));
      for (const purpose of given) await run('GiveConsent', { ...whose, purpose, legalBasis: 'consent', source: pick(SOURCES), textVersion: '2026-03' });
      if (given.length > 0 && chance(0.15)) await run('WithdrawConsent', { ...whose, purpose: pick(given), source: pick(SOURCES) });
      if (chance(0.05)) await run('ObjectToDirectMarketing', { ...whose, source: pick(SOURCES) });
    };

    const personStory = async () => {
      const i = n++;
      const body = JSON.parse(registerCustomerBody(i)) as Record<string, unknown>;
      const { subjectId } = await run('RegisterCustomer', { ...body, segment: pick(SEGMENTS), lifecycleStage: pick(['lead', 'prospect', 'customer'] as const), accountOwnerId: pick(staff) });
      const customerId = String(subjectId);
      await consents(customerId, undefined);
      for (let k = chance(0.6) ? int(1, 3) : 0; k > 0; k--) {
        await run('ChangeCustomerDetails', JSON.parse(changeCustomerDetailsBody(customerId, n++)) as Record<string, unknown>);
      }
      if (chance(0.5)) await run('ReclassifyCustomer', { customerId, lifecycleStage: pick(['prospect', 'customer', 'churned'] as const) });
      if (chance(0.3)) await run('AssignAccountOwner', { customerId, accountOwnerId: pick(staff) });
      await casesAndDeals(customerId, undefined);
    };

    const contact = (i: number) => ({ name: `Bench Contact ${i}`, email: `contact.${i}@bench-org.example`, phone: '+49 40 3330200', jobTitle: pick(['Head of Procurement', 'IT Lead', 'CFO', 'Office Manager']) });
    const organisationStory = async () => {
      const i = n++;
      const answer = await run('RegisterOrganisation', {
        organisationName: `Bench Organisation ${i} GmbH`,
        address: { street: `Industriestraße ${(i % 150) + 1}`, postalCode: '20457', city: pick(CITIES), country: 'DE' },
        segment: pick(['small-business', 'mid-market', 'enterprise', 'public-sector'] as const),
        lifecycleStage: pick(['lead', 'prospect', 'customer'] as const),
        accountOwnerId: pick(staff),
        contacts: Array.from({ length: int(1, 3) }, () => contact(n++)),
      });
      const customerId = String(answer.customerId);
      const contacts = [...(answer.contactSubjectIds as string[])];
      for (let k = chance(0.4) ? int(1, 2) : 0; k > 0; k--) contacts.push(String((await run('AddContactPerson', { customerId, ...contact(n++) })).subjectId));
      for (const subjectId of contacts) await consents(customerId, subjectId);
      if (contacts.length > 1 && chance(0.2)) await run('RemoveContactPerson', { customerId, subjectId: contacts.pop()! });
      if (chance(0.4)) await run('ReclassifyCustomer', { customerId, segment: pick(SEGMENTS) });
      await casesAndDeals(customerId, pick(contacts));
    };

    let customers = 0;
    let organisations = 0;
    let employees = staffCount;
    // Stories until the store holds `events`: mostly customers, now and then an employee's file.
    await pool(Number.POSITIVE_INFINITY, options.concurrency, async () => {
      if (head >= options.events) return false;
      const r = random();
      if (r < 0.03) {
        employees++;
        await employeeStory(chance(0.3));
      } else if (r < 0.3) {
        organisations++;
        await organisationStory();
      } else {
        customers++;
        await personStory();
      }
      return true;
    });
    const seconds = (performance.now() - started) / 1000;
    // Rebuilds read the history through a freshly opened runtime, as a projector process that just
    // started would: nothing of the writing (the command service's stream states, caches) stays behind.
    await runtime.close();
    runtime = await openRuntime(config, createLogger({ level: 'error' }));
    const events = await runtime.eventStore.headPosition();
    log(`  history: ${events} events from ${commands} commands in ${seconds.toFixed(1)} s (${(events / seconds).toFixed(0)} events/s, ${options.concurrency} stories in flight)`);
    return { dir, runtime, events, commands, counts, customers, organisations, employees, seconds, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs `task(i)` for i = 0, 1, … with `concurrency` in flight, until `count` tasks ran or a task
 * answers `false`; returns the results of those that did not answer `false`, in index order.
 */
async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T | false>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  let done = false;
  const worker = async () => {
    while (!done && next < count) {
      const i = next++;
      const result = await task(i);
      if (result === false) done = true;
      else results[i] = result;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results.filter((r) => r !== undefined);
}
