const NOT_READY = Symbol('not ready');

/**
 * Groups an async source into batches of what is ready now: after the first item of a
 * batch, items keep being added while the source answers within the same turn of the
 * event loop, up to `maxSize`. A caught-up subscription thus yields small batches at
 * once (low latency), a backlog yields full ones (throughput), with no timer.
 */
export async function* readyBatches<T>(source: AsyncIterable<T>, maxSize: number): AsyncGenerator<T[]> {
  if (!Number.isSafeInteger(maxSize) || maxSize < 1) throw new RangeError('maxSize must be a positive integer');
  const iterator = source[Symbol.asyncIterator]();
  // A next() that was not ready in time; it is the first item of the following batch.
  let pending: Promise<IteratorResult<T>> | undefined;
  let done = false;
  try {
    while (!done) {
      const first = await (pending ?? iterator.next());
      pending = undefined;
      if (first.done) return;
      const batch = [first.value];
      while (batch.length < maxSize) {
        pending = iterator.next();
        const next = await Promise.race([pending, nextTurn()]);
        if (next === NOT_READY) break;
        pending = undefined;
        if (next.done) {
          done = true;
          break;
        }
        batch.push(next.value);
      }
      yield batch;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}

function nextTurn(): Promise<typeof NOT_READY> {
  return new Promise((resolve) => setImmediate(resolve, NOT_READY));
}
