/**
 * The view query routes over a real SQLite read store and a real SQLite audit log, with a
 * small in-test ViewReader (fixed physical names; opening is the identity, so the stored
 * documents hold plaintext here and every personal value is a marker the test can look for).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { SignJWT } from 'jose';
import type { Role } from '@crm/contracts';
import { type AuditLog, createLogger, type Document, type ReadStore } from '@crm/core';
import type { ViewReader } from '@crm/projector';
import { type CollectionDefinition, dealKpiFields, type FieldPolicy, salesView, type ViewDefinition } from '@crm/projections';
import { openSqliteAuditLog, openSqliteReadStore } from '@crm/sqlite';
import { createTokenVerifier } from './auth.ts';
import { problemHandler } from './problem.ts';
import { viewRoutes } from './views.ts';

const FULL: Role[] = ['service-agent', 'management'];
const ALL: Role[] = [...FULL, 'guest'];
const personal = (blindIndex = false): FieldPolicy => ({ roles: FULL, personal: { subjectField: 'subjectId' }, ...(blindIndex ? { blindIndex: true } : {}) });

const customers: CollectionDefinition = {
  name: 'service/customers',
  fields: {
    _id: { roles: ALL },
    _position: { roles: [] },
    subjectId: { roles: FULL },
    name: personal(),
    email: personal(true),
    segment: { roles: ALL },
    registeredAt: { roles: ALL },
    accountOwnerId: { roles: FULL },
  },
  indexes: [],
};
const notes: CollectionDefinition = {
  name: 'service/case-notes',
  fields: { _id: { roles: FULL }, _position: { roles: [] }, subjectId: { roles: FULL }, caseId: { roles: FULL }, text: personal() },
  indexes: [],
};
const noop = () => [];
const serviceView: ViewDefinition = { name: 'service', version: 1, purpose: 'Customer service (test)', collections: { customers, notes }, evolve: noop, eventTypes: new Set() };
const hrView: ViewDefinition = {
  name: 'hr',
  version: 1,
  purpose: 'HR (test)',
  collections: { employees: { name: 'hr/employees', fields: { _id: { roles: ['hr'] } }, indexes: [] } },
  evolve: noop,
  eventTypes: new Set(),
};

const SECRET = 'a-test-secret-of-at-least-32-bytes-length!';
const MARK = `mark${randomBytes(6).toString('hex')}`;
const s1 = randomUUID();
const s3 = randomUUID();
const erikaEmail = `erika.${MARK}@example.org`;

/** The test double of the reader: physical name = `t_<logical>`; opening is the identity (counted). */
class TestReader implements ViewReader {
  positions = new Map<string, number>([['service', 10], ['sales', 10], ['hr', 0]]);
  built = new Set(['service', 'sales']);
  opened: string[] = [];
  views() {
    return [serviceView, salesView, hrView];
  }
  view(name: string) {
    return this.views().find((v) => v.name === name);
  }
  async collectionName(view: string, collection: string) {
    return this.built.has(view) ? `t_${collection.replace(/[^A-Za-z0-9]+/g, '_')}` : undefined;
  }
  async position(view: string) {
    return this.positions.get(view) ?? 0;
  }
  async waitForPosition(view: string, position: number, timeoutMs: number) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if ((await this.position(view)) >= position) return true;
      await new Promise((r) => setTimeout(r, 5));
    }
    return (await this.position(view)) >= position;
  }
  async open(_view: string, _collection: string, document: Document) {
    this.opened.push(document._id);
    return document;
  }
  async restrictions() {
    return { subjectIds: [], pseudonyms: [] };
  }
  blindIndex(view: string, collection: string, field: string, value: string) {
    return `b:${view}:${collection}:${field}:${Buffer.from(value.trim().toLowerCase()).toString('base64url')}`;
  }
}

describe('view query routes', () => {
  let root = '';
  let readStore: ReadStore;
  let auditLog: AuditLog;
  let reader: TestReader;
  let server: Server;
  let base = '';
  let failAudit = false;
  const logLines: string[] = [];
  const verify = createTokenVerifier({ jwtSecret: SECRET });

  const token = async (roles: Role[], sub = `user-${roles.join('+') || 'none'}`) =>
    new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

  async function get(path: string, roles: Role[] | null, params: Record<string, string> = {}) {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const headers: Record<string, string> = roles ? { Authorization: `Bearer ${await token(roles)}` } : {};
    const response = await fetch(url, { headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Record<string, any> };
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'crm-views-'));
    readStore = openSqliteReadStore({ path: join(root, 'read.sqlite') });
    const realAudit = openSqliteAuditLog({ path: join(root, 'audit', 'audit.sqlite') });
    auditLog = realAudit;
    reader = new TestReader();
    const blind = (v: string) => reader.blindIndex('service', 'service/customers', 'email', v);
    await readStore.upsert('t_service_customers', [
      { _id: s1, _position: 3, subjectId: s1, name: `Erika ${MARK}`, email: erikaEmail, _blind: { email: blind(erikaEmail) }, segment: 'consumer', registeredAt: '2025-01-01', accountOwnerId: 'o1', internal: MARK },
      { _id: 'org-2', _position: 4, subjectId: null, name: null, email: null, segment: 'business', registeredAt: '2025-01-02', accountOwnerId: 'o2' },
      { _id: s3, _position: 5, subjectId: s3, name: `Max ${MARK}`, email: null, segment: 'consumer', registeredAt: '2025-01-03', accountOwnerId: 'o1' },
    ]);
    await readStore.upsert('t_service_case_notes', [{ _id: 'n1', _position: 6, subjectId: s1, caseId: 'k1', text: `Called about ${MARK}` }]);
    const deal = (id: string, d: Record<string, unknown>) => {
      const doc = { _id: id, _position: 7, customerId: 'c', subjectId: null, title: `Deal ${id}`, currency: 'EUR', openedAt: '2025-02-01', wonOn: null, lostOn: null, lossReason: null, ...d };
      return { ...doc, ...dealKpiFields(doc) } as Document;
    };
    await readStore.upsert('t_sales_deals', [
      deal('d1', { status: 'open', stage: 'proposal', amountMinor: 1000, ownerId: 'o1' }),
      deal('d2', { status: 'won', stage: 'negotiation', amountMinor: 500, ownerId: 'o1', wonOn: '2025-03-04' }),
      deal('d3', { status: 'lost', stage: 'qualified', amountMinor: 300, ownerId: 'o2', lostOn: '2025-03-09' }),
    ]);

    const audit: AuditLog = {
      record: (entry) => (failAudit ? Promise.reject(new Error(`disk full near ${MARK}`)) : realAudit.record(entry)),
      list: (filter) => realAudit.list(filter),
      close: () => realAudit.close(),
    };
    const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
    const app = express();
    app.set('query parser', 'simple');
    app.use(viewRoutes({ reader, readStore, audit, authenticate: verify, logger, waitMs: 100 }));
    app.use(problemHandler(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await readStore.close();
    await auditLog.close();
    // Nothing personal in the log, the audit log's files, or any problem answer (checked per test).
    assert.ok(!logLines.some((l) => l.includes(MARK)), 'a log line holds a personal value');
    for (const name of readdirSync(join(root, 'audit'))) {
      assert.ok(!readFileSync(join(root, 'audit', name)).includes(Buffer.from(MARK)), `audit file ${name} holds a personal value`);
    }
    rmSync(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    reader.opened = [];
    failAudit = false;
  });

  const problem = (answer: { status: number; text: string; body: Record<string, any> }, status: number, type: string) => {
    assert.equal(answer.status, status, answer.text);
    assert.equal(answer.body.type, `urn:crm:problem:${type}`, answer.text);
    assert.ok(!answer.text.includes(MARK), `the problem echoes a value: ${answer.text}`);
  };

  it('answers a page with only readable fields, opens only documents with personal values, and audits it with ids only', async () => {
    const before = (await auditLog.list({ limit: 1000 })).length;
    const answer = await get('/v1/views/service/customers', ['service-agent'], { sort: 'registeredAt' });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get('CRM-View-Position'), '10');
    assert.equal(answer.headers.get('Cache-Control'), 'no-store');
    assert.deepEqual(answer.body, {
      view: 'service',
      collection: 'service/customers',
      position: 10,
      items: [
        { _id: s1, subjectId: s1, name: `Erika ${MARK}`, email: erikaEmail, segment: 'consumer', registeredAt: '2025-01-01', accountOwnerId: 'o1' },
        { _id: 'org-2', subjectId: null, name: null, email: null, segment: 'business', registeredAt: '2025-01-02', accountOwnerId: 'o2' },
        { _id: s3, subjectId: s3, name: `Max ${MARK}`, email: null, segment: 'consumer', registeredAt: '2025-01-03', accountOwnerId: 'o1' },
      ],
    });
    assert.deepEqual(reader.opened.sort(), [s1, s3].sort(), 'opens exactly the documents holding a personal value');

    const entries = await auditLog.list({ limit: 1000 });
    assert.equal(entries.length, before + 1);
    const entry = entries.at(-1)!;
    assert.match(entry.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(Date.parse(entry.at) - Date.now()) < 60_000);
    assert.deepEqual({ ...entry, id: undefined, at: undefined }, {
      id: undefined,
      at: undefined,
      actor: 'user-service-agent',
      roles: ['service-agent'],
      action: 'view.read',
      view: 'service',
      collection: 'service/customers',
      purpose: 'Customer service (test)',
      subjectIds: [s1, s3],
      count: 3,
    });
    assert.ok(!JSON.stringify(entry).includes(MARK));
    assert.deepEqual((await auditLog.list({ subjectId: s3 })).map((e) => e.id), [entry.id]);
  });

  it('answers a guest the minimal fields, opens nothing and audits nothing', async () => {
    const before = (await auditLog.list({ limit: 1000 })).length;
    const answer = await get('/v1/views/service/customers', ['guest'], { sort: '-registeredAt', limit: '2' });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body.items, [
      { _id: s3, segment: 'consumer', registeredAt: '2025-01-03' },
      { _id: 'org-2', segment: 'business', registeredAt: '2025-01-02' },
    ]);
    assert.equal(typeof answer.body.nextCursor, 'string');
    assert.deepEqual(reader.opened, []);
    assert.equal((await auditLog.list({ limit: 1000 })).length, before);

    const next = await get('/v1/views/service/customers', ['guest'], { sort: '-registeredAt', limit: '2', cursor: answer.body.nextCursor });
    assert.equal(next.status, 200, next.text);
    assert.deepEqual(next.body.items, [{ _id: s1, segment: 'consumer', registeredAt: '2025-01-01' }]);
    assert.equal(next.body.nextCursor, undefined);
  });

  it('finds a person by email through the blind index and records the declared purpose', async () => {
    const answer = await get('/v1/views/service/customers', ['management'], {
      filter: JSON.stringify({ email: `  ERIKA.${MARK}@Example.org` }),
      purpose: 'Ticket 4711: customer called',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body.items.map((d: Document) => d._id), [s1]);
    const entry = (await auditLog.list({ subjectId: s1, actor: 'user-management' })).at(-1)!;
    assert.equal(entry.purpose, 'Ticket 4711: customer called');
    assert.deepEqual(entry.subjectIds, [s1]);
    assert.equal(entry.count, 1);
  });

  it('serves collections with a hyphen in their name', async () => {
    const answer = await get('/v1/views/service/case-notes', ['service-agent']);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.collection, 'service/case-notes');
    assert.deepEqual(answer.body.items, [{ _id: 'n1', subjectId: s1, caseId: 'k1', text: `Called about ${MARK}` }]);
  });

  it('refuses with 403 a filter, sort or pipeline naming a field the roles may not read', async () => {
    problem(await get('/v1/views/service/customers', ['guest'], { filter: JSON.stringify({ subjectId: s1 }) }), 403, 'field-forbidden');
    problem(await get('/v1/views/service/customers', ['guest'], { filter: JSON.stringify({ $or: [{ segment: 'x' }, { email: erikaEmail }] }) }), 403, 'field-forbidden');
    problem(await get('/v1/views/service/customers', ['guest'], { sort: '-accountOwnerId' }), 403, 'field-forbidden');
    const grouped = await get('/v1/views/service/customers', ['guest'], { pipeline: JSON.stringify([{ $group: { _id: '$accountOwnerId', n: { $sum: 1 } } }]) });
    problem(grouped, 403, 'field-forbidden');
    assert.equal(grouped.body.errors[0].pointer, '?pipeline/0/$group/_id');
    assert.match(grouped.body.detail, /accountOwnerId/);
    problem(await get('/v1/views/service/customers', ['management'], { filter: JSON.stringify({ internal: MARK }) }), 403, 'field-forbidden');
    problem(await get('/v1/views/service/customers', ['management'], { filter: JSON.stringify({ '_blind.email': 'x' }) }), 403, 'field-forbidden');
    problem(await get('/v1/views/service/customers', ['management'], { sort: '_position' }), 403, 'field-forbidden');
    assert.deepEqual(reader.opened, []);
  });

  it('refuses with 400 other uses of personal fields, unknown operators and bad parameters, echoing no value', async () => {
    problem(await get('/v1/views/service/customers', ['management'], { filter: JSON.stringify({ email: { $gt: MARK } }) }), 400, 'validation-failed');
    problem(await get('/v1/views/service/customers', ['management'], { filter: JSON.stringify({ name: `Erika ${MARK}` }) }), 400, 'validation-failed');
    problem(await get('/v1/views/service/customers', ['management'], { sort: 'name' }), 400, 'validation-failed');
    problem(await get('/v1/views/service/customers', ['management'], { filter: JSON.stringify({ email: { $regex: MARK } }) }), 400, 'validation-failed');
    problem(await get('/v1/views/service/customers', ['management'], { filter: `{"email": "${MARK}"` }), 400, 'validation-failed');
    problem(await get('/v1/views/service/customers', ['management'], { limit: '201' }), 400, 'validation-failed');
    problem(await get('/v1/views/service/customers', ['management'], { cursor: 'eyJ2IjoxfQ' }), 400, 'validation-failed');
  });

  it('answers an aggregation as results, without auditing', async () => {
    const before = (await auditLog.list({ limit: 1000 })).length;
    const answer = await get('/v1/views/service/customers', ['guest'], {
      pipeline: JSON.stringify([{ $group: { _id: '$segment', n: { $sum: 1 } } }, { $sort: { _id: 1 } }]),
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body, { view: 'service', collection: 'service/customers', position: 10, results: [{ _id: 'business', n: 1 }, { _id: 'consumer', n: 2 }] });
    assert.equal((await auditLog.list({ limit: 1000 })).length, before);
  });

  it('answers 403 to roles that may read no field of the collection, 404 to unknown views and collections, 401 without a token', async () => {
    problem(await get('/v1/views/service/customers', ['hr']), 403, 'forbidden');
    problem(await get('/v1/views/nope/customers', ['management']), 404, 'unknown-view');
    problem(await get('/v1/views/service/nope', ['management']), 404, 'unknown-view');
    problem(await get('/v1/views/service/customers', null), 401, 'unauthenticated');
  });

  it('waits for minPosition, and answers 503 view-behind with Retry-After when the view does not get there in time', async () => {
    const behind = await get('/v1/views/service/customers', ['guest'], { minPosition: '11' });
    problem(behind, 503, 'view-behind');
    assert.equal(behind.headers.get('Retry-After'), '1');
    assert.equal(behind.headers.get('CRM-View-Position'), '10');
    assert.match(behind.body.detail, /reached position 10 of 11/);
    assert.equal(behind.body.position, 10);

    setTimeout(() => reader.positions.set('service', 11), 20);
    const caughtUp = await get('/v1/views/service/customers', ['guest'], { minPosition: '11' });
    assert.equal(caughtUp.status, 200, caughtUp.text);
    assert.equal(caughtUp.body.position, 11);
    assert.equal(caughtUp.headers.get('CRM-View-Position'), '11');
    reader.positions.set('service', 10);
  });

  it('answers 503 view-behind at position 0 for a view not built yet', async () => {
    const answer = await get('/v1/views/hr/employees', ['hr']);
    problem(answer, 503, 'view-behind');
    assert.equal(answer.body.position, 0);
    assert.equal(answer.headers.get('Retry-After'), '1');
  });

  it('withholds the data with 503 when the audit entry cannot be written', async () => {
    failAudit = true;
    const answer = await get('/v1/views/service/customers', ['service-agent']);
    problem(answer, 503, 'audit-unavailable');
    assert.equal(answer.body.items, undefined);
    // Without personal data there is nothing to audit, so the same failure does not matter.
    const guest = await get('/v1/views/service/customers', ['guest']);
    assert.equal(guest.status, 200, guest.text);
  });

  it('serves the sales KPIs to management only, through the route that wins over /:view/:collection', async () => {
    problem(await get('/v1/views/sales/kpis', ['sales-rep']), 403, 'forbidden');
    problem(await get('/v1/views/sales/kpis', ['management'], { filter: '{}' }), 400, 'validation-failed');
    const answer = await get('/v1/views/sales/kpis', ['management']);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get('CRM-View-Position'), '10');
    assert.deepEqual(answer.body, {
      position: 10,
      kpis: {
        pipeline: [{ stage: 'proposal', currency: 'EUR', count: 1, valueMinor: 1000 }],
        revenue: [{ month: '2025-03', ownerId: 'o1', currency: 'EUR', revenueMinor: 500, won: 1 }],
        winRate: [
          { month: '2025-03', ownerId: 'o1', won: 1, lost: 0, winRate: 1 },
          { month: '2025-03', ownerId: 'o2', won: 0, lost: 1, winRate: 0 },
        ],
      },
    });
    // A sales rep reads the deals, but not the management-only KPI fields.
    const deals = await get('/v1/views/sales/deals', ['sales-rep'], { sort: '_id' });
    assert.equal(deals.status, 200, deals.text);
    assert.ok(deals.body.items.every((d: Document) => !('pipelineKey' in d) && !('_position' in d)));
    problem(await get('/v1/views/sales/deals', ['sales-rep'], { pipeline: JSON.stringify([{ $group: { _id: '$pipelineKey', n: { $sum: 1 } } }]) }), 403, 'field-forbidden');
  });
});
