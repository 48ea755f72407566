/**
 * Each view declares the event types it uses; the runtime neither opens nor evolves the
 * others. So a declaration that left a type out would silently lose its changes: every
 * event of a type outside the declaration must evolve to nothing, and every declared type
 * must be an event the contracts know.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventContract } from '@crm/contracts';
import { createAnalyticsView, hrView, salesView, serviceView } from './index.ts';
import { history } from './fixtures.ts';

const views = [serviceView, salesView, hrView, createAnalyticsView({ pseudonymise: (id) => `p:${id}` })];

describe('declared event types', () => {
  for (const view of views) {
    test(`${view.name}: events of undeclared types change nothing; declared types are known events`, () => {
      const events = history();
      let outside = 0;
      for (const event of events) {
        if (view.eventTypes.has(event.type)) continue;
        outside++;
        assert.deepEqual(view.evolve(event), [], `${view.name} must declare ${event.type}`);
      }
      assert.ok(events.some((e) => view.eventTypes.has(e.type) && view.evolve(e).length > 0), 'the history exercises the view');
      for (const type of view.eventTypes) assert.ok(eventContract(type), `${type} is an event of the contracts`);
    });
  }
});
