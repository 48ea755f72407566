/**
 * Groups an async sequence into runs of what is already at hand: the first item is awaited,
 * then more are taken while they arrive without waiting for I/O (before the next macrotask),
 * up to `maxSize`. A caught-up consumer thus handles each event as soon as it commits, and a
 * consumer behind by many events handles them in large runs.
 */
export async function* runsOf<T>(source: AsyncIterable<T>, maxSize: number): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  const NOT_YET = Symbol('not-yet');
  const tick = () => new Promise<typeof NOT_YET>((resolve) => setImmediate(() => resolve(NOT_YET)));
  try {
    while (true) {
      const first = await (pending ?? iterator.next());
      pending = undefined;
      if (first.done) return;
      const run: T[] = [first.value];
      while (run.length < maxSize) {
        const next = iterator.next();
        const settled = await Promise.race([next, tick()]);
        if (settled === NOT_YET) {
          pending = next;
          break;
        }
        if (settled.done) {
          yield run;
          return;
        }
        run.push(settled.value);
      }
      yield run;
    }
  } finally {
    // Ending the iterator stops its source; with a read still pending, the source ends once
    // that read settles (the consumer's abort signal settles it).
    if (pending) void pending.then(() => iterator.return?.(), () => undefined);
    else await iterator.return?.();
  }
}
