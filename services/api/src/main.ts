import { createLogger } from '@crm/core';
import { ConfigError, loadConfig } from '@crm/runtime';
import { withDevJwtSecret } from './dev-secret.ts';
import { startCrm } from './server.ts';

async function main(): Promise<void> {
  const { config, generated } = withDevJwtSecret(loadConfig());
  const logger = createLogger({ level: config.logLevel });
  if (generated) logger.warn('No CRM_JWT_SECRET or CRM_JWKS_URL set: generated a development signing secret in the data directory');
  const { openRuntime } = await import('@crm/runtime');
  const crm = await startCrm(config, await openRuntime(config, logger));
  const origin = crm.runtime.masterKeySource.origin;
  process.stdout.write(
    [
      '',
      `CRM core listening on ${crm.url}`,
      `  data directory   ${config.dataDir}`,
      `  master key       ${origin === 'environment' ? 'CRM_MASTER_KEY' : `${config.masterKeyFile} (${origin})`}`,
      `  API description  ${crm.url}/openapi.json`,
      '',
      'Mint a development token (in another terminal):',
      '  npx crm token --role sales-rep',
      'Then post a command:',
      `  curl -X POST ${crm.url}/v1/commands/RegisterCustomer -H "Authorization: Bearer $TOKEN" \\`,
      `       -H 'Content-Type: application/json' -d '{"name":"Erika Mustermann","email":"erika@example.org","segment":"consumer"}'`,
      'Load realistic demo data:',
      '  npm run demo',
      '',
    ].join('\n'),
  );
  const stop = async (signal: string) => {
    logger.info('stopping', { signal });
    await crm.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? 'Configuration error' : 'Start failed'}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
