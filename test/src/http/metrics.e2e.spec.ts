import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededCrmForSuite } from '../support/seeded-crm.ts';

describe('GET /metrics', { timeout: 60_000 }, () => {
  const seeded = seededCrmForSuite();

  test("answers the store's head and each view's position and lag, in Prometheus text, without personal data", async () => {
    const { crm } = seeded;
    const head = await crm.runtime.eventStore.headPosition();
    for (const view of crm.runtime.views) assert.ok(await crm.reader.waitForPosition(view.name, head, 10_000));
    const response = await fetch(`${crm.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, new RegExp(`^crm_event_store_head_position ${head}$`, 'm'));
    for (const view of crm.runtime.views) {
      assert.match(text, new RegExp(`^crm_view_position\\{view="${view.name}",version="${view.version}"\\} ${head}$`, 'm'));
      assert.match(text, new RegExp(`^crm_view_lag_events\\{view="${view.name}",version="${view.version}"\\} 0$`, 'm'));
    }
    assert.ok(!text.includes('Seed'), 'no personal value');
  });
});
