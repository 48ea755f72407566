/**
 * The retention scheduler against an in-memory event store whose commit times follow the
 * test's clock: due dates per rule as the clock moves, reminders once, holds and
 * restrictions skipped with their reason and coming up again when they end, dry runs that
 * change nothing, and webhook deliveries that resume after a failure.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { DuplicateIdempotencyKey } from '@crm/contracts';
import {
  type AppendOptions,
  type CheckpointStore,
  checkExpectedVersion,
  createLogger,
  type EventStore,
  type EventToAppend,
  type Keyring,
  type RecordedEvent,
} from '@crm/core';
import { customerStream, dealStream, employeeStream, privacySubjectStream, serviceCaseStream } from '@crm/domain';
import { createRetentionScheduler, type RetentionErasure, type RetentionScheduler, type RetentionWebhook } from './retention-scheduler.ts';

function memoryEventStore(clock: () => Date): EventStore & { events: RecordedEvent[] } {
  const events: RecordedEvent[] = [];
  const keys = new Map<string, { scope: string; reply: unknown; result: { streamId: string; nextExpectedVersion: number; firstPosition: number; lastPosition: number } }>();
  return {
    events,
    async append(streamId: string, toAppend: EventToAppend[], options: AppendOptions = {}) {
      if (options.idempotency && keys.has(options.idempotency.key)) throw new DuplicateIdempotencyKey(options.idempotency.key);
      const version = events.filter((e) => e.streamId === streamId).length;
      checkExpectedVersion(streamId, options.expectedVersion ?? 'any', version);
      const first = events.length + 1;
      toAppend.forEach((e, i) => events.push({ ...e, streamId, streamVersion: version + i + 1, globalPosition: first + i, recordedAt: clock().toISOString() }));
      const result = { streamId, nextExpectedVersion: version + toAppend.length, firstPosition: first, lastPosition: events.length };
      if (options.idempotency) keys.set(options.idempotency.key, { scope: options.idempotency.scope, reply: options.idempotency.reply, result });
      return result;
    },
    async findIdempotentResult(key: string) {
      return keys.get(key);
    },
    async readStream(streamId: string) {
      return events.filter((e) => e.streamId === streamId);
    },
    async readAll({ after = 0, limit = 1000 } = {}) {
      return events.slice(after, after + limit);
    },
    async readBySubject(subjectId: string, { after = 0, limit = 1000 } = {}) {
      return events.filter((e) => e.globalPosition > after && e.metadata.subjectIds.includes(subjectId)).slice(0, limit);
    },
    async headPosition() {
      return events.length;
    },
    subscribe(): AsyncIterable<RecordedEvent> {
      throw new Error('not used');
    },
    async close() {},
  };
}

function memoryCheckpoints(): CheckpointStore {
  const stored = new Map<string, number>();
  return {
    load: async (name) => stored.get(name) ?? 0,
    store: async (name, position) => void stored.set(name, Math.max(position, stored.get(name) ?? 0)),
    close: async () => {},
  };
}

const id = () => randomUUID();

function world(options: { webhook?: RetentionWebhook; refuse?: () => string[] | undefined } = {}) {
  let clock = new Date('2026-01-10T09:00:00.000Z');
  const now = () => clock;
  const eventStore = memoryEventStore(now);
  const checkpoints = memoryCheckpoints();
  const erased: string[] = [];
  /** Stands in for the privacy service's erasure: SubjectForgotten on the subject's stream, a request id back. */
  const erasure: RetentionErasure = {
    async erase(subjectId) {
      const holdIds = options.refuse?.();
      if (holdIds) return { state: 'refused', requestId: id(), reason: 'legal-hold', holdIds };
      const requestId = id();
      erased.push(subjectId);
      await record(privacySubjectStream(subjectId), 'SubjectForgotten', { subjectId, requestId, forgottenAt: now().toISOString() });
      return { state: 'done', requestId };
    },
  };
  async function record(streamId: string, type: string, data: Record<string, unknown>): Promise<void> {
    // No personal field is sent: the stored form is all plain.
    await eventStore.append(streamId, [{ eventId: id(), type, schemaVersion: type === 'ConsentGiven' ? 2 : 1, data: { plain: data, sealed: [] }, metadata: { subjectIds: [] } }]);
  }
  const scheduler = (): RetentionScheduler =>
    createRetentionScheduler({ eventStore, keyring: {} as Keyring, checkpoints, erasure, logger: createLogger({ level: 'silent' }), now, ...(options.webhook ? { webhook: options.webhook } : {}) });
  return {
    eventStore,
    erased,
    record,
    scheduler,
    at(iso: string) {
      clock = new Date(iso.length === 10 ? `${iso}T09:00:00.000Z` : iso);
    },
    eventsOf: (type: string) => eventStore.events.filter((e) => e.type === type).map((e) => (e.data as { plain: Record<string, unknown> }).plain),
    async lead(lifecycleStage = 'lead') {
      const customerId = id();
      await record(customerStream(customerId), 'CustomerRegistered', { customerId, name: null, segment: 'consumer', lifecycleStage });
      return customerId;
    },
  };
}

const dueOf = async (scheduler: RetentionScheduler, subjectId: string, horizon?: string) =>
  (await scheduler.due(horizon ? { horizon } : {})).items.find((i) => i.subjectId === subjectId);

describe('retention: what falls due, per rule, as the clock moves', () => {
  test('a lead falls due two years after the last contact; reminded from 30 days before; activity moves the date', async () => {
    const w = world();
    const customerId = await w.lead();
    const s = w.scheduler();
    w.at('2027-12-10');
    assert.equal(await dueOf(s, customerId), undefined, 'before the reminder window');
    assert.equal((await dueOf(s, customerId, 'P60D'))?.state, 'upcoming', 'a wider horizon shows it');
    w.at('2027-12-11');
    const upcoming = await dueOf(s, customerId);
    assert.deepEqual([upcoming?.ruleId, upcoming?.dueOn, upcoming?.state, upcoming?.action, upcoming?.subjectKind], ['prospect-inactive', '2028-01-10', 'upcoming', 'erase', 'customer']);
    w.at('2028-01-10');
    assert.equal((await dueOf(s, customerId))?.state, 'due');
    // contact with the person again: the clock starts anew
    await w.record(customerStream(customerId), 'CustomerReclassified', { customerId, lifecycleStage: 'prospect' });
    assert.equal(await dueOf(s, customerId), undefined);
    w.at('2030-01-09');
    assert.equal((await dueOf(s, customerId))?.dueOn, '2030-01-10');
  });

  test('a customer (or a won deal) keeps commercial records ten years from the end of the year; a contact person follows the organisation', async () => {
    const w = world();
    const orgId = id();
    const contactId = id();
    await w.record(customerStream(orgId), 'OrganisationRegistered', { customerId: orgId, organisationName: 'ACME', segment: 'enterprise', lifecycleStage: 'prospect', contacts: [{ subjectId: contactId, name: null }] });
    const dealId = id();
    w.at('2026-05-01');
    await w.record(dealStream(dealId), 'DealOpened', { dealId, customerId: orgId, title: 'Fleet', amountMinor: 100, currency: 'EUR', ownerId: id(), stage: 'proposal' });
    await w.record(dealStream(dealId), 'DealWon', { dealId, amountMinor: 100, currency: 'EUR', wonOn: '2026-05-01' });
    w.at('2036-11-02');
    const item = await dueOf(w.scheduler(), contactId);
    assert.deepEqual([item?.ruleId, item?.dueOn, item?.action, item?.subjectKind], ['customer-commercial-records', '2037-01-01', 'anonymise', 'contact-person']);
    // removed from the organisation: the organisation's later business no longer keeps them
    const later = world();
    const org2 = id();
    const c2 = id();
    await later.record(customerStream(org2), 'OrganisationRegistered', { customerId: org2, organisationName: 'B', segment: 'enterprise', lifecycleStage: 'lead', contacts: [{ subjectId: c2, name: null }] });
    later.at('2026-03-01');
    await later.record(customerStream(org2), 'ContactPersonRemoved', { customerId: org2, subjectId: c2 });
    later.at('2027-06-01');
    await later.record(customerStream(org2), 'CustomerReclassified', { customerId: org2, segment: 'mid-market' });
    later.at('2028-03-01');
    assert.equal((await dueOf(later.scheduler(), c2))?.dueOn, '2028-03-01');
  });

  test('an open service case stops the clock; once closed, the later of the five-year case rule and the prospect rule governs', async () => {
    const w = world();
    const customerId = await w.lead();
    const caseId = id();
    w.at('2026-02-01');
    await w.record(serviceCaseStream(caseId), 'ServiceCaseOpened', { caseId, customerId, subjectId: customerId, channel: 'email', summary: null });
    w.at('2029-01-01');
    const s = w.scheduler();
    assert.equal(await dueOf(s, customerId, 'P10Y'), undefined, 'a case is open');
    await w.record(serviceCaseStream(caseId), 'ServiceCaseResolved', { caseId, resolution: 'solved' });
    const item = await dueOf(s, customerId, 'P10Y');
    assert.deepEqual([item?.ruleId, item?.dueOn, item?.action], ['service-case-records', '2034-01-01', 'anonymise']);
    assert.deepEqual(
      item?.rules.map((r) => [r.ruleId, r.dueOn]),
      [
        ['prospect-inactive', '2031-01-01'],
        ['service-case-records', '2034-01-01'],
      ],
    );
    await w.record(serviceCaseStream(caseId), 'ServiceCaseReopened', { caseId });
    assert.equal(await dueOf(s, customerId, 'P10Y'), undefined, 'reopened');
  });

  test('consent that stands keeps the person; once withdrawn, its proof is kept three years from the end of the year', async () => {
    const w = world();
    const customerId = await w.lead();
    await w.record(customerStream(customerId), 'ConsentGiven', { customerId, subjectId: customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 'v1' });
    w.at('2029-06-01');
    const s = w.scheduler();
    assert.equal(await dueOf(s, customerId, 'P10Y'), undefined);
    await w.record(customerStream(customerId), 'ConsentWithdrawn', { customerId, subjectId: customerId, purpose: 'marketing-email', source: 'email' });
    const item = await dueOf(s, customerId, 'P10Y');
    assert.deepEqual([item?.ruleId, item?.dueOn, item?.action], ['consent-proof', '2033-01-01', 'erase']);
  });

  test('a personnel file falls due three years after the end of the year the employment ended; never while employed', async () => {
    const w = world();
    const employeeId = id();
    await w.record(employeeStream(employeeId), 'EmployeeHired', { employeeId, name: null, position: 'Clerk', department: 'Ops', salaryBand: null, startDate: '2020-01-01' });
    const s = w.scheduler();
    w.at('2040-01-01');
    assert.equal(await dueOf(s, employeeId, 'P10Y'), undefined);
    await w.record(employeeStream(employeeId), 'EmploymentEnded', { employeeId, endDate: '2026-06-30', reason: null });
    const item = await dueOf(s, employeeId);
    assert.deepEqual([item?.ruleId, item?.dueOn, item?.state, item?.action, item?.subjectKind], ['personnel-file', '2030-01-01', 'due', 'erase', 'employee']);
  });
});

describe('retention runs', () => {
  test('a reminder is issued once per subject, rule and due date, by any number of runs and schedulers', async () => {
    const w = world();
    const customerId = await w.lead();
    w.at('2027-12-20');
    const report = await w.scheduler().run();
    assert.deepEqual(report.reminders, [{ subjectId: customerId, ruleId: 'prospect-inactive', dueOn: '2028-01-10', action: 'erase', outcome: 'issued' }]);
    assert.deepEqual(report.actions, []);
    await w.scheduler().run();
    w.at('2027-12-28');
    const again = w.scheduler();
    assert.deepEqual((await again.run()).reminders, []);
    assert.equal(w.eventsOf('RetentionReminderIssued').length, 1);
    const [reminder] = w.eventsOf('RetentionReminderIssued');
    assert.deepEqual(reminder, { subjectId: customerId, ruleId: 'prospect-inactive', dueOn: '2028-01-10', action: 'erase', issuedAt: '2027-12-20T09:00:00.000Z' });
    assert.equal(w.eventStore.events.find((e) => e.type === 'RetentionReminderIssued')?.streamId, privacySubjectStream(customerId));
    const listed = await again.reminders();
    assert.deepEqual(listed.map((r) => [r.subjectId, r.status, r.webhook]), [[customerId, 'open', 'off']]);
    assert.equal((await dueOf(again, customerId))?.reminded, true);
  });

  test('on the due date the subject is erased through the erasure, once, and leaves the list', async () => {
    const w = world();
    const customerId = await w.lead();
    w.at('2028-01-10');
    const s = w.scheduler();
    const report = await s.run();
    assert.equal(report.reminders.length, 1, 'a late reminder is still recorded');
    assert.deepEqual(report.actions.map((a) => [a.subjectId, a.outcome, a.action]), [[customerId, 'taken', 'erase']]);
    assert.deepEqual(w.erased, [customerId]);
    const [taken] = w.eventsOf('RetentionActionTaken');
    assert.equal(taken?.requestId, report.actions[0]?.requestId);
    assert.equal(taken?.dueOn, '2028-01-10');
    await s.run();
    await w.scheduler().run();
    assert.deepEqual(w.erased, [customerId], 'erased once');
    assert.equal((await s.due()).items.length, 0);
    assert.equal((await s.reminders())[0]?.status, 'taken');
  });

  test('a legal hold: skipped with its reason, recorded once, and erased on the first run after its release', async () => {
    const w = world();
    const customerId = await w.lead();
    const holdId = id();
    await w.record(privacySubjectStream(customerId), 'LegalHoldPlaced', { holdId, subjectId: customerId, legalBasis: 'HGB §257', until: '2099-12-31' });
    w.at('2028-02-01');
    const s = w.scheduler();
    const due = await dueOf(s, customerId);
    assert.deepEqual(due?.hold, { holdId, legalBasis: 'HGB §257', until: '2099-12-31' });
    const report = await s.run();
    assert.deepEqual(report.actions, [{ subjectId: customerId, ruleId: 'prospect-inactive', dueOn: '2028-01-10', action: 'erase', outcome: 'skipped', reason: 'legal-hold', holdId, until: '2099-12-31' }]);
    await s.run();
    assert.deepEqual(w.eventsOf('RetentionActionSkipped'), [{ subjectId: customerId, ruleId: 'prospect-inactive', dueOn: '2028-01-10', reason: 'legal-hold', holdId, until: '2099-12-31', skippedAt: '2028-02-01T09:00:00.000Z' }]);
    assert.deepEqual(w.erased, []);
    assert.equal((await dueOf(s, customerId))?.skipped?.reason, 'legal-hold');
    assert.equal((await s.reminders())[0]?.status, 'skipped');
    await w.record(privacySubjectStream(customerId), 'LegalHoldReleased', { holdId, subjectId: customerId });
    assert.equal((await s.run()).actions[0]?.outcome, 'taken');
    assert.deepEqual(w.erased, [customerId]);
  });

  test('a hold that ends by its date lets the subject come up again the day after', async () => {
    const w = world();
    const customerId = await w.lead();
    await w.record(privacySubjectStream(customerId), 'LegalHoldPlaced', { holdId: id(), subjectId: customerId, legalBasis: 'pending claim', until: '2028-03-31' });
    w.at('2028-03-31');
    assert.equal((await w.scheduler().run()).actions[0]?.outcome, 'skipped');
    w.at('2028-04-01');
    assert.equal((await w.scheduler().run()).actions[0]?.outcome, 'taken');
  });

  test('a restricted subject is skipped (Art. 18) until the restriction is lifted; a refused erasure is recorded as such', async () => {
    let refuse: string[] | undefined;
    const w = world({ refuse: () => refuse });
    const customerId = await w.lead();
    await w.record(privacySubjectStream(customerId), 'ProcessingRestricted', { subjectId: customerId, requestId: id() });
    w.at('2028-02-01');
    const s = w.scheduler();
    assert.equal((await s.run()).actions[0]?.reason, 'restricted');
    await w.record(privacySubjectStream(customerId), 'RestrictionLifted', { subjectId: customerId, requestId: id() });
    refuse = [id()]; // a hold placed elsewhere between the check and the erasure
    const refused = await s.run();
    assert.deepEqual([refused.actions[0]?.outcome, refused.actions[0]?.reason, refused.actions[0]?.holdId], ['skipped', 'legal-hold', refuse[0]]);
    refuse = undefined;
    assert.equal((await s.run()).actions[0]?.outcome, 'taken');
    assert.deepEqual(
      w.eventsOf('RetentionActionSkipped').map((e) => e.reason),
      ['restricted', 'legal-hold'],
    );
  });

  test('a dry run lists what would happen and changes nothing', async () => {
    const calls: string[] = [];
    const w = world({ webhook: { url: 'http://hook.invalid/retention', fetch: (async () => (calls.push('hook'), new Response(null, { status: 204 }))) as typeof fetch } });
    const due = await w.lead();
    const held = await w.lead();
    await w.record(privacySubjectStream(held), 'LegalHoldPlaced', { holdId: id(), subjectId: held, legalBasis: 'audit', until: '2099-01-01' });
    w.at('2026-01-30');
    const soon = await w.lead(); // due 2028-01-30: reminded, not acted on
    w.at('2028-01-10');
    const before = w.eventStore.events.length;
    const report = await w.scheduler().run({ dryRun: true });
    assert.equal(report.dryRun, true);
    assert.deepEqual(report.reminders.map((r) => [r.subjectId, r.outcome]).sort(), [[due, 'would-issue'], [held, 'would-issue'], [soon, 'would-issue']].sort());
    assert.deepEqual(
      report.actions.map((a) => [a.subjectId, a.outcome, a.reason]).sort(),
      [[due, 'would-take', undefined], [held, 'would-skip', 'legal-hold']].sort(),
    );
    assert.equal(w.eventStore.events.length, before);
    assert.deepEqual(w.erased, []);
    assert.deepEqual(calls, []);
    assert.equal(report.webhook, null);
  });

  test('the webhook hears of every reminder once, in order, ids only; a failure is retried on the next run and does not stop it', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    let failing = true;
    const fetchStub = (async (_url: string | URL | Request, init?: RequestInit) => {
      if (failing) throw new Error('connection refused');
      bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const w = world({ webhook: { url: 'http://hook.invalid/retention', fetch: fetchStub } });
    const first = await w.lead();
    const second = await w.lead();
    w.at('2027-12-20');
    const failed = await w.scheduler().run();
    assert.equal(failed.reminders.length, 2, 'the run went on');
    assert.deepEqual(failed.webhook, { delivered: 0, pending: 2 });
    failing = false;
    const s = w.scheduler();
    assert.deepEqual((await s.run()).webhook, { delivered: 2, pending: 0 });
    assert.deepEqual((await s.run()).webhook, { delivered: 0, pending: 0 });
    assert.deepEqual(bodies.map((b) => b.subjectId).sort(), [first, second].sort());
    for (const body of bodies) assert.deepEqual(Object.keys(body).sort(), ['action', 'dueOn', 'issuedAt', 'position', 'ruleId', 'subjectId', 'type']);
    assert.ok((bodies[0]!.position as number) < (bodies[1]!.position as number));
    assert.deepEqual((await s.reminders()).map((r) => r.webhook), ['delivered', 'delivered']);
  });
});
