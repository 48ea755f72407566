import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SealBroken } from '@crm/contracts';
import {
  type CheckpointStore,
  createLogger,
  type Document,
  type EventStore,
  generateMasterKey,
  Keyring,
  masterKeys,
  type ReadStore,
  sealEvent,
  subjectsOfEvent,
} from '@crm/core';
import type { DomainEvent } from '@crm/domain';
import { createInProcessBus } from '@crm/memory-bus';
import { SERVICE_COLLECTIONS as LOGICAL, serviceView } from '@crm/projections';
import { openSqliteCheckpointStore, openSqliteEventStore, openSqliteKeyStore, openSqliteReadStore } from '@crm/sqlite';
import { physicalCollectionName } from './generations.ts';
import { startProjections } from './projections-runner.ts';
import { createViewKeys } from './view-keys.ts';
import { createViewProjection } from './view-projection.ts';
import { isSealedField, openDocument, sealDocument } from './sealing.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-projector-'));
// Everything a test opens is closed here too, so a failing test cannot leave a writer
// thread behind that keeps this file's process alive.
const opened: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(closable: T): T {
  opened.push(closable);
  return closable;
}
after(async () => {
  for (const closable of opened.reverse()) await closable.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});
// The first generation of version 1, as the first start builds it.
const FIRST = { view: serviceView.name, version: serviceView.version, generation: 1 };
const physical = (logical: string) => physicalCollectionName(FIRST, logical);
const SERVICE_COLLECTIONS = {
  customers: physical(LOGICAL.customers),
  contacts: physical(LOGICAL.contacts),
  cases: physical(LOGICAL.cases),
  notes: physical(LOGICAL.notes),
};
const viewKeys = createViewKeys(Buffer.alloc(32, 7));
const quiet = createLogger({ level: 'silent' });

const NAME = 'Ada Plaintextmarker Lovelace';
const EMAIL = 'ada.plaintextmarker@example.org';
const SUMMARY = 'Summary plaintextmarker: the analytical engine overheats';
const NOTE = (i: number) => `Note plaintextmarker number ${i}`;

interface World {
  eventStore: EventStore;
  keyring: Keyring;
  readStorePath: string;
  close(): Promise<void>;
}

function openWorld(): World {
  const eventStore = openSqliteEventStore({ path: join(dir, `${randomUUID()}.events.db`), pollIntervalMs: 20 });
  const keyStore = openSqliteKeyStore({ path: join(dir, `${randomUUID()}.keys.db`) });
  const keyring = new Keyring({ keyStore, masterKeys: masterKeys(generateMasterKey()), cacheTtlMs: 60_000 });
  return {
    eventStore,
    keyring,
    readStorePath: join(dir, `${randomUUID()}.read.db`),
    close: async () => (await eventStore.close(), await keyStore.close()),
  };
}

async function append(world: World, streamId: string, event: DomainEvent): Promise<void> {
  const sealed = await sealEvent(world.keyring, event, randomUUID(), { subjectIds: subjectsOfEvent(event) });
  await world.eventStore.append(streamId, [sealed]);
}

/** Runs the service projector over everything appended so far, then stops it. */
async function project(world: World, readStore: ReadStore, checkpoints: CheckpointStore): Promise<void> {
  const bus = createInProcessBus({ eventStore: world.eventStore, checkpoints, logger: quiet, maxAttempts: 1 });
  const running = startProjections({ views: [serviceView], readStore, eventStore: world.eventStore, consumer: bus.consumer, keyring: world.keyring, viewKeys, logger: quiet });
  const head = await world.eventStore.headPosition();
  try {
    await running.ready;
    assert.ok(await running.reader.waitForPosition(serviceView.name, head, 10_000), 'projector caught up');
    assert.equal(await running.reader.collectionName(serviceView.name, LOGICAL.customers), SERVICE_COLLECTIONS.customers);
  } finally {
    await running.stop();
  }
  assert.equal(bus.deadLetters.list().length, 0, 'nothing dead-lettered');
}

const place = (collection: keyof typeof serviceView.collections) => ({ view: serviceView.name, collection: serviceView.collections[collection]! });

async function get(readStore: ReadStore, collection: string, id: string): Promise<Document> {
  const doc = await readStore.get(collection, id);
  assert.ok(doc, `${collection}/${id} exists`);
  return doc;
}

/** Every byte SQLite holds for the store (main file, and WAL / journal if any). */
function rawBytes(path: string): string {
  return readdirSync(dirname(path))
    .filter((f) => f.startsWith(basename(path)))
    .map((f) => readFileSync(join(dirname(path), f)).toString('latin1'))
    .join('');
}

describe('projector', { timeout: 60_000 }, () => {
  test('seals personal fields in the read store, is idempotent across restarts and replays, and honours erasure', async () => {
    const world = track(openWorld());
    const customerId = randomUUID();
    const caseId = randomUUID();
    await world.keyring.createSubjectKey(customerId);
    await append(world, `customer-${customerId}`, {
      type: 'CustomerRegistered',
      data: { customerId, name: NAME, email: EMAIL, segment: 'small-business', lifecycleStage: 'customer' },
    });
    await append(world, `service-case-${caseId}`, {
      type: 'ServiceCaseOpened',
      data: { caseId, customerId, subjectId: customerId, channel: 'email', summary: SUMMARY },
    });
    const noteIds: string[] = [];
    const addNote = async () => {
      const noteId = randomUUID();
      noteIds.push(noteId);
      await append(world, `service-case-${caseId}`, { type: 'CaseNoteAdded', data: { caseId, noteId, subjectId: customerId, text: NOTE(noteIds.length) } });
    };
    await addNote();
    await addNote();

    const checkpointsPath = join(dir, `${randomUUID()}.checkpoints.db`);
    let readStore = track(openSqliteReadStore({ path: world.readStorePath }));
    let checkpoints = track(openSqliteCheckpointStore({ path: checkpointsPath }));
    await project(world, readStore, checkpoints);

    // Indexes for every collection of the view.
    const existing = await readStore.collections();
    for (const c of Object.values(SERVICE_COLLECTIONS)) assert.ok(existing.includes(c), `collection ${c} created`);

    // Raw documents hold personal fields only sealed.
    const raw = await get(readStore, SERVICE_COLLECTIONS.customers, customerId);
    assert.ok(isSealedField(raw.name), 'name is { _sealed }');
    assert.ok(isSealedField(raw.email), 'email is { _sealed }');
    assert.equal(raw.phone, null, 'absent personal field stays null');
    assert.equal(raw.segment, 'small-business');
    assert.equal(raw.subjectId, customerId);
    const rawCase = await get(readStore, SERVICE_COLLECTIONS.cases, caseId);
    assert.ok(isSealedField(rawCase.summary));
    assert.equal(rawCase.noteCount, 2);

    // And open to their values.
    const opened = await openDocument(world.keyring, place('customers'), raw);
    assert.equal(opened.name, NAME);
    assert.equal(opened.email, EMAIL);
    assert.equal(opened.segment, 'small-business');
    assert.equal((await openDocument(world.keyring, place('cases'), rawCase)).summary, SUMMARY);
    const firstNote = await openDocument(world.keyring, place('notes'), await get(readStore, SERVICE_COLLECTIONS.notes, noteIds[0]!));
    assert.equal(firstNote.text, NOTE(1));

    // A sealed value is bound to its document and field: moved elsewhere, it does not open.
    await assert.rejects(openDocument(world.keyring, place('customers'), { ...raw, email: raw.name }), SealBroken);
    await assert.rejects(openDocument(world.keyring, place('customers'), { ...raw, _id: randomUUID(), subjectId: customerId }), SealBroken);

    // Restart: new store handles and a new consumer in the same group; one more note arrived meanwhile.
    await readStore.close();
    await checkpoints.close();
    await addNote();
    readStore = track(openSqliteReadStore({ path: world.readStorePath }));
    checkpoints = track(openSqliteCheckpointStore({ path: checkpointsPath }));
    await project(world, readStore, checkpoints);
    assert.equal((await get(readStore, SERVICE_COLLECTIONS.cases, caseId)).noteCount, 3);
    const positionBefore = (await get(readStore, SERVICE_COLLECTIONS.cases, caseId))._position;
    await checkpoints.close();

    // A replay of every event (as after a crash between write and offset commit): nothing applies twice.
    const replay = createViewProjection({ view: serviceView, readStore, keyring: world.keyring, collectionName: physical });
    await replay.project(await world.eventStore.readAll());
    const replayed = await get(readStore, SERVICE_COLLECTIONS.cases, caseId);
    assert.equal(replayed.noteCount, 3);
    assert.equal(replayed._position, positionBefore);
    assert.equal(await readStore.count(SERVICE_COLLECTIONS.notes), 3);
    assert.equal((await openDocument(world.keyring, place('customers'), await get(readStore, SERVICE_COLLECTIONS.customers, customerId))).name, NAME);
    // Blind index: the HMAC of the normalised email, for exact lookups; never the email itself.
    const blind = (await get(readStore, SERVICE_COLLECTIONS.customers, customerId))._blind as Record<string, string>;
    assert.equal(blind.email, viewKeys.blindIndex(serviceView.name, 'email', `  ${EMAIL.toUpperCase()} `));
    assert.equal((await readStore.find(SERVICE_COLLECTIONS.customers, { filter: { '_blind.email': blind.email } })).documents.length, 1);
    await checkpoints.close();

    // No plaintext personal value anywhere in the read store's file(s); a clear value is there.
    await readStore.close();
    const bytes = rawBytes(world.readStorePath);
    assert.ok(bytes.includes(customerId), 'control: clear fields are in the file');
    assert.ok(!bytes.includes('plaintextmarker'), 'no plaintext personal data in the read store file');

    // Erasure: the subject's key is destroyed; personal fields read as null, the rest stays.
    readStore = track(openSqliteReadStore({ path: world.readStorePath }));
    await world.keyring.destroySubjectKey(customerId, randomUUID());
    const erased = await openDocument(world.keyring, place('customers'), await get(readStore, SERVICE_COLLECTIONS.customers, customerId));
    assert.equal(erased.name, null);
    assert.equal(erased.email, null);
    assert.equal(erased.segment, 'small-business');
    assert.equal(erased.lifecycleStage, 'customer');
    const erasedCase = await openDocument(world.keyring, place('cases'), await get(readStore, SERVICE_COLLECTIONS.cases, caseId));
    assert.equal(erasedCase.summary, null);
    assert.equal(erasedCase.noteCount, 3);
    assert.equal(erasedCase.channel, 'email');
    // Sealing for an erased subject writes null.
    const resealed = await sealDocument(world.keyring, place('customers'), { ...erased, name: 'new plaintext' });
    assert.equal(resealed.name, null);

    await readStore.close();
    await world.close();
  });

  test('a document without a subject, and null personal values, stay as they are', async () => {
    const world = track(openWorld());
    const doc: Document = { _id: randomUUID(), kind: 'organisation', subjectId: null, name: null, organisationName: 'ACME' };
    const sealed = await sealDocument(world.keyring, place('customers'), doc);
    assert.deepEqual(sealed, doc);
    assert.deepEqual(await openDocument(world.keyring, place('customers'), sealed), doc);
    await world.close();
  });
});
