/**
 * Access and portability export (Art. 15, 20) on the embedded default: everything ever
 * recorded for a subject — rectified values included — and nothing of anyone else, whatever
 * events they share; streamed, page by page, for long histories.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SubjectExportDocument, type SubjectExport } from '@crm/contracts';
import type { EventStore } from '@crm/core';
import { collectSubjectExport, exportSubject, type ExportSubjectOptions } from '@crm/privacy';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';

type Role = Parameters<CrmUnderTest['command']>[2][number];

describe('subject export', { timeout: 300_000 }, () => {
  let crm: CrmUnderTest;
  const ids: Record<string, string> = {};

  const ok = async (type: string, body: Record<string, unknown>, role: Role) => {
    const answer = await crm.command(type, body, [role]);
    assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const options = (subjectId: string): ExportSubjectOptions => ({
    eventStore: crm.runtime.eventStore,
    keyring: crm.runtime.keyring,
    keyStore: crm.runtime.keyStore,
    views: crm.runtime.views,
    subjectId,
  });
  /** The export as text (what a scan for markers reads) and parsed, checked against the published schema. */
  async function exported(subjectId: string): Promise<{ text: string; doc: SubjectExport }> {
    let text = '';
    for await (const chunk of exportSubject(options(subjectId))) text += chunk;
    const doc = SubjectExportDocument.parse(JSON.parse(text));
    return { text, doc };
  }
  const fieldsOf = (doc: SubjectExport, type: string) => doc.records.filter((r) => r.type === type).map((r) => Object.fromEntries(r.fields.map((f) => [f.path, f.value])));
  const absent = (text: string, markers: string[]) => {
    for (const marker of markers) assert.ok(!text.toLowerCase().includes(marker.toLowerCase()), `the export holds "${marker}", which is someone else's`);
  };

  before(async () => {
    crm = await startCrmUnderTest();
    ids.agent = String(
      (await ok('HireEmployee', {
        name: 'Wilma Worker', email: 'wilma.worker@example.org', address: { street: 'Wilmagasse 3', postalCode: '10115', city: 'Berlin', country: 'DE' },
        dateOfBirth: '1970-03-03', position: 'Agent', department: 'Service', salaryBand: 'B3', startDate: '2020-01-01',
      }, 'hr')).subjectId,
    );
    // The subject of most cases: a person customer with a history.
    ids.primus = String(
      (await ok('RegisterCustomer', {
        name: 'Primus Original', email: 'primus.original@example.org', phone: '+49 30 1000001',
        address: { street: 'Primusweg 1', postalCode: '20095', city: 'Primusstadt', country: 'DE' }, dateOfBirth: '1980-01-02',
        segment: 'consumer', accountOwnerId: ids.agent,
      }, 'sales-rep')).subjectId,
    );
    await ok('ChangeCustomerDetails', { customerId: ids.primus, email: 'primus.second@example.org', phone: '+49 30 1000002' }, 'sales-rep');
    await ok('ChangeCustomerDetails', { customerId: ids.primus, name: 'Primus Rectified', email: 'primus.third@example.org' }, 'sales-rep');
    await ok('GiveConsent', { customerId: ids.primus, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 't-1' }, 'sales-rep');
    await ok('GiveConsent', { customerId: ids.primus, purpose: 'profiling', legalBasis: 'consent', source: 'email', textVersion: 't-1' }, 'sales-rep');
    await ok('WithdrawConsent', { customerId: ids.primus, purpose: 'profiling', source: 'phone-call' }, 'sales-rep');
    ids.primusCase = String((await ok('OpenServiceCase', { customerId: ids.primus, channel: 'email', summary: 'Primus printer on fire', assignedAgentId: ids.agent }, 'service-agent')).caseId);
    await ok('AddCaseNote', { caseId: ids.primusCase, text: 'Primus called back', authorAgentId: ids.agent }, 'service-agent');
    await ok('AddCaseNote', { caseId: ids.primusCase, text: 'Primus wants a refund' }, 'service-agent');
    await ok('ResolveServiceCase', { caseId: ids.primusCase, resolution: 'solved' }, 'service-agent');
    ids.primusDeal = String((await ok('OpenDeal', { customerId: ids.primus, title: 'Printer replacement', amountMinor: 499_00, currency: 'EUR', ownerId: ids.agent }, 'sales-rep')).dealId);
    await ok('MoveDealStage', { dealId: ids.primusDeal, stage: 'proposal' }, 'sales-rep');
    await ok('WinDeal', { dealId: ids.primusDeal, amountMinor: 450_00 }, 'sales-rep');

    // People who share events: an organisation with two contact persons, and another customer whose case the agent noted.
    const org = await ok('RegisterOrganisation', {
      organisationName: 'Sharedorg GmbH', segment: 'mid-market', accountOwnerId: ids.agent,
      contacts: [
        { name: 'Contessa Alpha', email: 'contessa.alpha@example.org', phone: '+49 40 2000001', jobTitle: 'Alpha Buyer' },
        { name: 'Conrad Beta', email: 'conrad.beta@example.org', phone: '+49 40 2000002', jobTitle: 'Beta Boss' },
      ],
    }, 'sales-rep');
    ids.org = String(org.customerId);
    const [alpha, beta] = (org.contactSubjectIds as string[]).map(String);
    ids.alpha = alpha!;
    ids.beta = beta!;
    await ok('GiveConsent', { customerId: ids.org, subjectId: ids.alpha, purpose: 'marketing-email', legalBasis: 'consent', source: 'in-person', textVersion: 't-2' }, 'sales-rep');
    const betaCase = String((await ok('OpenServiceCase', { customerId: ids.org, subjectId: ids.beta, channel: 'phone', summary: 'Beta invoice question' }, 'service-agent')).caseId);
    await ok('AddCaseNote', { caseId: betaCase, text: 'Beta private note', authorAgentId: ids.agent }, 'service-agent');
    ids.otto = String((await ok('RegisterCustomer', { name: 'Otto Other', email: 'otto.other@example.org', segment: 'consumer' }, 'sales-rep')).subjectId);
    const ottoCase = String((await ok('OpenServiceCase', { customerId: ids.otto, channel: 'chat', summary: 'Otto summary' }, 'service-agent')).caseId);
    await ok('AddCaseNote', { caseId: ottoCase, text: 'Otto secret note', authorAgentId: ids.agent }, 'service-agent');
  });
  after(() => crm?.dispose());

  test('holds every personal value ever recorded for the subject, rectified ones included, decrypted', async () => {
    const { text, doc } = await exported(ids.primus!);
    assert.equal(doc.subject.subjectId, ids.primus);
    assert.deepEqual(doc.subject.kinds, ['customer']);
    assert.equal(doc.subject.erased, null);
    for (const value of [
      'Primus Original', 'primus.original@example.org', '+49 30 1000001', 'Primusweg 1', 'Primusstadt', '1980-01-02',
      'primus.second@example.org', '+49 30 1000002', 'Primus Rectified', 'primus.third@example.org',
      'Primus printer on fire', 'Primus called back', 'Primus wants a refund',
    ]) {
      assert.ok(text.includes(JSON.stringify(value).slice(1, -1)), `the export holds ${value}`);
    }
    // One entry per event: the history of the email is there in order, old values and all.
    const emails = doc.records.flatMap((r) => r.fields.filter((f) => f.path === 'email' && f.personal).map((f) => f.value));
    assert.deepEqual(emails, ['primus.original@example.org', 'primus.second@example.org', 'primus.third@example.org']);
    assert.deepEqual(fieldsOf(doc, 'CustomerDetailsChanged').map((f) => f.name ?? null), [null, 'Primus Rectified']);
    // And the current values are the fold of it.
    const file = doc.current.find((c) => c.streamId === `customer-${ids.primus}` && !c.item);
    assert.equal(file?.values.email, 'primus.third@example.org');
    assert.equal(file?.values.name, 'Primus Rectified');
    assert.equal(file?.values.phone, '+49 30 1000002');
    assert.equal(file?.values.dateOfBirth, '1980-01-02');
    assert.equal(file?.values.segment, 'consumer');
    assert.equal(doc.current.find((c) => c.item === 'consent:profiling')?.lastEvent, 'ConsentWithdrawn');
    assert.equal(doc.current.find((c) => c.item === 'consent:marketing-email')?.values.textVersion, 't-1');
    // Every event naming them, in global order, and those of their case and deal that name no one.
    const positions = doc.records.map((r) => r.position);
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
    const named = await crm.runtime.eventStore.readBySubject(ids.primus!, { limit: 1000 });
    assert.deepEqual(positions, named.map((e) => e.globalPosition));
    assert.deepEqual(doc.relatedEvents.map((r) => r.type).sort(), ['DealStageMoved', 'DealWon', 'ServiceCaseResolved']);
    assert.equal(fieldsOf({ ...doc, records: doc.relatedEvents }, 'DealWon')[0]?.amountMinor, 450_00);
    assert.deepEqual(doc.summary, { records: doc.records.length, relatedEvents: 3, firstPosition: positions[0], lastPosition: positions.at(-1) });
  });

  test('holds nothing of anyone else: not the agent, not the organisation’s contacts, not other customers', async () => {
    const { text, doc } = await exported(ids.primus!);
    absent(text, ['Wilma', 'Wilmagasse', 'Contessa', 'Conrad', 'Sharedorg', 'Otto', 'Beta private note']);
    // Not even the ids that link to other people (the account owner, the agent, the deal owner).
    absent(text, [ids.agent!, ids.alpha!, ids.beta!, ids.otto!]);
    const note = doc.records.find((r) => r.type === 'CaseNoteAdded');
    assert.ok(note && !note.fields.some((f) => f.path === 'authorAgentId'));
    assert.ok(note.about);
  });

  test('a contact person gets their own values of the organisation’s events and none of the other contact’s', async () => {
    const { text, doc } = await exported(ids.alpha!);
    assert.deepEqual(doc.subject.kinds, ['contact-person']);
    const registered = doc.records.find((r) => r.type === 'OrganisationRegistered');
    assert.ok(registered);
    assert.equal(registered.about, false, 'the organisation’s registration is not about the contact');
    assert.deepEqual(registered.namedAt, ['contacts.0.subjectId']);
    assert.deepEqual(Object.fromEntries(registered.fields.map((f) => [f.field, f.value])), {
      'OrganisationRegistered.contacts[].email': 'contessa.alpha@example.org',
      'OrganisationRegistered.contacts[].jobTitle': 'Alpha Buyer',
      'OrganisationRegistered.contacts[].name': 'Contessa Alpha',
      'OrganisationRegistered.contacts[].phone': '+49 40 2000001',
    });
    absent(text, ['Conrad', 'conrad.beta', 'Beta Boss', '+49 40 2000002', 'Beta invoice', 'Beta private note', ids.beta!, 'Primus', 'Wilma']);
    const consent = doc.records.find((r) => r.type === 'ConsentGiven');
    assert.ok(consent?.about, 'their consent is about them, though it sits in the organisation’s stream');
    assert.equal(consent.legalBasis, 'consent');
    assert.deepEqual(consent.source, { kind: 'consent-record', description: 'given by the data subject through the channel named', channel: 'in-person', command: 'GiveConsent' });
    assert.deepEqual(doc.current.find((c) => !c.item)?.values, { name: 'Contessa Alpha', email: 'contessa.alpha@example.org', phone: '+49 40 2000001', jobTitle: 'Alpha Buyer' });
  });

  test('an employee named in other people’s events (notes written, accounts owned) gets where, not their data', async () => {
    const { text, doc } = await exported(ids.agent!);
    assert.deepEqual(doc.subject.kinds, ['employee']);
    assert.ok(text.includes('Wilma Worker') && text.includes('Wilmagasse 3'));
    absent(text, ['Primus', 'Otto', 'Beta private note', 'Contessa', 'Conrad', 'Sharedorg', 'printer']);
    const notes = doc.records.filter((r) => r.type === 'CaseNoteAdded');
    assert.equal(notes.length, 3);
    for (const note of notes) {
      assert.equal(note.about, false);
      assert.deepEqual(note.namedAt, ['authorAgentId']);
      assert.deepEqual(note.fields, []);
    }
    assert.ok(doc.records.some((r) => r.type === 'CustomerRegistered' && r.namedAt.includes('accountOwnerId')));
  });

  test('says why each field is held, who receives it, how long it is kept, and where it came from', async () => {
    const { doc } = await exported(ids.primus!);
    const email = doc.processing['CustomerRegistered.email'];
    assert.ok(email?.personal);
    const where = email.recipients.views.map((v) => `${v.collection}.${v.field}`).sort();
    assert.deepEqual(where, ['sales/customers.email', 'service/customers.email']);
    assert.deepEqual(email.recipients.views.find((v) => v.collection === 'service/customers')?.roles, ['service-agent', 'management']);
    assert.deepEqual(email.recipients.topics, [], 'the in-process bus publishes to no topic');
    assert.deepEqual(email.purposes.map((p) => p.view).sort(), ['sales', 'service']);
    assert.ok(email.retention.length > 0 && email.retention.every((r) => /^P\d+[YMWD]$/.test(r.period ?? '')));
    assert.deepEqual(doc.processing['CustomerRegistered.dateOfBirth']?.recipients.views.map((v) => `${v.collection}.${v.field}`), ['analytics/customers.ageBand']);
    assert.deepEqual(doc.processing['CaseNoteAdded.text']?.recipients.views.map((v) => v.collection), ['service/case-notes']);
    for (const record of doc.records) for (const field of record.fields) assert.ok(doc.processing[field.field], `${field.field} is explained`);
    const source = (type: string) => doc.records.find((r) => r.type === type)?.source;
    assert.equal(source('CustomerRegistered')?.kind, 'data-subject');
    assert.equal(source('CustomerDetailsChanged')?.description, 'provided by the data subject');
    assert.equal(source('CaseNoteAdded')?.kind, 'staff');
    assert.deepEqual(source('ConsentGiven'), { kind: 'consent-record', description: 'given by the data subject through the channel named', channel: 'web-form', command: 'GiveConsent' });
    assert.equal(doc.records.find((r) => r.type === 'ConsentGiven')?.legalBasis, 'consent');
  });

  test('GET /v1/privacy/subjects/{id}/export: dpo and admin only, audited with ids only, streamed as an attachment', async () => {
    const url = (id: string) => `${crm.url}/v1/privacy/subjects/${id}/export`;
    const as = async (roles: Role[]) => ({ authorization: `Bearer ${await crm.token(roles)}` });
    assert.equal((await fetch(url(ids.primus!))).status, 401);
    for (const roles of [['sales-rep'], ['service-agent', 'management'], ['hr']] as Role[][]) {
      const refused = await fetch(url(ids.primus!), { headers: await as(roles) });
      assert.equal(refused.status, 403, roles.join());
      assert.doesNotMatch(await refused.text(), /Primus/);
    }
    assert.equal((await fetch(url('not-a-uuid'), { headers: await as(['dpo']) })).status, 400);
    const unknown = await fetch(url('01900000-0000-7000-8000-0000000000ff'), { headers: await as(['dpo']) });
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json() as { type: string }).type, /unknown-subject$/);

    for (const role of ['dpo', 'admin'] as Role[]) {
      const answer = await fetch(url(ids.primus!), { headers: await as([role]) });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-disposition'), `attachment; filename="subject-${ids.primus}.json"`);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(answer.headers.get('transfer-encoding'), 'chunked');
      const doc = SubjectExportDocument.parse(await answer.json());
      assert.ok(doc.records.some((r) => r.fields.some((f) => f.value === 'primus.original@example.org')));
    }
    const entries = (await crm.runtime.audit.list({ subjectId: ids.primus! })).filter((e) => e.action === 'privacy.export');
    assert.equal(entries.length, 2);
    for (const entry of entries) {
      assert.deepEqual(entry.subjectIds, [ids.primus]);
      assert.ok(!JSON.stringify(entry).includes('Primus'), 'the audit entry holds ids only');
    }
    assert.deepEqual(entries.map((e) => e.roles[0]).sort(), ['admin', 'dpo']);
    const schema = await fetch(`${crm.url}/v1/privacy/subject-export.schema.json`);
    assert.equal(schema.status, 200);
    assert.equal(((await schema.json()) as { $id: string }).$id, 'urn:crm:schema:subject-export:1');
  });

  test('an erased subject’s export says so, with the tombstone’s time, and holds no values', async () => {
    const gone = String((await ok('RegisterCustomer', { name: 'Erasmus Gone', email: 'erasmus.gone@example.org', segment: 'consumer' }, 'sales-rep')).subjectId);
    await ok('ChangeCustomerDetails', { customerId: gone, name: 'Erasmus Still Gone' }, 'sales-rep');
    const tombstone = await crm.runtime.keyring.destroySubjectKey(gone, 'erasure-request-1');
    const { text, doc } = await exported(gone);
    assert.deepEqual(doc.subject.erased, { erasedAt: tombstone.destroyedAt, requestId: 'erasure-request-1' });
    assert.deepEqual(doc.subject.kinds, ['customer']);
    assert.deepEqual([doc.records, doc.relatedEvents, doc.current, doc.processing], [[], [], [], {}]);
    absent(text, ['Erasmus', 'erasmus.gone']);
    const answer = await fetch(`${crm.url}/v1/privacy/subjects/${gone}/export`, { headers: { authorization: `Bearer ${await crm.token(['dpo'])}` } });
    assert.equal(answer.status, 200);
    assert.notEqual((SubjectExportDocument.parse(await answer.json())).subject.erased, null);
  });

  test('a subject with 2,000 events streams page by page: pages read as the document is consumed, memory flat', async () => {
    const many = String((await ok('RegisterCustomer', { name: 'Magnus Many', email: 'magnus.many@example.org', segment: 'consumer' }, 'sales-rep')).subjectId);
    const cases = await Promise.all(
      Array.from({ length: 20 }, async (_, c) => String((await crm.runtime.commands.execute({ type: 'OpenServiceCase', body: { customerId: many, channel: 'web', summary: `Magnus case ${c}` }, actor: 'test' })).caseId)),
    );
    // 20 cases of 99 notes, written side by side so that appends share commits.
    await Promise.all(cases.map(async (caseId, c) => {
      for (let n = 0; n < 99; n++) await crm.runtime.commands.execute({ type: 'AddCaseNote', body: { caseId, text: `Magnus note ${c}/${n} ${'x'.repeat(200)}` }, actor: 'test' });
    }));
    const total = 1 + 20 + 20 * 99;
    assert.equal(total, 2001);

    // The views (inline, in this process) first catch up, so that their work does not count as the export's memory.
    const head = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) await crm.reader.waitForPosition(view.name, head, 60_000);

    // Counts the pages the export reads from the subject index while it is being consumed.
    let pagesRead = 0;
    const store = crm.runtime.eventStore;
    const counting: EventStore = Object.assign(Object.create(store) as EventStore, {
      readBySubject: (subjectId: string, o?: { after?: number; limit?: number }) => {
        pagesRead++;
        return store.readBySubject(subjectId, o);
      },
    });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const chunks = exportSubject({ ...options(many), eventStore: counting, pageSize: 200 });
    let bytes = 0;
    let records = 0;
    const heapAt: number[] = [];
    let largest = 0;
    for await (const chunk of chunks) {
      bytes += chunk.length;
      largest = Math.max(largest, chunk.length);
      const entries = (chunk.match(/"eventId"/g) ?? []).length;
      if (entries > 0 && records < total) {
        records += entries;
        // Never more than one page ahead of what was handed out.
        assert.ok(pagesRead <= Math.ceil(records / 200) + 1, `${pagesRead} pages read for ${records} records handed out`);
        heapAt.push(heap());
      }
    }
    assert.ok(pagesRead >= Math.ceil(total / 200), `read in pages (${pagesRead})`);
    assert.ok(largest < bytes / 5, `no chunk holds the document (largest ${largest} of ${bytes} bytes)`);
    const growth = Math.max(...heapAt) - heapAt[0]!;
    console.log(`export of ${total} events: ${bytes} bytes in chunks of at most ${largest}; retained heap growth while streaming ${(growth / 1e6).toFixed(2)} MB`);
    assert.ok(growth < bytes / 2, `memory stays flat: retained heap grew ${growth} bytes while ${bytes} were streamed`);

    const doc = await collectSubjectExport(options(many));
    assert.equal(doc.records.length, total);
    assert.equal(doc.summary.records, total);
    assert.equal(doc.current.length, 1 + 20, 'the fold holds one entry per record, not one per note');

    const answer = await fetch(`${crm.url}/v1/privacy/subjects/${many}/export`, { headers: { authorization: `Bearer ${await crm.token(['dpo'])}` } });
    assert.equal(answer.status, 200);
    let received = 0;
    let pieces = 0;
    for await (const piece of answer.body!) {
      received += (piece as Uint8Array).length;
      pieces++;
    }
    assert.ok(pieces > 1, 'the download arrives in pieces');
    assert.ok(received > bytes * 0.9);
  });
});
