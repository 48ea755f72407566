/**
 * The behaviour every CheckpointStore adapter must show. An adapter's spec calls
 * `checkpointStoreContract(name, harness)`; the suite uses only the port.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckpointStore } from '@crm/core';
import { withOpened } from './with-opened.ts';

export interface CheckpointStoreHarness {
  /**
   * A new, empty place for checkpoints (a file, a schema...). The function it returns opens a
   * store on that place, as often as it is called: stores opened on one place share its
   * checkpoints, like two processes would. The suite closes every store it opens.
   */
  freshPlace(): Promise<() => Promise<CheckpointStore>>;
}

export function checkpointStoreContract(name: string, harness: CheckpointStoreHarness): void {
  const withStore = (body: (store: CheckpointStore) => Promise<void>) => withOpened(async () => (await harness.freshPlace())(), body);

  describe(`CheckpointStore contract: ${name}`, { timeout: 60_000 }, () => {
    it('loads 0 for a reader that never stored a checkpoint', () =>
      withStore(async (store) => {
        assert.equal(await store.load('relay'), 0);
      }));

    it('loads what was stored, per name', () =>
      withStore(async (store) => {
        const names = ['relay', 'projector:sales', 'Projektor/Übersicht 東京'];
        for (const [i, reader] of names.entries()) await store.store(reader, 10 * (i + 1));
        assert.deepEqual(await Promise.all(names.map((n) => store.load(n))), [10, 20, 30]);
        assert.equal(await store.load('relay-2'), 0, 'a name is not a prefix match');
      }));

    it('only moves forward: a lower or equal position changes nothing', () =>
      withStore(async (store) => {
        await store.store('relay', 7);
        await store.store('relay', 3);
        assert.equal(await store.load('relay'), 7);
        await store.store('relay', 7);
        await store.store('relay', 0);
        assert.equal(await store.load('relay'), 7);
        await store.store('relay', 8);
        assert.equal(await store.load('relay'), 8);
      }));

    it('keeps positions exactly up to Number.MAX_SAFE_INTEGER', () =>
      withStore(async (store) => {
        await store.store('relay', 2 ** 31 + 1);
        assert.equal(await store.load('relay'), 2 ** 31 + 1);
        await store.store('relay', Number.MAX_SAFE_INTEGER);
        assert.equal(await store.load('relay'), Number.MAX_SAFE_INTEGER);
      }));

    it('refuses a position that is not a non-negative safe integer, and keeps the stored one', () =>
      withStore(async (store) => {
        await store.store('relay', 5);
        for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
          await assert.rejects(store.store('relay', bad), RangeError, `refuses ${bad}`);
        }
        assert.equal(await store.load('relay'), 5);
      }));

    it('keeps checkpoints across close and reopen', async () => {
      const open = await harness.freshPlace();
      const first = await open();
      try {
        await first.store('relay', 42);
      } finally {
        await first.close();
      }
      const again = await open();
      try {
        assert.equal(await again.load('relay'), 42);
        await again.store('relay', 41);
        assert.equal(await again.load('relay'), 42);
      } finally {
        await again.close();
      }
    });

    it('keeps the highest of concurrent stores from two stores on one place, never going back', async () => {
      const open = await harness.freshPlace();
      const [a, b] = [await open(), await open()];
      try {
        // Each store gets a shuffled half of 1..60, so lower positions often land last.
        const positions = Array.from({ length: 60 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
        const seen: number[] = [];
        let writing = true;
        const watcher = (async () => {
          while (writing) seen.push(await b.load('relay'));
        })();
        await Promise.all(positions.map((p, i) => (i % 2 === 0 ? a : b).store('relay', p)));
        writing = false;
        await watcher;
        assert.equal(await a.load('relay'), 60);
        assert.equal(await b.load('relay'), 60);
        seen.forEach((p, i) => assert.ok(i === 0 || p >= (seen[i - 1] ?? 0), `load went back from ${seen[i - 1]} to ${p}`));
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
