/**
 * Which global positions a projection has applied, as a watermark plus runs above it.
 *
 * Positions are gap-free (every store assigns them one by one in commit order), and every
 * event reaches every group, so "caught up to P" means every position up to P was applied.
 * With Kafka, partitions arrive interleaved: position 41 may be applied before 40. The
 * watermark is the highest P with nothing missing below it; what was applied above it is
 * kept as ranges, so a restart that resumes each partition from its own offset neither waits
 * for a position it will never see again nor counts one it has not applied.
 */
export interface AppliedPositionsState {
  /** Every position up to this one is applied. */
  watermark: number;
  /** Applied ranges above the watermark, ascending, disjoint, not adjacent to each other or to it. */
  ahead: Array<[from: number, to: number]>;
}

export class AppliedPositions {
  #watermark: number;
  #ahead: Array<[number, number]>;

  constructor(state: AppliedPositionsState = { watermark: 0, ahead: [] }) {
    this.#watermark = state.watermark;
    this.#ahead = state.ahead.map(([from, to]) => [from, to]);
    this.#settle();
  }

  get watermark(): number {
    return this.#watermark;
  }

  state(): AppliedPositionsState {
    return { watermark: this.#watermark, ahead: this.#ahead.map(([from, to]) => [from, to]) };
  }

  /** Records applied positions; returns true when the watermark moved. */
  add(positions: Iterable<number>): boolean {
    const before = this.#watermark;
    for (const position of positions) this.#insert(position);
    this.#settle();
    return this.#watermark !== before;
  }

  #insert(position: number): void {
    if (position <= this.#watermark) return;
    const ranges = this.#ahead;
    // Binary search for the first range ending at or after position - 1.
    let low = 0;
    let high = ranges.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (ranges[mid]![1] < position - 1) low = mid + 1;
      else high = mid;
    }
    const at = ranges[low];
    if (at && at[0] <= position && position <= at[1]) return;
    if (at && at[1] === position - 1) {
      at[1] = position;
      const next = ranges[low + 1];
      if (next && next[0] === position + 1) {
        at[1] = next[1];
        ranges.splice(low + 1, 1);
      }
      return;
    }
    if (at && at[0] === position + 1) {
      at[0] = position;
      return;
    }
    ranges.splice(low, 0, [position, position]);
  }

  #settle(): void {
    while (this.#ahead.length > 0 && this.#ahead[0]![0] <= this.#watermark + 1) {
      this.#watermark = Math.max(this.#watermark, this.#ahead.shift()![1]);
    }
  }
}
