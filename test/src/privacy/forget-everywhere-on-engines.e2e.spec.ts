import { describe } from 'node:test';
import { engineCrm } from '../support/engine-crm.ts';
import { engineEnv, needs } from '../support/engines.ts';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { forgetEverywhereSuite } from './forget-everywhere.ts';

describe('forget-me everywhere, on PostgreSQL + Kafka + MongoDB (FerretDB)', { timeout: 240_000, ...needs('postgres', 'kafka', 'ferretdb') }, () => {
  const engines = engineCrm('fg');
  forgetEverywhereSuite({
    start: () => startCrmUnderTest(engines.env),
    // PostgreSQL's files (heap and WAL), Kafka's log segments, FerretDB's files, and the CRM's own directory (audit log).
    storeDirectories: (crm) => [engineEnv.pgDataDir!, engineEnv.kafkaLogDir!, engineEnv.ferretdbDataDir!, crm.dataDir],
    writeAheadLogs: [`${engineEnv.pgDataDir}/pg_wal`],
    // Written pages reach the data files (a scan of only WAL and buffers would prove less).
    beforeScan: () => engines.sql('CHECKPOINT'),
    cleanUp: () => engines.cleanUp(),
  });
});
