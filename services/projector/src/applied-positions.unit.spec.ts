import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppliedPositions } from './applied-positions.ts';

describe('AppliedPositions', () => {
  it('moves the watermark only over positions with nothing missing below them', () => {
    const applied = new AppliedPositions();
    assert.equal(applied.add([2, 3, 5]), false);
    assert.equal(applied.watermark, 0);
    assert.deepEqual(applied.state().ahead, [[2, 3], [5, 5]]);
    assert.equal(applied.add([1]), true);
    assert.equal(applied.watermark, 3);
    applied.add([4]);
    assert.equal(applied.watermark, 5);
    assert.deepEqual(applied.state().ahead, []);
  });

  it('ignores positions already applied and merges neighbouring ranges', () => {
    const applied = new AppliedPositions({ watermark: 10, ahead: [] });
    applied.add([3, 10, 14, 12, 13, 12]);
    assert.deepEqual(applied.state(), { watermark: 10, ahead: [[12, 14]] });
    applied.add([16, 15]);
    assert.deepEqual(applied.state(), { watermark: 10, ahead: [[12, 16]] });
    applied.add([11]);
    assert.deepEqual(applied.state(), { watermark: 16, ahead: [] });
  });

  it('resumes from a saved state: interleaved partitions reach the same watermark as one ordered log', () => {
    // Two partitions: odd and even positions, each in order, interleaved unevenly.
    const odd = [1, 3, 5, 7, 9, 11];
    const even = [2, 4, 6, 8, 10, 12];
    const first = new AppliedPositions();
    first.add([...odd.slice(0, 5), ...even.slice(0, 2)]);
    assert.equal(first.watermark, 5);
    const resumed = new AppliedPositions(first.state());
    resumed.add([...even.slice(2), ...odd.slice(5)]);
    assert.equal(resumed.watermark, 12);
  });

  it('agrees with a plain set on random orders', () => {
    for (let round = 0; round < 50; round++) {
      const positions = Array.from({ length: 200 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
      const applied = new AppliedPositions();
      const seen = new Set<number>();
      for (const p of positions) {
        applied.add([p]);
        seen.add(p);
        let expected = 0;
        while (seen.has(expected + 1)) expected++;
        assert.equal(applied.watermark, expected);
      }
    }
  });
});
