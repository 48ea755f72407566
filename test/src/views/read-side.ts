/**
 * The read side end to end, over HTTP, on whatever stores the CRM under test is configured
 * with: commands in, views queried with read-your-writes, personal fields opened for the
 * roles allowed to see them, blind-index lookups, consent taking effect in the marketing
 * lists, KPIs for management only, audit entries that hold ids and never data, and no
 * plaintext marker anywhere in the read store's raw bytes.
 *
 * `read-side.e2e.spec.ts` runs it on the embedded default; `read-side-on-engines.e2e.spec.ts`
 * on PostgreSQL, Kafka and MongoDB (FerretDB).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Role } from '@crm/contracts';
import type { CrmUnderTest } from '../support/crm-under-test.ts';
import { leakForms, scanFiles } from '../support/raw-scan.ts';
import { hireEmployee, registerCustomer } from '../support/valid-commands.ts';

export interface ReadSideSetup {
  start(marker: string): Promise<CrmUnderTest>;
  /** Directories whose raw bytes hold the read store (the data directory; FerretDB's files). */
  readStoreFiles(crm: CrmUnderTest): string[];
  cleanUp?(crm: CrmUnderTest): Promise<void>;
}

type Json = Record<string, unknown>;

export function readSideSuite(setup: ReadSideSetup): void {
  const marker = `Rs${randomBytes(5).toString('hex')}`;
  let crm: CrmUnderTest;

  before(async () => {
    crm = await setup.start(marker);
    // Until every view follows the bus (a fresh Kafka takes seconds to form consumer groups), a probe command waits.
    const probe = await crm.command('RegisterOrganisation', { organisationName: 'Probe GmbH', segment: 'enterprise', contacts: [] }, ['sales-rep']);
    assert.equal(probe.status, 200);
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, Number(probe.body.position), 60_000), `${view.name} follows the bus`);
  });
  after(async () => {
    if (!crm) return;
    await setup.cleanUp?.(crm);
    await crm.dispose();
  });

  const ok = async (type: string, body: Json, role: Role): Promise<Json> => {
    const answer = await crm.command(type, body, [role]);
    assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const query = async (path: string, roles: Role[], params: Record<string, unknown> = {}) => {
    const search = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    const response = await fetch(`${crm.url}/v1/views/${path}?${search}`, { headers: { authorization: `Bearer ${await crm.token(roles)}` } });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const items = (body: Json) => body.items as Json[];

  test('a command is visible in the view with minPosition, personal fields opened, and found by a blind index', async () => {
    const registered = await ok('RegisterCustomer', registerCustomer(marker), 'sales-rep');
    const subjectId = String(registered.subjectId);
    const page = await query('service/customers', ['service-agent'], { filter: { _id: subjectId }, minPosition: registered.position });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.ok(Number(page.body.position) >= Number(registered.position));
    const [customer] = items(page.body);
    assert.equal(customer?.name, `${marker} Customer`);
    assert.equal(customer?.email, `${marker.toLowerCase()}.customer@example.org`);
    assert.equal(customer?._position, undefined, 'internal fields never leave');

    // Exact lookup on a sealed field: the email as a user types it.
    const byEmail = await query('service/customers', ['service-agent'], { filter: { email: `  ${marker.toUpperCase()}.CUSTOMER@example.org` } });
    assert.deepEqual(items(byEmail.body).map((c) => c._id), [subjectId]);
    // A change of email moves the blind index with it.
    const changed = await ok('ChangeCustomerDetails', { customerId: subjectId, email: `${marker.toLowerCase()}.moved@example.org` }, 'sales-rep');
    const moved = await query('service/customers', ['service-agent'], { filter: { email: `${marker.toLowerCase()}.moved@example.org` }, minPosition: changed.position });
    assert.deepEqual(items(moved.body).map((c) => c._id), [subjectId]);
    const old = await query('service/customers', ['service-agent'], { filter: { email: `${marker.toLowerCase()}.customer@example.org` } });
    assert.deepEqual(items(old.body), []);

    // The read of personal data was audited: who, which subject, which view, why; never the data.
    const entries = await crm.runtime.audit.list({ subjectId });
    assert.ok(entries.some((e) => e.actor === 'test-service-agent' && e.view === 'service' && e.collection === 'service/customers' && e.purpose.length > 0));
    assert.ok(!JSON.stringify(entries).includes(marker.toLowerCase()) && !JSON.stringify(entries).includes(marker), 'audit entries copy no personal data');
  });

  test('consent puts a person on a marketing list; withdrawal and objection take them off for good', async () => {
    const { subjectId: customerId } = await ok('RegisterCustomer', registerCustomer(`${marker}c`), 'sales-rep');
    const consent = (purpose: string) => ({ customerId, purpose, legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' });
    await ok('GiveConsent', consent('marketing-email'), 'sales-rep');
    const given = await ok('GiveConsent', consent('phone-marketing'), 'sales-rep');
    const lists = async (position: unknown) => {
      const page = await query('sales/marketing-lists', ['sales-rep'], { filter: { subjectId: customerId }, minPosition: position });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      return items(page.body).map((i) => i.purpose).sort();
    };
    assert.deepEqual(await lists(given.position), ['marketing-email', 'phone-marketing']);
    const withdrawn = await ok('WithdrawConsent', { customerId, purpose: 'marketing-email', source: 'email' }, 'sales-rep');
    assert.deepEqual(await lists(withdrawn.position), ['phone-marketing']);
    const objected = await ok('ObjectToDirectMarketing', { customerId, source: 'phone-call' }, 'sales-rep');
    assert.deepEqual(await lists(objected.position), []);
    const again = await crm.command('GiveConsent', consent('marketing-email'), ['sales-rep']);
    assert.equal(again.status, 422, 'no marketing consent after an objection');
    assert.deepEqual(await lists(objected.position), []);
  });

  test('KPIs: management sees pipeline, revenue and win rate; a sales rep does not', async () => {
    const ownerId = String((await ok('HireEmployee', hireEmployee(`${marker}o`), 'hr')).subjectId);
    const { subjectId: customerId } = await ok('RegisterCustomer', registerCustomer(`${marker}k`), 'sales-rep');
    const open = async (amountMinor: number) => String((await ok('OpenDeal', { customerId, title: 'KPI', amountMinor, currency: 'EUR', ownerId }, 'sales-rep')).dealId);
    const [a, b, c] = [await open(1000_00), await open(250_00), await open(70_00)];
    await ok('WinDeal', { dealId: a }, 'sales-rep');
    const lost = await ok('LoseDeal', { dealId: b, reason: 'price' }, 'sales-rep');
    void c;
    const forbidden = await query('sales/kpis', ['sales-rep']);
    assert.equal(forbidden.status, 403);
    const response = await fetch(`${crm.url}/v1/views/sales/kpis?minPosition=${lost.position}`, { headers: { authorization: `Bearer ${await crm.token(['management'])}` } });
    assert.equal(response.status, 200);
    const { kpis } = (await response.json()) as { kpis: { revenue: Json[]; winRate: Json[]; pipeline: Json[] } };
    const mine = (rows: Json[]) => rows.filter((r) => r.ownerId === ownerId);
    assert.deepEqual(mine(kpis.revenue).map((r) => [r.currency, r.revenueMinor, r.won]), [['EUR', 1000_00, 1]]);
    assert.deepEqual(mine(kpis.winRate).map((r) => [r.won, r.lost, r.winRate]), [[1, 1, 0.5]]);
    assert.ok(kpis.pipeline.some((r) => r.currency === 'EUR' && Number(r.valueMinor) >= 70_00));
  });

  test('asking for a position the view has not reached answers 503 view-behind', async () => {
    const head = await crm.runtime.eventStore.headPosition();
    const behind = await query('service/customers', ['service-agent'], { minPosition: head + 1000 });
    assert.equal(behind.status, 503);
    assert.equal(behind.body.type, 'urn:crm:problem:view-behind');
  });

  test('no plaintext personal marker in the raw bytes of the read store', async () => {
    // Control: a non-personal value (an organisation's name) is in the store's bytes as it is, so the scan reads the right files.
    const control = `Ctl${randomBytes(5).toString('hex')}`;
    await ok('RegisterOrganisation', { organisationName: control, segment: 'mid-market', contacts: [] }, 'sales-rep');
    const head = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, head, 30_000), `${view.name} caught up`);
    const [readStoreDir] = setup.readStoreFiles(crm);
    assert.ok(scanFiles(readStoreDir!, [control]).length > 0, 'control: the scan sees the read store');
    const forms = [marker, marker.toLowerCase()].flatMap(leakForms);
    for (const dir of setup.readStoreFiles(crm)) {
      assert.deepEqual(scanFiles(dir, forms), [], `no marker under ${dir}`);
    }
  });
}
