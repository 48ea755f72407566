import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Document } from '@crm/core';
import { openDocument, physicalCollectionName } from '@crm/projector';
import { startCommandLoad } from '../support/command-load.ts';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';
import { allDocuments } from '../support/view-documents.ts';

/**
 * Rebuild: each view is rebuilt from position 0 of the event store into a new generation
 * while commands keep arriving, switched to, and then equals, document by document, the
 * generation that was built incrementally from the bus since the start.
 */
describe('view rebuild', { timeout: 240_000 }, () => {
  let crm: CrmUnderTest;
  before(async () => {
    // The replaced generation keeps following the bus for the whole test, to be compared.
    // Small pages, so that commands get in between them even on a short history.
    crm = await startCrmUnderTest({ CRM_VIEW_RETIRE_AFTER_MS: '600000', CRM_VIEW_REBUILD_BATCH_SIZE: '20', CRM_LOG_LEVEL: 'info' });
    await crm.projections!.ready;
  });
  after(async () => {
    await crm?.dispose();
  });

  test('every view rebuilt under load equals the incrementally built one, document by document', async () => {
    const projections = crm.projections!;
    const load = startCommandLoad(crm, { workers: 2 });
    // Let some history build up first.
    while (load.accepted < 600) await new Promise((resolve) => setTimeout(resolve, 20));

    const rebuilt = [];
    let arrivedDuringRebuilds = 0;
    for (const view of crm.runtime.views) {
      const before = await crm.reader.position(view.name);
      const headBefore = await crm.runtime.eventStore.headPosition();
      const generation = await projections.rebuild(view.name);
      assert.equal(generation.generation, 2, `${view.name}: a second generation`);
      assert.equal(await crm.reader.collectionName(view.name, Object.values(view.collections)[0]!.name), physicalCollectionName(generation, Object.values(view.collections)[0]!.name));
      assert.ok((await crm.reader.position(view.name)) >= before, `${view.name}: the switch never goes back`);
      arrivedDuringRebuilds += (await crm.runtime.eventStore.headPosition()) - headBefore;
      rebuilt.push(generation);
    }
    await load.stop();
    assert.ok(arrivedDuringRebuilds > 0, `events kept arriving while the views were rebuilt (${arrivedDuringRebuilds})`);

    const head = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, head, 30_000), `${view.name} caught up`);

    for (const view of crm.runtime.views) {
      const incremental = { version: view.version, generation: 1 };
      const fresh = { version: view.version, generation: 2 };
      // The incremental generation follows the bus during its grace period: wait until it has applied everything too.
      await waitForWatermark(crm, `${view.name}_v${view.version}_g1`, head);
      let compared = 0;
      for (const collection of Object.values(view.collections)) {
        const open = async (documents: Document[]) =>
          new Map(await Promise.all(documents.map(async (d) => [d._id, await openDocument(crm.runtime.keyring, { view: view.name, collection }, d)] as const)));
        const a = await open(await allDocuments(crm.runtime.readStore, physicalCollectionName(incremental, collection.name)));
        const b = await open(await allDocuments(crm.runtime.readStore, physicalCollectionName(fresh, collection.name)));
        assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${view.name} ${collection.name}: the same documents`);
        for (const [id, document] of a) assert.deepEqual(b.get(id), document, `${view.name} ${collection.name}/${id}`);
        compared += a.size;
      }
      assert.ok(compared > 50, `${view.name}: compared ${compared} documents`);
    }
  });
});

async function waitForWatermark(crm: CrmUnderTest, generation: string, position: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const progress = await crm.runtime.readStore.get('crm_view_progress', generation);
    if (typeof progress?.watermark === 'number' && progress.watermark >= position) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`${generation} did not reach position ${position}`);
}
