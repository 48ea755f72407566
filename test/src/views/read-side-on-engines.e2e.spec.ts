import { describe } from 'node:test';
import { engineCrm } from '../support/engine-crm.ts';
import { engineEnv, needs } from '../support/engines.ts';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { readSideSuite } from './read-side.ts';

describe('the read side on PostgreSQL, Kafka and MongoDB (FerretDB)', { timeout: 180_000, ...needs('postgres', 'kafka', 'ferretdb') }, () => {
  const engines = engineCrm('rs');
  readSideSuite({
    start: () => startCrmUnderTest(engines.env),
    // FerretDB keeps each database in SQLite files under its data directory; and the CRM's own directory.
    readStoreFiles: (crm) => [engineEnv.ferretdbDataDir!, crm.dataDir],
    cleanUp: () => engines.cleanUp(),
  });
});
