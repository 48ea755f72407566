import { parseArgs } from 'node:util';
import { isRole, ROLES, type Role } from '@crm/contracts';
import { generateMasterKey, Keyring, masterKeys, readMasterKeyFile, writeMasterKeyFile } from '@crm/core';
import { ConfigError, loadConfig, openKeyStore } from '@crm/runtime';
import { loadDemoData } from './demo.ts';
import { withDevJwtSecret } from './dev-secret.ts';
import { mintDevToken } from './dev-token.ts';
import { PRIVACY_USAGE, privacyCommand } from './privacy-cli.ts';
import { loadMasterKeys } from '@crm/core';
import { recordOfProcessingMarkdown } from '@crm/privacy';
import { crmViews } from '@crm/projector';
import { recordOfProcessingFor } from './retention.ts';

const USAGE = `Usage: crm <command>

  token --role <role> [--role <role>...] [--sub <id>] [--ttl <seconds>]
        Mint a development token (HS256, CRM_JWT_SECRET or the data directory's dev secret).
        Roles: ${ROLES.join(', ')}
  demo [--url <url>]
        Post realistic demo customers, consents, deals, cases and employees to a running CRM.
  keys rotate-master-key
        Embedded default only: generate a new master key and rewrap every data key under it.
  keys rewrap
        Rewrap every data key under CRM_MASTER_KEY (after rotating it; old keys in CRM_PREVIOUS_MASTER_KEYS).
  privacy record [--markdown]
        Print the record of processing activities (Art. 30) of this configuration, JSON or Markdown.
${PRIVACY_USAGE}`;

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string', multiple: true }, sub: { type: 'string' }, ttl: { type: 'string' } } });
  const roles = values.role ?? [];
  const unknown = roles.filter((r) => !isRole(r));
  if (roles.length === 0 || unknown.length > 0) throw new ConfigError(`--role must name one of: ${ROLES.join(', ')}`);
  const { config } = withDevJwtSecret(loadConfig());
  if (!config.auth.jwtSecret) throw new ConfigError('crm token signs with CRM_JWT_SECRET; with CRM_JWKS_URL your identity provider issues tokens');
  const ttlSeconds = values.ttl ? Number(values.ttl) : 3600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new ConfigError('--ttl must be a positive number of seconds');
  process.stdout.write(
    (await mintDevToken(config.auth.jwtSecret, { subject: values.sub ?? `dev-${roles.join('+')}`, roles: roles as Role[], ttlSeconds })) + '\n',
  );
}

async function demo(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { url: { type: 'string' } } });
  const { config } = withDevJwtSecret(loadConfig());
  const url = values.url ?? `http://127.0.0.1:${config.port}`;
  await loadDemoData({ url, jwtSecret: config.auth.jwtSecret!, log: (line) => process.stdout.write(line + '\n') });
}

async function keys(args: string[]): Promise<void> {
  const config = loadConfig();
  const keyStore = await openKeyStore(config);
  await keyStore.ready;
  try {
    if (args[0] === 'rotate-master-key') {
      if (config.masterKey) throw new ConfigError('CRM_MASTER_KEY is set: rotate it in your secret store, move the old one to CRM_PREVIOUS_MASTER_KEYS, restart, then run `crm keys rewrap`');
      const old = readMasterKeyFile(config.masterKeyFile);
      const next = generateMasterKey();
      // The new key is on disk before any data key depends on it; old keys stay until the rewrap is done.
      writeMasterKeyFile(config.masterKeyFile, [next, ...old.byId.values()]);
      const keyring = new Keyring({ keyStore, masterKeys: masterKeys(next, [...old.byId.values()]), cacheTtlMs: 0 });
      const count = await keyring.rewrapAll();
      writeMasterKeyFile(config.masterKeyFile, [next]);
      process.stdout.write(`Rewrapped ${count} data keys under master key ${next.id}; restart running CRM processes.\n`);
      return;
    }
    if (args[0] === 'rewrap') {
      const source = loadMasterKeys(
        { ...(config.masterKey ? { masterKey: config.masterKey } : {}), ...(config.previousMasterKeys ? { previousMasterKeys: config.previousMasterKeys } : {}) },
        config.masterKeyFile,
      );
      const keyring = new Keyring({ keyStore, masterKeys: source.keys, cacheTtlMs: 0 });
      const count = await keyring.rewrapAll();
      process.stdout.write(`Rewrapped ${count} data keys under master key ${source.keys.current.id}.\n`);
      return;
    }
    throw new ConfigError(USAGE);
  } finally {
    await keyStore.close();
  }
}

const [command, ...rest] = process.argv.slice(2);
/** The record reads the views' declarations only: no view secret is loaded, no pseudonym made. */
async function privacy(args: string[]): Promise<void> {
  // Everything but the record asks a running CRM over HTTP.
  if (args[0] !== 'record') return privacyCommand(args);
  const { values } = parseArgs({ args, allowPositionals: true, options: { markdown: { type: 'boolean' } } });
  const unused = (): never => {
    throw new Error('not used by the record of processing');
  };
  const record = recordOfProcessingFor(loadConfig(), crmViews({ blindIndex: unused, pseudonymise: unused }));
  process.stdout.write(values.markdown ? recordOfProcessingMarkdown(record) : `${JSON.stringify(record, null, 2)}\n`);
}

const commands: Record<string, (args: string[]) => Promise<void>> = { token, demo, keys, privacy };
const run = command ? commands[command] : undefined;
if (!run) {
  process.stdout.write(USAGE);
  process.exit(command ? 2 : 0);
}
run(rest).catch((error: unknown) => {
  process.stderr.write(`crm ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
