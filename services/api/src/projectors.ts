import type { Logger } from '@crm/core';
import { type RunningProjections, startProjections } from '@crm/projector';
import { type CrmConfig, type CrmRuntime, projectorGroupPrefix } from '@crm/runtime';

/**
 * The view projectors of a runtime, as its configuration asks for them: the one way the API
 * process (CRM_PROJECTOR=inline), the projector process and the benchmarks start them.
 */
export function startProjectorsFor(rt: CrmRuntime, config: CrmConfig, logger: Logger = rt.logger): RunningProjections {
  return startProjections({
    views: rt.views,
    readStore: rt.readStore,
    eventStore: rt.eventStore,
    consumer: rt.bus.consumer,
    keyring: rt.keyring,
    viewKeys: rt.viewKeys,
    logger,
    retireAfterMs: config.viewRetireAfterMs,
    rebuildBatchSize: config.viewRebuildBatchSize,
    groupPrefix: projectorGroupPrefix(config),
  });
}
