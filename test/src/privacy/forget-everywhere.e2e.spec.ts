import { describe } from 'node:test';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { forgetEverywhereSuite } from './forget-everywhere.ts';

describe('forget-me everywhere, on the embedded default', { timeout: 180_000 }, () => {
  forgetEverywhereSuite({
    start: () => startCrmUnderTest(),
    // Events, keys, views (with their WALs), the audit log: all under the data directory.
    storeDirectories: (crm) => [crm.dataDir],
  });
});
