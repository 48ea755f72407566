/**
 * Retention end to end on the embedded default, with a clock the test moves (the privacy
 * service's and the scheduler's): a customer with a service case, a lead under a legal hold,
 * and an employee whose employment ended. Due items appear, reminders come ahead of time
 * (as events, in the list and at a webhook, ids only), a dry run changes nothing, and on the
 * due date each subject is erased through the privacy service — key destroyed, views
 * scrubbed, receipt issued — unless a hold stands: then the run records why not, and the
 * subject is erased on the first run after the hold is released. Also: the scheduler runs
 * on its own timer inside the CRM process (CRM_RETENTION=inline).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addIsoDuration, type Role } from '@crm/contracts';
import { privacySubjectStream, serviceCaseStream } from '@crm/domain';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';
import { hireEmployee, registerCustomer } from '../support/valid-commands.ts';

const MARKER = 'Wendeline';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function client(crm: CrmUnderTest) {
  return async (method: string, path: string, body?: unknown, roles: Role[] = ['dpo']): Promise<{ status: number; body: Json; text: string; type: string | null }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${await crm.token(roles)}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${crm.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    const type = response.headers.get('content-type');
    return { status: response.status, body: text && type?.includes('json') ? (JSON.parse(text) as Json) : {}, text, type };
  };
}

const at = (date: string) => new Date(`${date}T09:00:00.000Z`);

describe('retention schedules end to end (embedded default)', { timeout: 180_000 }, () => {
  let clock = new Date();
  let crm: CrmUnderTest;
  let call: ReturnType<typeof client>;
  let hook: Server;
  const hookBodies: Json[] = [];
  let customerId: string;
  let leadId: string;
  let employeeId: string;
  let holdId: string;
  /** Due dates, from the dates the store recorded (the real clock). */
  let customerDue: string;
  let leadDue: string;
  const employeeDue = `${new Date().getUTCFullYear() + 4}-01-01`;

  const ok = async (type: string, body: Record<string, unknown>, role: Role) => {
    const answer = await crm.command(type, body, [role]);
    assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const run = async (dryRun: boolean) => {
    const answer = await call('POST', `/v1/privacy/retention/run?dryRun=${dryRun}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.body;
  };
  const keyState = async (subjectId: string) => (await crm.runtime.keyStore.find(subjectId))?.state;
  const viewDocument = async (view: string, collection: string, id: string) => {
    const physical = await crm.reader.collectionName(view, collection);
    assert.ok(physical, `${collection} is built`);
    return crm.runtime.readStore.get(physical, id);
  };
  const privacyEvents = async (subjectId: string, type: string) =>
    (await crm.runtime.eventStore.readStream(privacySubjectStream(subjectId))).filter((e) => e.type === type).map((e) => (e.data as { plain: Json }).plain);

  before(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        hookBodies.push(JSON.parse(body) as Json);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/retention`;
    crm = await startCrmUnderTest({ CRM_RETENTION: 'off', CRM_RETENTION_WEBHOOK_URL: hookUrl, CRM_CONTROLLER_NAME: 'Muster GmbH' }, { privacyClock: () => clock });
    call = client(crm);

    // A customer with a service case that was resolved: five years from the resolution.
    customerId = String((await ok('RegisterCustomer', registerCustomer(MARKER), 'sales-rep')).subjectId);
    const caseId = String((await ok('OpenServiceCase', { customerId, channel: 'email', summary: `${MARKER} case` }, 'service-agent')).caseId);
    await ok('AddCaseNote', { caseId, text: `${MARKER} note` }, 'service-agent');
    await ok('ResolveServiceCase', { caseId, resolution: 'solved' }, 'service-agent');
    const resolvedOn = (await crm.runtime.eventStore.readStream(serviceCaseStream(caseId))).at(-1)!.recordedAt;
    customerDue = addIsoDuration(resolvedOn, 'P5Y');
    // A lead under a legal hold: two years after the last contact.
    const lead = await ok('RegisterCustomer', { ...registerCustomer(`${MARKER}lead`), segment: 'small-business' }, 'sales-rep');
    leadId = String(lead.subjectId);
    leadDue = addIsoDuration((await crm.runtime.eventStore.readAll({ after: Number(lead.position) - 1, limit: 1 }))[0]!.recordedAt, 'P2Y');
    // An employee whose employment ended today: three years from the end of this year.
    employeeId = String((await ok('HireEmployee', hireEmployee(MARKER), 'hr')).subjectId);
    await ok('EndEmployment', { employeeId, endDate: new Date().toISOString().slice(0, 10), reason: 'resignation' }, 'hr');
    const hold = await call('POST', '/v1/privacy/holds', { subjectId: leadId, legalBasis: 'HGB §257 (pending tax audit)', until: '2099-12-31', reason: `${MARKER} audit letter` });
    assert.equal(hold.status, 201, hold.text);
    holdId = hold.body.holdId;
    // The views have every document before the clock moves.
    await crm.reader.waitForPosition('hr', await crm.runtime.eventStore.headPosition(), 10_000);
    await crm.reader.waitForPosition('service', await crm.runtime.eventStore.headPosition(), 10_000);
  });
  after(async () => {
    await crm.dispose();
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  test('only dpo and admin read the schedule or run it; bad parameters are refused by name', async () => {
    for (const role of ['service-agent', 'sales-rep', 'hr', 'management', 'analyst', 'guest'] as Role[]) {
      assert.equal((await call('GET', '/v1/privacy/retention/due', undefined, [role])).status, 403, role);
      assert.equal((await call('POST', '/v1/privacy/retention/run?dryRun=true', undefined, [role])).status, 403, role);
      assert.equal((await call('GET', '/v1/privacy/retention/reminders', undefined, [role])).status, 403, role);
      assert.equal((await call('GET', '/v1/privacy/record-of-processing', undefined, [role])).status, 403, role);
    }
    assert.equal((await fetch(`${crm.url}/v1/privacy/retention/due`)).status, 401);
    assert.equal((await call('GET', '/v1/privacy/retention/due', undefined, ['admin'])).status, 200);
    const bad = await call('GET', '/v1/privacy/retention/due?horizon=30days');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].pointer, '?horizon');
    assert.equal((await call('POST', '/v1/privacy/retention/run?dryRun=maybe')).status, 400);
  });

  test('the due list shows each subject’s governing rule and due date; nothing is due today', async () => {
    const now = await call('GET', '/v1/privacy/retention/due');
    assert.deepEqual(now.body.items, []);
    const all = await call('GET', '/v1/privacy/retention/due?horizon=P10Y');
    const bySubject = new Map((all.body.items as Json[]).map((i) => [i.subjectId, i]));
    assert.deepEqual([bySubject.get(customerId)?.ruleId, bySubject.get(customerId)?.dueOn, bySubject.get(customerId)?.action], ['service-case-records', customerDue, 'anonymise']);
    assert.deepEqual([bySubject.get(leadId)?.ruleId, bySubject.get(leadId)?.dueOn, bySubject.get(leadId)?.hold?.holdId], ['prospect-inactive', leadDue, holdId]);
    assert.deepEqual([bySubject.get(employeeId)?.ruleId, bySubject.get(employeeId)?.dueOn, bySubject.get(employeeId)?.action], ['personnel-file', employeeDue, 'erase']);
    assert.ok(!all.text.includes(MARKER), 'ids, dates and codes only');
  });

  test('reminders come ahead of time, once, as events, in the list and at the webhook', async () => {
    clock = at(addIsoDuration(leadDue, 'P10D', -1));
    const due = await call('GET', '/v1/privacy/retention/due');
    assert.deepEqual((due.body.items as Json[]).map((i) => [i.subjectId, i.state, i.reminded]), [[leadId, 'upcoming', false]]);
    const first = await run(false);
    assert.deepEqual((first.reminders as Json[]).map((r) => [r.subjectId, r.outcome]), [[leadId, 'issued']]);
    assert.deepEqual(first.actions, []);
    assert.deepEqual(first.webhook, { delivered: 1, pending: 0 });
    assert.deepEqual((await run(false)).reminders, []);
    assert.deepEqual(await privacyEvents(leadId, 'RetentionReminderIssued'), [{ subjectId: leadId, ruleId: 'prospect-inactive', dueOn: leadDue, action: 'erase', issuedAt: clock.toISOString() }]);
    const reminders = await call('GET', '/v1/privacy/retention/reminders');
    assert.deepEqual((reminders.body.items as Json[]).map((r) => [r.subjectId, r.status, r.webhook]), [[leadId, 'open', 'delivered']]);
    assert.deepEqual(hookBodies.map((b) => [b.type, b.subjectId, b.ruleId, b.dueOn]), [['RetentionReminderIssued', leadId, 'prospect-inactive', leadDue]]);
  });

  test('on the due date a held subject is skipped with the hold’s reason, once', async () => {
    clock = at(leadDue);
    const report = await run(false);
    assert.deepEqual(report.actions, [{ subjectId: leadId, ruleId: 'prospect-inactive', dueOn: leadDue, action: 'erase', outcome: 'skipped', reason: 'legal-hold', holdId, until: '2099-12-31' }]);
    await run(false);
    assert.deepEqual(
      (await privacyEvents(leadId, 'RetentionActionSkipped')).map((e) => [e.reason, e.holdId, e.until]),
      [['legal-hold', holdId, '2099-12-31']],
    );
    assert.equal(await keyState(leadId), 'active');
    const due = await call('GET', '/v1/privacy/retention/due');
    assert.deepEqual((due.body.items as Json[]).map((i) => [i.subjectId, i.state, i.skipped?.reason, i.hold?.holdId]), [[leadId, 'due', 'legal-hold', holdId]]);
  });

  test('the employee: reminded sixty days ahead, then on the due date erased — key destroyed, personnel file gone from the views', async () => {
    clock = at(addIsoDuration(employeeDue, 'P59D', -1));
    assert.deepEqual(((await run(false)).reminders as Json[]).map((r) => [r.subjectId, r.ruleId]), [[employeeId, 'personnel-file']]);
    assert.ok(await viewDocument('hr', 'hr/employees', employeeId));
    clock = at(employeeDue);
    const report = await run(false);
    const taken = (report.actions as Json[]).find((a) => a.subjectId === employeeId)!;
    assert.equal(taken.outcome, 'taken');
    assert.equal((report.actions as Json[]).find((a) => a.subjectId === leadId)?.outcome, 'skipped', 'the hold still stands');
    assert.equal(await keyState(employeeId), 'destroyed');
    assert.equal(await viewDocument('hr', 'hr/employees', employeeId), undefined);
    const request = await call('GET', `/v1/privacy/requests/${taken.requestId}`);
    assert.equal(request.body.state, 'done');
    assert.equal(request.body.receipt.keys.destroyed, true);
    assert.equal(request.body.receipt.verification.passed, true);
    assert.ok((request.body.receipt.views as Json[]).every((v) => v.reached));
    assert.deepEqual((await privacyEvents(employeeId, 'RetentionActionTaken')).map((e) => [e.ruleId, e.action, e.requestId]), [['personnel-file', 'erase', taken.requestId]]);
  });

  test('after the hold is released, the held subject is erased on the next run', async () => {
    const released = await call('DELETE', `/v1/privacy/holds/${holdId}`, { reason: 'audit closed' });
    assert.equal(released.status, 200, released.text);
    const report = await run(false);
    assert.deepEqual((report.actions as Json[]).map((a) => [a.subjectId, a.outcome]), [[leadId, 'taken']]);
    assert.equal(await keyState(leadId), 'destroyed');
    assert.equal(await viewDocument('sales', 'sales/customers', leadId), undefined);
  });

  test('the customer: a dry run lists the erasure and changes nothing; the run anonymises — cases kept without the person, notes and the customer gone', async () => {
    clock = at(customerDue);
    const head = await crm.runtime.eventStore.headPosition();
    const dry = await run(true);
    assert.equal(dry.dryRun, true);
    assert.deepEqual((dry.reminders as Json[]).map((r) => [r.subjectId, r.outcome]), [[customerId, 'would-issue']]);
    assert.deepEqual((dry.actions as Json[]).map((a) => [a.subjectId, a.outcome, a.action]), [[customerId, 'would-take', 'anonymise']]);
    assert.equal(await crm.runtime.eventStore.headPosition(), head, 'nothing appended');
    assert.equal(await keyState(customerId), 'active');
    assert.ok(await viewDocument('service', 'service/customers', customerId));
    // the default of POST …/run is a dry run
    assert.equal((await call('POST', '/v1/privacy/retention/run')).body.dryRun, true);

    const report = await run(false);
    assert.deepEqual((report.actions as Json[]).map((a) => [a.subjectId, a.outcome, a.action]), [[customerId, 'taken', 'anonymise']]);
    assert.equal(await keyState(customerId), 'destroyed');
    assert.equal(await viewDocument('service', 'service/customers', customerId), undefined);
    const cases = await crm.runtime.readStore.find((await crm.reader.collectionName('service', 'service/cases'))!, { filter: { channel: 'email' } });
    assert.equal(cases.documents.length, 1, 'the case stays, for service figures');
    assert.equal(cases.documents[0]!.subjectId, null);
    assert.equal(cases.documents[0]!.summary, null);
    assert.equal((await crm.runtime.readStore.find((await crm.reader.collectionName('service', 'service/case-notes'))!, {})).documents.length, 0);
  });

  test('afterwards nothing is due, every reminder is taken, and every call was audited', async () => {
    assert.deepEqual((await call('GET', '/v1/privacy/retention/due?horizon=P20Y')).body.items, []);
    const reminders = (await call('GET', '/v1/privacy/retention/reminders')).body.items as Json[];
    assert.deepEqual(reminders.map((r) => [r.subjectId, r.status]).sort(), [[customerId, 'taken'], [employeeId, 'taken'], [leadId, 'taken']].sort());
    assert.deepEqual(hookBodies.map((b) => b.subjectId).sort(), [customerId, employeeId, leadId].sort());
    for (const body of hookBodies) assert.deepEqual(Object.keys(body).sort(), ['action', 'dueOn', 'issuedAt', 'position', 'ruleId', 'subjectId', 'type']);
    const audit = await crm.runtime.audit.list({ actor: 'test-dpo', limit: 1000 });
    const actions = new Set(audit.map((e) => e.action));
    for (const action of ['privacy.retention.due', 'privacy.retention.run', 'privacy.retention.dry-run', 'privacy.retention.reminders']) assert.ok(actions.has(action), action);
    const erasures = await crm.runtime.audit.list({ actor: 'crm-retention', limit: 1000 });
    assert.deepEqual([...new Set(erasures.filter((e) => e.action === 'privacy.erase').flatMap((e) => e.subjectIds))].sort(), [customerId, employeeId, leadId].sort());
    const scanned = JSON.stringify(await crm.runtime.audit.list({ limit: 1000 })) + crm.logs.join('\n') + JSON.stringify(hookBodies);
    assert.ok(!scanned.includes(MARKER), 'no personal value in the audit log, the logs or the webhook');
  });

  test('the record of processing: JSON and Markdown, with the controller from the configuration', async () => {
    const json = await call('GET', '/v1/privacy/record-of-processing');
    assert.equal(json.status, 200);
    assert.equal(json.body.controller.name, 'Muster GmbH');
    assert.deepEqual((json.body.activities as Json[]).map((a) => a.id), ['command-side', ...crm.runtime.views.map((v) => `view:${v.name}`)]);
    for (const view of crm.runtime.views) assert.equal((json.body.activities as Json[]).find((a) => a.id === `view:${view.name}`)?.purpose, view.purpose);
    for (const path of ['/v1/privacy/record-of-processing?format=markdown', '/v1/privacy/record-of-processing.md']) {
      const markdown = await call('GET', path);
      assert.equal(markdown.status, 200);
      assert.match(markdown.type ?? '', /^text\/markdown/);
      assert.match(markdown.text, /^# Record of processing activities/);
      for (const view of crm.runtime.views) assert.ok(markdown.text.includes(view.purpose), view.name);
    }
    assert.equal((await call('GET', '/v1/privacy/record-of-processing?format=pdf')).status, 400);
  });
});

describe('retention runs on its own timer inside the CRM (CRM_RETENTION=inline)', { timeout: 60_000 }, () => {
  test('a reminder appears without anyone asking for a run', async () => {
    const clock = at(`${new Date().getUTCFullYear() + 2}-06-01`);
    const crm = await startCrmUnderTest({ CRM_RETENTION: 'inline', CRM_RETENTION_INTERVAL_MS: '1000' }, { privacyClock: () => clock });
    try {
      // A lead registered now is due in two years; the clock stands within a month of that.
      const lead = await crm.command('RegisterCustomer', registerCustomer('Timer'), ['sales-rep']);
      const leadId = String(lead.body.subjectId);
      const recorded = (await crm.runtime.eventStore.readAll({ after: Number(lead.body.position) - 1, limit: 1 }))[0]!.recordedAt;
      clock.setTime(at(addIsoDuration(addIsoDuration(recorded, 'P2Y'), 'P5D', -1)).getTime());
      const deadline = Date.now() + 20_000;
      let issued: unknown[] = [];
      while (issued.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        issued = (await crm.runtime.eventStore.readStream(privacySubjectStream(leadId))).filter((e) => e.type === 'RetentionReminderIssued');
      }
      assert.equal(issued.length, 1);
    } finally {
      await crm.dispose();
    }
  });
});
