/**
 * Forget-me, proven everywhere: a customer with a history in every view (consents, a
 * rectified name, a case with notes, deals won and open) and an employee with a personnel
 * file (absence, account owner of the customer, owner of the deals, agent of the case) are
 * both erased through the DPO's API. Afterwards:
 * - no raw byte of any store (event store, key store, Kafka's log segments, the read store's
 *   files, the audit log) nor any log line holds a plaintext marker of theirs, nor their
 *   data keys in any encoding; every sealed value of theirs has no key left to open it;
 * - no view holds their personal data or a link to them;
 * - the KPI totals are unchanged (their won deal still counts, unlinked);
 * - the receipts list all of it;
 * - registering the same email again is refused.
 *
 * `forget-everywhere.e2e.spec.ts` runs it on the embedded default, and
 * `forget-everywhere-on-engines.e2e.spec.ts` on PostgreSQL + Kafka + MongoDB (FerretDB).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Role } from '@crm/contracts';
import { isSealedEventData } from '@crm/core';
import type { CrmUnderTest } from '../support/crm-under-test.ts';
import { leakForms, scanBytes, scanFiles } from '../support/raw-scan.ts';
import { hireEmployee, registerCustomer } from '../support/valid-commands.ts';
import { allDocuments } from '../support/view-documents.ts';

export interface ForgetSetup {
  start(): Promise<CrmUnderTest>;
  /** Every directory whose raw bytes a store wrote: the data directory, and the engines' files. */
  storeDirectories(crm: CrmUnderTest): string[];
  /**
   * Write-ahead logs where the *wrapped* data key may remain until the segment is recycled
   * (PostgreSQL's pg_wal): wrapped under the master key, cut off by retiring that master key
   * (README, operator notes). Plaintext, and the unwrapped key, may not be there either.
   */
  writeAheadLogs?: string[];
  /** Flushes what engines keep in memory before the scan (e.g. a PostgreSQL checkpoint). */
  beforeScan?(crm: CrmUnderTest): Promise<void>;
  cleanUp?(crm: CrmUnderTest): Promise<void>;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function forgetEverywhereSuite(setup: ForgetSetup): void {
  const marker = `Fg${randomBytes(5).toString('hex')}`;
  let crm: CrmUnderTest;
  const ids: Record<'employee' | 'customer' | 'other' | 'caseId' | 'wonDeal' | 'openDeal', string> = {} as never;
  const keys = new Map<string, { data: Buffer; wrapped: Buffer }>();
  const sealedValues: string[] = [];
  let kpisBefore: Json;
  const receipts: Json[] = [];

  const call = async (method: string, path: string, roles: Role[], body?: unknown) => {
    const response = await fetch(`${crm.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${await crm.token(roles)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const ok = async (type: string, body: Json, role: Role) => {
    const answer = await crm.command(type, body, [role]);
    assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const caughtUp = async () => {
    const head = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, head, 60_000), `${view.name} caught up`);
  };
  const kpiTotals = async () => {
    const answer = await call('GET', '/v1/views/sales/kpis', ['management']);
    assert.equal(answer.status, 200);
    const sum = (rows: Json[], field: string) => rows.reduce((total, row) => total + Number(row[field] ?? 0), 0);
    const { pipeline, revenue, winRate } = answer.body.kpis as Record<string, Json[]>;
    return { pipeline: sum(pipeline!, 'valueMinor'), deals: sum(pipeline!, 'count'), revenue: sum(revenue!, 'revenueMinor'), won: sum(winRate!, 'won'), lost: sum(winRate!, 'lost') };
  };

  before(async () => {
    crm = await setup.start();
    // Until every view follows the bus (a fresh Kafka takes a while to form the consumer groups), wait on a probe.
    await ok('RegisterOrganisation', { organisationName: 'Probe GmbH', segment: 'enterprise', contacts: [] }, 'sales-rep');
    const probe = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, probe, 120_000), `${view.name} follows the bus`);
    const employee = await ok('HireEmployee', hireEmployee(marker), 'hr');
    ids.employee = String(employee.subjectId);
    await ok('RecordAbsence', { employeeId: ids.employee, kind: 'sick-leave', from: '2026-02-01', to: '2026-02-03' }, 'hr');
    ids.customer = String((await ok('RegisterCustomer', registerCustomer(marker, ids.employee), 'sales-rep')).subjectId);
    ids.other = String((await ok('RegisterCustomer', registerCustomer(`Other${randomBytes(3).toString('hex')}`), 'sales-rep')).subjectId);
    await ok('ChangeCustomerDetails', { customerId: ids.customer, name: `${marker} Renamed` }, 'sales-rep');
    await ok('GiveConsent', { customerId: ids.customer, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' }, 'sales-rep');
    ids.caseId = String((await ok('OpenServiceCase', { customerId: ids.customer, channel: 'email', summary: `${marker} cannot log in`, assignedAgentId: ids.employee }, 'service-agent')).caseId);
    await ok('AddCaseNote', { caseId: ids.caseId, text: `${marker} called back`, authorAgentId: ids.employee }, 'service-agent');
    ids.wonDeal = String((await ok('OpenDeal', { customerId: ids.customer, title: 'Won one', amountMinor: 1200_00, currency: 'EUR', ownerId: ids.employee }, 'sales-rep')).dealId);
    await ok('WinDeal', { dealId: ids.wonDeal }, 'sales-rep');
    ids.openDeal = String((await ok('OpenDeal', { customerId: ids.customer, title: 'Open one', amountMinor: 300_00, currency: 'EUR', ownerId: ids.employee }, 'sales-rep')).dealId);
    const otherOwner = String((await ok('HireEmployee', hireEmployee(`Colleague${randomBytes(3).toString('hex')}`), 'hr')).subjectId);
    const otherDeal = String((await ok('OpenDeal', { customerId: ids.other, title: 'Theirs', amountMinor: 99_00, currency: 'EUR', ownerId: otherOwner }, 'sales-rep')).dealId);
    await ok('WinDeal', { dealId: otherDeal }, 'sales-rep');
    await caughtUp();

    // What must be gone afterwards: the data keys (unwrapped and wrapped) and every sealed value of the two.
    for (const subject of [ids.customer, ids.employee]) {
      const lookup = await crm.runtime.keyring.lookup(subject);
      const record = await crm.runtime.keyStore.find(subject);
      assert.ok(lookup.state === 'active' && record?.state === 'active');
      keys.set(subject, { data: Buffer.from(lookup.key.key), wrapped: Buffer.from(record.key.wrapped) });
      for (const event of await crm.runtime.eventStore.readBySubject(subject)) {
        if (isSealedEventData(event.data)) for (const sealed of event.data.sealed) if (sealed.subjectId === subject) sealedValues.push(sealed.value);
      }
    }
    assert.ok(sealedValues.length >= 6, `${sealedValues.length} sealed values of theirs before the erasure`);
    kpisBefore = await kpiTotals();

    for (const subject of [ids.customer, ids.employee]) {
      const answer = await call('POST', '/v1/privacy/requests', ['dpo'], { kind: 'erasure', subjectId: subject, reason: `Forget-me request ${marker}` });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal(answer.body.state, 'done', JSON.stringify(answer.body));
      receipts.push(answer.body.receipt as Json);
    }
    await caughtUp();
  });
  after(async () => {
    if (!crm) return;
    await setup.cleanUp?.(crm);
    await crm.dispose();
  });

  test('the receipts list the destroyed keys, every view scrubbed with counts, the notification, the key-cache bound and the verification', () => {
    for (const [i, subject] of [ids.customer, ids.employee].entries()) {
      const receipt = receipts[i]!;
      assert.equal(receipt.kind, 'erasure');
      assert.equal(receipt.subjectId, subject);
      assert.equal(receipt.keys.destroyed, true);
      assert.equal(receipt.notification.event, 'SubjectForgotten');
      assert.deepEqual(receipt.views.map((v: Json) => v.view).sort(), crm.runtime.views.map((v) => v.name).sort());
      for (const view of receipt.views as Json[]) assert.equal(view.reached, true, `${view.view} had applied the erasure`);
      assert.ok(receipt.views.reduce((n: number, v: Json) => n + (v.scrubbed?.deleted ?? 0) + (v.scrubbed?.unlinked ?? 0), 0) > 0, 'documents were scrubbed');
      assert.equal(receipt.keyCache.ttlMs, crm.runtime.config.keyCacheTtlMs);
      assert.equal(receipt.verification.passed, true);
      assert.equal(receipt.verification.stillOpening, 0);
      assert.ok(receipt.verification.sealedValues > 0);
      assert.ok(!JSON.stringify(receipt).includes(marker), 'the receipt holds no personal data');
    }
  });

  test('no view holds their personal data or a link to them; the won deal still counts', async () => {
    const gone = [ids.customer, ids.employee];
    for (const view of crm.runtime.views) {
      for (const collection of Object.values(view.collections)) {
        const documents = await allDocuments(crm.runtime.readStore, (await crm.reader.collectionName(view.name, collection.name))!);
        const raw = JSON.stringify(documents);
        for (const subject of gone) assert.ok(!raw.includes(subject), `${collection.name} links to no erased subject`);
        for (const value of sealedValues) assert.ok(!raw.includes(value));
      }
    }
    const deal = await call('GET', '/v1/views/sales/deals', ['sales-rep'], undefined);
    const won = (deal.body.items as Json[]).find((d) => d._id === ids.wonDeal);
    assert.ok(won, 'the won deal is still in the pipeline view');
    assert.deepEqual([won.amountMinor, won.status, won.customerId, won.subjectId, won.ownerId], [1200_00, 'won', null, null, null]);
  });

  test('the KPI totals are unchanged', async () => {
    assert.deepEqual(await kpiTotals(), kpisBefore);
  });

  test('registering the same email again is refused', async () => {
    const again = await crm.command('RegisterCustomer', registerCustomer(marker), ['sales-rep']);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.type, 'urn:crm:problem:subject-suppressed');
    assert.ok(!JSON.stringify(again.body).includes(marker.toLowerCase()), 'the refusal does not echo the email');
  });

  test('no raw byte of any store or log holds a marker of theirs, their data keys, or a key that opens their sealed values', async () => {
    await setup.beforeScan?.(crm);
    for (const subject of [ids.customer, ids.employee]) {
      const record = await crm.runtime.keyStore.find(subject);
      assert.equal(record?.state, 'destroyed', 'a tombstone and no key version');
      assert.equal((await crm.runtime.keyring.lookup(subject)).state, 'destroyed');
    }
    const keyForms = [...keys.values()].flatMap(({ data, wrapped }) => [
      data.toString('hex'),
      data.toString('base64').replace(/=+$/, ''),
      data.toString('base64url'),
      wrapped.toString('hex'),
      wrapped.toString('base64').replace(/=+$/, ''),
    ]);
    const wrappedForms = new Set([...keys.values()].flatMap(({ wrapped }) => [wrapped.toString('hex'), wrapped.toString('base64').replace(/=+$/, '')]));
    const wrappedForm = (form: string) => wrappedForms.has(form);
    const markerForms = [marker, marker.toLowerCase()].flatMap(leakForms);
    const binaryKeys = [...keys.values()].flatMap(({ data, wrapped }) => [data, wrapped]);
    const dataKeys = [...keys.values()].map(({ data }) => data);
    const inWriteAheadLog = (path: string) => (setup.writeAheadLogs ?? []).some((dir) => path.startsWith(dir));
    for (const dir of setup.storeDirectories(crm)) {
      assert.deepEqual(scanFiles(dir, [...markerForms, ...keyForms]).filter((hit) => !inWriteAheadLog(hit.where) || !wrappedForm(hit.form)), [], `nothing of theirs under ${dir}`);
      assert.deepEqual(scanBinary(dir, dataKeys), [], `their data keys are nowhere under ${dir}`);
      assert.deepEqual(scanBinary(dir, binaryKeys).filter((path) => !inWriteAheadLog(path)), [], `no wrapped key of theirs under ${dir} outside a write-ahead log`);
    }
    const log = crm.logs.join('\n');
    assert.deepEqual(scanBytes('logs', Buffer.from(log), [...markerForms, ...keyForms]), [], 'nothing of theirs in the logs');
    // Control: the scan sees live data (the other customer's subject id is in the stores in clear).
    assert.ok(setup.storeDirectories(crm).some((dir) => scanFiles(dir, [ids.other]).length > 0), 'control: the scan reads the stores');
  });
}

/** Files below `dir` whose raw bytes hold any of the byte strings. */
function scanBinary(dir: string, needles: readonly Buffer[]): string[] {
  const hits: string[] = [];
  const visit = (path: string) => {
    try {
      if (statSync(path).isDirectory()) {
        for (const name of readdirSync(path)) visit(join(path, name));
        return;
      }
      const bytes = readFileSync(path);
      if (needles.some((needle) => bytes.includes(needle))) hits.push(path);
    } catch (error) {
      // A file the server removed while we read (a rotated WAL, a deleted segment) holds nothing any more.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  visit(dir);
  return hits;
}
