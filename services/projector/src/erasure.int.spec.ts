/**
 * The read side forgets and restricts: `SubjectForgotten` scrubs a person from every view by
 * each collection's rule (documents about them deleted or scrubbed, links to them nulled,
 * non-personal facts kept) and records what it did; a late event of the forgotten person is
 * scrubbed on write; a restriction is listed for queries and lifted again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger, type Document, generateMasterKey, Keyring, masterKeys, type ReadStore, sealEvent, subjectsOfEvent } from '@crm/core';
import type { DomainEvent } from '@crm/domain';
import { createInProcessBus } from '@crm/memory-bus';
import { openSqliteCheckpointStore, openSqliteEventStore, openSqliteKeyStore, openSqliteReadStore } from '@crm/sqlite';
import { crmViews } from './crm-views.ts';
import { ERASURES_COLLECTION } from './erasure.ts';
import { startProjections } from './projections-runner.ts';
import { createViewKeys } from './view-keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-erasure-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('read-side erasure and restriction', { timeout: 60_000 }, () => {
  test('forgotten: documents deleted or scrubbed per view, links nulled, facts kept, counts recorded; restricted: listed, then lifted', async () => {
    const eventStore = openSqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 10 });
    const keyStore = openSqliteKeyStore({ path: join(dir, 'keys.db') });
    const checkpoints = openSqliteCheckpointStore({ path: join(dir, 'events.db') });
    const readStore: ReadStore = openSqliteReadStore({ path: join(dir, 'views.db') });
    const keyring = new Keyring({ keyStore, masterKeys: masterKeys(generateMasterKey()), cacheTtlMs: 60_000 });
    const viewKeys = createViewKeys(Buffer.alloc(32, 3));
    const logger = createLogger({ level: 'silent' });
    const bus = createInProcessBus({ eventStore, checkpoints, logger, maxAttempts: 1 });
    const projections = startProjections({ views: crmViews(viewKeys), readStore, eventStore, consumer: bus.consumer, keyring, viewKeys, logger });
    try {
      const append = async (streamId: string, event: DomainEvent) => {
        const sealed = await sealEvent(keyring, event, randomUUID(), { subjectIds: subjectsOfEvent(event) });
        return (await eventStore.append(streamId, [sealed])).lastPosition;
      };
      const caught = async (position: number) => {
        for (const view of ['service', 'sales', 'hr', 'analytics']) assert.ok(await projections.reader.waitForPosition(view, position, 10_000), view);
      };
      const doc = async (view: string, collection: string, id: string): Promise<Document | undefined> =>
        readStore.get((await projections.reader.collectionName(view, collection))!, id);

      const [erika, owner, other, caseId, noteId, dealId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      for (const id of [erika, owner, other]) await keyring.createSubjectKey(id);
      await projections.ready;
      await append(`employee-${owner}`, { type: 'EmployeeHired', data: { employeeId: owner, name: 'Olga Owner', email: 'olga@example.org', position: 'Rep', department: 'Sales', startDate: '2020-01-01' } } as DomainEvent);
      await append(`customer-${erika}`, { type: 'CustomerRegistered', data: { customerId: erika, name: 'Erika Forgotten', email: 'erika@example.org', segment: 'consumer', lifecycleStage: 'customer', accountOwnerId: owner } } as DomainEvent);
      await append(`customer-${other}`, { type: 'CustomerRegistered', data: { customerId: other, name: 'Otto Other', segment: 'consumer', lifecycleStage: 'customer', accountOwnerId: owner } } as DomainEvent);
      await append(`customer-${erika}`, { type: 'ConsentGiven', data: { customerId: erika, subjectId: erika, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '1' } } as DomainEvent);
      await append(`service-case-${caseId}`, { type: 'ServiceCaseOpened', data: { caseId, customerId: erika, subjectId: erika, channel: 'email', summary: 'Erika cannot log in', assignedAgentId: owner } } as DomainEvent);
      await append(`service-case-${caseId}`, { type: 'CaseNoteAdded', data: { caseId, noteId, subjectId: erika, text: 'Called Erika back', authorAgentId: owner } } as DomainEvent);
      await append(`deal-${dealId}`, { type: 'DealOpened', data: { dealId, customerId: erika, subjectId: erika, title: 'Big one', amountMinor: 500_00, currency: 'EUR', ownerId: owner, stage: 'proposal' } } as DomainEvent);
      const won = await append(`deal-${dealId}`, { type: 'DealWon', data: { dealId, amountMinor: 500_00, currency: 'EUR', wonOn: '2026-10-01' } } as DomainEvent);
      await caught(won);
      assert.ok(await doc('service', 'service/customers', erika));
      assert.ok(await doc('sales', 'sales/marketing-lists', `marketing-email:${erika}`));

      // Restriction: listed for queries by id and by the analytics pseudonym; lifted again.
      const restrictedAt = await append(`privacy-subject-${other}`, { type: 'ProcessingRestricted', data: { subjectId: other, requestId: randomUUID() } } as DomainEvent);
      await caught(restrictedAt);
      assert.deepEqual(await projections.reader.restrictions('service'), { subjectIds: [other], pseudonyms: [] });
      assert.deepEqual(await projections.reader.restrictions('analytics'), { subjectIds: [other], pseudonyms: [viewKeys.pseudonymise('analytics', other)] });
      const liftedAt = await append(`privacy-subject-${other}`, { type: 'RestrictionLifted', data: { subjectId: other, requestId: randomUUID() } } as DomainEvent);
      await caught(liftedAt);
      assert.deepEqual(await projections.reader.restrictions('service'), { subjectIds: [], pseudonyms: [] });

      // An event of Erika's sealed before her erasure but delivered after it (a lagging partition, a slow writer).
      const lateNoteId = randomUUID();
      const lateNote = await sealEvent(keyring, { type: 'CaseNoteAdded', data: { caseId, noteId: lateNoteId, subjectId: erika, text: 'late note', authorAgentId: owner } } as DomainEvent, randomUUID(), {
        subjectIds: [erika, owner],
      });

      // Forget Erika: key destroyed, then SubjectForgotten.
      const requestId = randomUUID();
      await keyring.destroySubjectKey(erika, requestId);
      const forgottenAt = await append(`privacy-subject-${erika}`, { type: 'SubjectForgotten', data: { subjectId: erika, requestId, forgottenAt: new Date().toISOString() } } as DomainEvent);
      await caught(forgottenAt);

      assert.equal(await doc('service', 'service/customers', erika), undefined, 'customer document deleted');
      assert.equal(await doc('sales', 'sales/customers', erika), undefined);
      assert.equal(await doc('sales', 'sales/marketing-lists', `marketing-email:${erika}`), undefined);
      assert.equal(await doc('service', 'service/case-notes', noteId), undefined, 'notes about her deleted');
      const serviceCase = (await doc('service', 'service/cases', caseId))!;
      assert.deepEqual([serviceCase.subjectId, serviceCase.customerId, serviceCase.summary, serviceCase.channel, serviceCase.assignedAgentId], [null, null, null, 'email', owner]);
      const deal = (await doc('sales', 'sales/deals', dealId))!;
      assert.deepEqual([deal.subjectId, deal.customerId, deal.amountMinor, deal.status, deal.ownerId], [null, null, 500_00, 'won', owner], 'the won deal still counts, unlinked');
      assert.ok(await doc('service', 'service/customers', other), 'others untouched');

      const service = (await readStore.get(ERASURES_COLLECTION, `${erika}:service`))!;
      assert.equal(service.deleted, 2); // customer, note
      assert.equal(service.unlinked, 1); // case
      assert.equal((await readStore.get(ERASURES_COLLECTION, `${erika}:sales`))!.deleted, 2); // customer, marketing list entry

      // Forget the owner (an employee): links to them are nulled everywhere; KPI keys no longer carry their id.
      await keyring.destroySubjectKey(owner, randomUUID());
      const ownerGone = await append(`privacy-subject-${owner}`, { type: 'SubjectForgotten', data: { subjectId: owner, requestId: randomUUID(), forgottenAt: new Date().toISOString() } } as DomainEvent);
      await caught(ownerGone);
      assert.equal(await doc('hr', 'hr/employees', owner), undefined);
      const unowned = (await doc('sales', 'sales/deals', dealId))!;
      assert.equal(unowned.ownerId, null);
      assert.ok(!JSON.stringify(unowned).includes(owner), 'no derived field keeps the owner id');
      assert.equal((await doc('service', 'service/customers', other))!.accountOwnerId, null);

      // The late event of the forgotten person is scrubbed on write: her note is not written at all.
      const late = (await eventStore.append(`service-case-${caseId}`, [lateNote])).lastPosition;
      await caught(late);
      assert.equal(await doc('service', 'service/case-notes', lateNoteId), undefined);
      assert.equal((await doc('service', 'service/cases', caseId))!.subjectId, null, 'the case stays unlinked');

      // A rebuild replays everything and forgets again: the same end state.
      await projections.rebuild('service');
      assert.equal(await doc('service', 'service/customers', erika), undefined);
      assert.equal((await doc('service', 'service/cases', caseId))!.subjectId, null);
    } finally {
      await projections.stop();
      await Promise.allSettled([readStore.close(), eventStore.close(), keyStore.close(), checkpoints.close()]);
    }
  });
});
