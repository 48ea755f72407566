import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readyBatches } from './ready-batches.ts';

async function collect<T>(source: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of source) out.push(batch);
  return out;
}

describe('readyBatches', () => {
  test('a backlog comes in full batches, the rest in the last one', async () => {
    async function* backlog() {
      for (let i = 1; i <= 7; i++) yield i;
    }
    assert.deepEqual(await collect(readyBatches(backlog(), 3)), [[1, 2, 3], [4, 5, 6], [7]]);
  });

  test('a batch ends where the source has to wait; nothing is lost across the wait', async () => {
    async function* trickle() {
      yield 1;
      yield 2;
      await sleep(20);
      yield 3;
      await sleep(20);
      yield 4;
      yield 5;
    }
    assert.deepEqual(await collect(readyBatches(trickle(), 10)), [[1, 2], [3], [4, 5]]);
  });

  test('breaking out closes the source', async () => {
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const batch of readyBatches(endless(), 4)) {
      assert.deepEqual(batch, [0, 1, 2, 3]);
      break;
    }
    assert.equal(closed, true);
  });
});
