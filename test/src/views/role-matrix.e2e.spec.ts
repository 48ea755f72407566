/**
 * The role matrix of the read side, over every role, view, collection and field: what a
 * role may read it sees, and nothing else; a filter, sort or aggregation on a field it may
 * not read is refused with 403; only management sees the KPIs; and the analytics view
 * holds no direct identifier.
 */
import assert from 'node:assert/strict';
import { describe, before, test } from 'node:test';
import { ROLES, type Role } from '@crm/contracts';
import type { CollectionDefinition } from '@crm/projections';
import { leakForms } from '../support/raw-scan.ts';
import { seededCrmForSuite } from '../support/seeded-crm.ts';
import { validCommandBodies } from '../support/valid-commands.ts';
import { allDocuments } from '../support/view-documents.ts';

const MARKER = 'Seed'; // what seedWorld and validCommandBodies put into every personal field

describe('read-side role matrix', { timeout: 180_000 }, () => {
  const seeded = seededCrmForSuite();
  const roleOf = (type: string): Role =>
    /Case/.test(type) ? 'service-agent' : /Employee|Absence|Employment/.test(type) ? 'hr' : 'sales-rep';

  before(async () => {
    const { crm, world } = seeded;
    // Every command once, plus marketing consent for a contact person, so every collection holds documents.
    const bodies = validCommandBodies(world, MARKER);
    for (const [type, body] of Object.entries(bodies)) {
      if (type === 'ObjectToDirectMarketing' || type === 'LoseDeal' || type === 'EndEmployment') continue;
      const answer = await crm.command(type, body, [roleOf(type)]);
      assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    }
    const consent = await crm.command(
      'GiveConsent',
      { customerId: world.organisationId, subjectId: world.contactSubjectId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' },
      ['sales-rep'],
    );
    // The contact may have been removed by RemoveContactPerson above: then consent for the customer instead.
    if (consent.status !== 200) {
      const own = await crm.command('GiveConsent', { customerId: world.customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' }, ['sales-rep']);
      assert.equal(own.status, 200, JSON.stringify(own.body));
    }
    const head = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, head, 30_000));
  });

  const get = async (path: string, role: Role, params: Record<string, unknown> = {}) => {
    const { crm } = seeded;
    const search = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    const response = await fetch(`${crm.url}/v1/views/${path}?${search}`, { headers: { authorization: `Bearer ${await crm.token([role])}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const readable = (collection: CollectionDefinition, role: Role) =>
    new Set(Object.entries(collection.fields).filter(([, p]) => p.roles.includes(role)).map(([f]) => f));

  test('each role sees exactly the fields it may read, in every collection of every view', async () => {
    const { crm } = seeded;
    const covered = new Set<string>();
    let checked = 0;
    for (const view of crm.runtime.views) {
      for (const collection of Object.values(view.collections)) {
        const path = collection.name;
        const stored = await allDocuments(crm.runtime.readStore, (await crm.reader.collectionName(view.name, path))!);
        assert.ok(stored.length > 0, `${path} holds documents for the matrix`);
        for (const role of ROLES) {
          const allowed = readable(collection, role);
          const answer = await get(path, role, { limit: 200 });
          if (allowed.size === 0) {
            assert.equal(answer.status, 403, `${role} may not read ${path}`);
            continue;
          }
          assert.equal(answer.status, 200, `${role} reads ${path}: ${JSON.stringify(answer.body)}`);
          const items = answer.body.items as Array<Record<string, unknown>>;
          assert.equal(items.length, stored.length);
          const byId = new Map(stored.map((d) => [d._id, d]));
          for (const item of items) {
            const raw = byId.get(String(item._id ?? ''));
            // Without `_id` readable, match by position in the same (default _id) order.
            const expected = Object.keys(raw ?? stored[items.indexOf(item)]!).filter((k) => allowed.has(k)).sort();
            assert.deepEqual(Object.keys(item).sort(), expected, `${role} on ${path}: exactly the readable fields`);
            for (const k of expected) covered.add(`${path}.${k}`);
            checked++;
          }
        }
      }
    }
    // Every field some role may read was seen in an answer at least once.
    const declared = crm.runtime.views.flatMap((v) =>
      Object.values(v.collections).flatMap((c) => Object.entries(c.fields).filter(([, p]) => p.roles.length > 0).map(([f]) => `${c.name}.${f}`)),
    );
    assert.deepEqual(declared.filter((f) => !covered.has(f)), [], 'every readable field was checked');
    assert.ok(checked > 40, `${checked} documents checked`);
  });

  test('a filter, sort or aggregation on a field the role may not read answers 403', async () => {
    const { crm } = seeded;
    let refusals = 0;
    for (const view of crm.runtime.views) {
      for (const collection of Object.values(view.collections)) {
        for (const role of ROLES) {
          const allowed = readable(collection, role);
          if (allowed.size === 0) continue;
          for (const field of Object.keys(collection.fields).filter((f) => !allowed.has(f))) {
            const filter = await get(collection.name, role, { filter: { [field]: { $exists: true } } });
            assert.equal(filter.status, 403, `${role} filter on ${collection.name}.${field}`);
            const sort = await get(collection.name, role, { sort: `-${field}` });
            assert.equal(sort.status, 403, `${role} sort on ${collection.name}.${field}`);
            const pipeline = await get(collection.name, role, { pipeline: [{ $group: { _id: `$${field}`, n: { $sum: 1 } } }] });
            assert.equal(pipeline.status, 403, `${role} aggregation on ${collection.name}.${field}`);
            assert.equal(pipeline.body.type, 'urn:crm:problem:field-forbidden');
            refusals += 3;
          }
        }
      }
    }
    assert.ok(refusals > 100, `${refusals} refusals checked`);
  });

  test('only management sees the KPIs', async () => {
    for (const role of ROLES) {
      const answer = await get('sales/kpis', role);
      assert.equal(answer.status, role === 'management' ? 200 : 403, role);
    }
  });

  test('the analytics view holds no direct identifier', async () => {
    const { crm, world } = seeded;
    const analytics = crm.runtime.views.find((v) => v.name === 'analytics')!;
    const ids = Object.values(world);
    const forms = [...leakForms(MARKER), MARKER.toLowerCase(), ...ids];
    let documents = 0;
    for (const collection of Object.values(analytics.collections)) {
      const stored = await allDocuments(crm.runtime.readStore, (await crm.reader.collectionName('analytics', collection.name))!);
      documents += stored.length;
      const raw = JSON.stringify(stored);
      for (const form of forms) assert.ok(!raw.includes(form), `analytics ${collection.name} holds no ${ids.includes(form) ? 'raw id' : 'personal marker'}`);
      for (const document of stored) assert.equal(document.subjectId, undefined);
    }
    assert.ok(documents > 3);
  });
});
