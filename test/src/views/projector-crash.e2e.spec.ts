import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Document, ReadStore } from '@crm/core';
import { createViewProjection, generationId, openDocument, physicalCollectionName, VIEW_PROGRESS, VIEW_REGISTRY } from '@crm/projector';
import type { ViewDefinition } from '@crm/projections';
import { openSqliteReadStore } from '@crm/sqlite';
import { type BulkHistory, writeBulkHistory } from '../support/bulk-history.ts';
import { type CrmUnderTest, startCrmUnderTest, TEST_JWT_SECRET } from '../support/crm-under-test.ts';
import { type ProjectorProcess, startProjectorProcess } from '../support/projector-process.ts';
import { allDocuments } from '../support/view-documents.ts';

/**
 * A projector killed with SIGKILL in the middle of a batch resumes from its applied position:
 * nothing lost, nothing applied twice. The API runs in this process with CRM_PROJECTOR=off;
 * the projector runs as its own process (projector-main.ts) on the same data directory and
 * secrets. The first one builds generation 1 of every view on a small history and is stopped;
 * a large backlog is written; while commands keep arriving, a projector working through the
 * backlog is killed twice just after a run wrote its documents and before it saved its
 * progress; more commands arrive while it is dead, and a last one catches up with the head.
 * Every view then equals, document by document, the same view built from scratch in this
 * process from the event store, and every case's note count equals its notes.
 */
const BACKLOG = { worlds: 900, notesPerCase: 20 }; // 37.5 events a world: 33,750 events, some 8 s of projecting here
/** Kills that must land mid-batch (after a run wrote documents, before it saved its progress), and the most tried for that. */
const MID_BATCH_KILLS = 2;
const MAX_KILL_ATTEMPTS = 5;

describe('projector killed mid-batch', { timeout: 600_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-projector-crash-'));
  const referenceDir = mkdtempSync(join(tmpdir(), 'crm-projector-reference-'));
  const env: Record<string, string> = {
    CRM_DATA_DIR: dataDir,
    CRM_MASTER_KEY: randomBytes(32).toString('base64'),
    CRM_VIEW_KEY: randomBytes(32).toString('base64'),
    CRM_JWT_SECRET: TEST_JWT_SECRET,
    CRM_PROJECTOR: 'off',
    CRM_LOG_LEVEL: 'info',
  };
  const projectors: ProjectorProcess[] = [];
  let crm: CrmUnderTest | undefined;
  let reference: ReadStore | undefined;
  const stopLive = new AbortController();
  let live: Promise<BulkHistory> | undefined;

  before(async () => {
    // The writer need not fsync every commit (it survives process crashes either way): the backlog is written faster.
    crm = await startCrmUnderTest({ ...env, CRM_DURABLE: 'false' }, { dataDir });
  });
  after(async () => {
    for (const projector of projectors) await projector.stop('SIGKILL');
    stopLive.abort();
    await live?.catch(() => undefined);
    await reference?.close().catch(() => undefined);
    await crm?.dispose(); // removes dataDir
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(referenceDir, { recursive: true, force: true });
  });

  test('every view resumes after kill -9 and equals a build from scratch, document by document', async (t) => {
    const { runtime } = crm!;
    const { readStore, eventStore, views } = runtime;
    const started = performance.now();
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
    const service = views.find((v) => v.name === 'service')!;
    const progressOf = async (view: ViewDefinition): Promise<number> => {
      const progress = await readStore.get(VIEW_PROGRESS, generationId({ view: view.name, version: view.version, generation: 1 }));
      return typeof progress?.watermark === 'number' ? progress.watermark : 0;
    };
    const spawnProjector = () => {
      const projector = startProjectorProcess(env);
      projectors.push(projector);
      return projector;
    };
    /** Waits until every view's generation 1 has applied everything up to `head`, while the projector lives. */
    const waitForAll = async (projector: ProjectorProcess, head: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const watermarks = await Promise.all(views.map(progressOf));
        if (watermarks.every((w) => w >= head)) return;
        if (projector.child.exitCode !== null || projector.child.signalCode !== null) assert.fail(`the projector exited:\n${projector.output()}`);
        if (Date.now() > deadline) assert.fail(`views at ${watermarks.join(', ')} did not reach ${head}:\n${projector.output()}`);
        await sleep(20);
      }
    };
    const histories: BulkHistory[] = [];

    // 1. A small history; the first projector builds generation 1 of every view and is stopped.
    histories.push(await writeBulkHistory(runtime.commands, { worlds: 5, notesPerCase: 3, marker: 'Seed' }));
    const seedHead = await eventStore.headPosition();
    const first = spawnProjector();
    await waitForAll(first, seedHead, 60_000);
    assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null }, first.output());
    t.diagnostic(`generation 1 of every view built on ${seedHead} events (${elapsed()})`);

    // 2. A backlog big enough that working through it takes seconds.
    const backlogStarted = performance.now();
    histories.push(await writeBulkHistory(runtime.commands, { ...BACKLOG, marker: 'Backlog' }));
    const backlogHead = await eventStore.headPosition();
    t.diagnostic(`backlog: ${backlogHead - seedHead} events in ${((performance.now() - backlogStarted) / 1000).toFixed(1)} s`);

    // 3. Commands keep arriving from here on. A projector works through the backlog and, well into
    //    it, is killed the moment the service view holds a case written by a run whose progress is
    //    not saved yet (`_position` above the saved watermark): mid-batch. If that is not seen
    //    within a stretch of the backlog, it is killed there anyway. Again, until two kills landed
    //    mid-batch (checked once the views were compared, so a loss shows as a loss).
    live = writeBulkHistory(runtime.commands, { worlds: Infinity, notesPerCase: 5, concurrency: 2, marker: 'Live', signal: stopLive.signal });
    live.catch(() => stopLive.abort());
    assert.equal(await progressOf(service), seedHead);
    const backlog = backlogHead - seedHead;
    const cases = physicalCollectionName({ version: service.version, generation: 1 }, service.collections.cases!.name);
    const positionsAbove = async (watermark: number) =>
      (await readStore.find(cases, { filter: { _position: { $gt: watermark } }, limit: 1000 })).documents.map((d) => d._position as number);
    const kills: Array<{ at: number; midBatch: boolean }> = [];
    for (let attempt = 1; kills.filter((k) => k.midBatch).length < MID_BATCH_KILLS && attempt <= MAX_KILL_ATTEMPTS; attempt++) {
      const projector = spawnProjector();
      const runStarted = performance.now();
      const alive = () => assert.ok(projector.child.exitCode === null && projector.child.signalCode === null, `the projector exited:\n${projector.output()}`);
      // Past what an earlier kill left behind, then caught at a run's write or, failing that, killed at `latest`.
      const earliest = seedHead + Math.round(Math.min(0.15 * attempt, 0.75) * backlog);
      const latest = earliest + Math.round(0.1 * backlog);
      let watermark = await progressOf(service);
      while (watermark < earliest) {
        alive();
        await sleep(5);
        watermark = await progressOf(service);
      }
      while (watermark < latest) {
        alive();
        const written = await positionsAbove(watermark);
        const saved = await progressOf(service);
        if (written.some((p) => p > saved)) break;
        watermark = saved;
        await sleep(1);
      }
      assert.ok(process.kill(projector.pid, 'SIGKILL'));
      assert.deepEqual(await projector.exited, { code: null, signal: 'SIGKILL' });
      const killedAt = await progressOf(service);
      const midBatch = (await positionsAbove(killedAt)).length > 0;
      const head = await eventStore.headPosition();
      const watermarks = await Promise.all(views.map(progressOf));
      t.diagnostic(
        `kill ${attempt} after ${((performance.now() - runStarted) / 1000).toFixed(1)} s: service at ${killedAt} of ${head} ` +
          `(${views.map((v, i) => `${v.name} ${watermarks[i]}`).join(', ')}); ${midBatch ? 'mid-batch' : 'not caught mid-batch'}: ` +
          `${await documentsAhead(readStore, service, killedAt)} documents of the service view ahead of its watermark`,
      );
      assert.ok(killedAt >= seedHead && killedAt < backlogHead - 1000, `killed mid-way: ${seedHead} ≤ ${killedAt} < ${backlogHead - 1000} (make the backlog bigger if not)`);
      kills.push({ at: killedAt, midBatch });
    }

    // 4. More commands while it is dead, then the last projector catches up with the head.
    await sleep(500);
    stopLive.abort();
    histories.push(await live);
    live = undefined;
    histories.push(await writeBulkHistory(runtime.commands, { worlds: 20, notesPerCase: 4, marker: 'Late' }));
    const head = await eventStore.headPosition();
    assert.ok((await progressOf(service)) < head);
    const last = spawnProjector();
    const catchUp = performance.now();
    await waitForAll(last, head, 180_000);
    t.diagnostic(`the restarted projector caught up with ${head} in ${((performance.now() - catchUp) / 1000).toFixed(1)} s`);
    assert.deepEqual(await last.stop('SIGTERM'), { code: 0, signal: null }, last.output());
    for (const view of views) {
      // Resumed, not rebuilt: generation 1 is still the active one, and no other was started.
      const registry = await readStore.get(VIEW_REGISTRY, view.name);
      assert.deepEqual([registry?.active, registry?.building], [{ version: view.version, generation: 1 }, null], `${view.name} registry`);
      assert.equal(await progressOf(view), head, `${view.name} stopped at the head`);
    }
    for (const projector of projectors) assert.ok(!projector.output().includes('"level":"error"'), projector.output());
    assert.ok(last.output().includes(`"msg":"views ready","views":"${views.map((v) => `${v.name} v${v.version}`).join(', ')}"`), last.output());

    // 5. The reference: every view built from scratch in this process from the event store.
    reference = openSqliteReadStore({ path: join(referenceDir, 'views.sqlite'), durable: false });
    const projections = views.map((view) =>
      createViewProjection({
        view,
        readStore: reference!,
        keyring: runtime.keyring,
        collectionName: (logical) => physicalCollectionName({ version: view.version, generation: 1 }, logical),
        blindIndex: (field, value) => runtime.viewKeys.blindIndex(view.name, field, value),
      }),
    );
    for (const projection of projections) await projection.ensureIndexes();
    for (let after = 0; after < head; ) {
      const page = await eventStore.readAll({ after, limit: Math.min(2000, head - after) });
      assert.ok(page.length > 0);
      for (const projection of projections) await projection.project(page);
      after = page[page.length - 1]!.globalPosition;
    }

    // 6. Equal, document by document (personal fields opened on both sides: the ciphertexts differ).
    let compared = 0;
    for (const view of views) {
      for (const collection of Object.values(view.collections)) {
        const name = physicalCollectionName({ version: view.version, generation: 1 }, collection.name);
        const open = async (documents: Document[]) =>
          new Map(await Promise.all(documents.map(async (d) => [d._id, await openDocument(runtime.keyring, { view: view.name, collection }, d)] as const)));
        const resumed = await open(await allDocuments(readStore, name));
        const scratch = await open(await allDocuments(reference, name));
        assert.deepEqual([...resumed.keys()].sort(), [...scratch.keys()].sort(), `${view.name} ${collection.name}: the same documents`);
        for (const [id, document] of scratch) assert.deepEqual(resumed.get(id), document, `${view.name} ${collection.name}/${id}`);
        compared += scratch.size;
      }
    }

    // 7. The counters a double application would inflate: every case's noteCount is the number of its notes, as written.
    const notesByCase = new Map(histories.flatMap((h) => [...h.notesByCase]));
    const caseDocuments = await allDocuments(readStore, cases);
    const notes = await allDocuments(readStore, physicalCollectionName({ version: service.version, generation: 1 }, service.collections.notes!.name));
    const counted = new Map<string, number>();
    for (const note of notes) counted.set(String(note.caseId), (counted.get(String(note.caseId)) ?? 0) + 1);
    assert.equal(caseDocuments.length, notesByCase.size, 'every case is in the view');
    for (const kase of caseDocuments) {
      assert.equal(kase.noteCount, counted.get(kase._id) ?? 0, `case ${kase._id}: noteCount equals its notes`);
      assert.equal(kase.noteCount, notesByCase.get(kase._id), `case ${kase._id}: noteCount equals the notes added`);
    }
    assert.equal(notes.length, [...notesByCase.values()].reduce((a, b) => a + b, 0), 'every note is in the view once');
    assert.ok(kills.filter((k) => k.midBatch).length >= MID_BATCH_KILLS, `kills landed mid-batch: ${JSON.stringify(kills)}`);
    t.diagnostic(`${head} events; compared ${compared} documents; ${caseDocuments.length} cases, ${notes.length} notes; ${elapsed()}`);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Documents of the view's generation 1 that carry events past `watermark`: applied by a run whose progress was never saved. */
async function documentsAhead(readStore: ReadStore, view: ViewDefinition, watermark: number): Promise<number> {
  let ahead = 0;
  for (const collection of Object.values(view.collections)) {
    const page = await readStore.find(physicalCollectionName({ version: view.version, generation: 1 }, collection.name), {
      filter: { _position: { $gt: watermark } },
      limit: 1000,
    });
    ahead += page.documents.length;
  }
  return ahead;
}
