/**
 * `GET /metrics`: Prometheus text exposition of what an operator watches on the read side —
 * the event store's head, each view's applied position and its lag behind the head. Counts
 * and positions only: nothing personal, so it is served without a token, like /healthz.
 */
import { Router } from 'express';
import type { EventStore } from '@crm/core';
import type { ViewReader } from '@crm/projector';

export function metricsRoute(deps: { eventStore: EventStore; reader: ViewReader }): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const head = await deps.eventStore.headPosition();
    const lines = [
      '# HELP crm_event_store_head_position Global position of the last committed event.',
      '# TYPE crm_event_store_head_position gauge',
      `crm_event_store_head_position ${head}`,
      '# HELP crm_view_position Global position up to which the view has applied every event.',
      '# TYPE crm_view_position gauge',
      '# HELP crm_view_lag_events Events committed that the view has not applied yet.',
      '# TYPE crm_view_lag_events gauge',
    ];
    for (const view of deps.reader.views()) {
      const position = await deps.reader.position(view.name);
      lines.push(`crm_view_position{view="${view.name}",version="${view.version}"} ${position}`);
      lines.push(`crm_view_lag_events{view="${view.name}",version="${view.version}"} ${Math.max(0, head - position)}`);
    }
    res.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
  });
  return router;
}
