import { describe } from 'node:test';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { readSideSuite } from './read-side.ts';

describe('the read side on the embedded default', { timeout: 120_000 }, () => {
  readSideSuite({
    start: () => startCrmUnderTest(),
    // The whole data directory: events, keys, views.sqlite (with its WAL), the audit log.
    readStoreFiles: (crm) => [crm.dataDir],
  });
});
