/**
 * The one-stream rule (see view.ts), checked mechanically: every document a view writes, or
 * looks up, is touched by the events of one stream only; and so projecting the history in any
 * order that keeps each stream's own order — all the bus guarantees — gives the same documents.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, isLookup, type DocumentChange, type ViewDefinition } from './view.ts';
import { createAnalyticsView, hrView, salesView, serviceView } from './index.ts';
import { history } from './fixtures.ts';
import { project, type Store, type StreamEvent } from './testing.ts';

const views = [serviceView, salesView, hrView, createAnalyticsView({ pseudonymise: (id) => `p:${id}` })];

/** For each document (`collection/id`) a view writes or looks up, the streams whose events did so. */
function streamsByDocument(view: ViewDefinition, events: readonly StreamEvent[]): Map<string, Set<string>> {
  const touched = new Map<string, Set<string>>();
  const touch = (collection: string, id: string, streamId: string) => {
    const key = `${collection}/${id}`;
    touched.set(key, (touched.get(key) ?? new Set()).add(streamId));
  };
  const store: Store = new Map();
  for (const event of events) {
    const changes = view.evolve(event);
    const resolved: DocumentChange[] = changes.flatMap((c) => {
      if (!isLookup(c)) return [c];
      touch(c.lookup.collection, c.lookup.id, event.streamId);
      return c.then(store.get(`${c.lookup.collection}/${c.lookup.id}`));
    });
    for (const change of resolved) touch(change.collection, change.id, event.streamId);
    applyChanges(store, changes);
  }
  return touched;
}

/** The events stream by stream: each stream's events in order, the streams in the order given. */
function streamByStream(events: readonly StreamEvent[], order: (streams: string[]) => string[]): StreamEvent[] {
  const streams = order([...new Set(events.map((e) => e.streamId))]);
  return streams.flatMap((s) => events.filter((e) => e.streamId === s));
}

describe('one stream per document', () => {
  test('the fixture history has several streams of every kind', () => {
    const streams = new Set(history().map((e) => e.streamId.split('-')[0]));
    assert.deepEqual([...streams].sort(), ['case', 'customer', 'deal', 'employee']);
    assert.ok(new Set(history().map((e) => e.streamId)).size >= 14);
  });
  for (const view of views)
    test(`${view.name}: each document is touched by the events of one stream`, () => {
      for (const erased of [false, true]) {
        const touched = streamsByDocument(view, history(erased));
        assert.ok(touched.size > 0);
        for (const [document, streams] of touched) assert.equal(streams.size, 1, `${document} is touched by ${[...streams].join(', ')}`);
      }
    });
  for (const view of views)
    test(`${view.name}: any interleaving that keeps each stream's order gives the same documents`, () => {
      const inOrder = project(view, history());
      assert.deepEqual(project(view, streamByStream(history(), (s) => s)), inOrder);
      assert.deepEqual(project(view, streamByStream(history(), (s) => [...s].reverse())), inOrder);
    });
});
