import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CrmConfig } from '@crm/runtime';

/**
 * Without CRM_JWT_SECRET or CRM_JWKS_URL, the embedded default signs development tokens
 * with a random secret kept in the data directory, so `crm token` and the server agree.
 */
export function withDevJwtSecret(config: CrmConfig): { config: CrmConfig; generated: boolean } {
  if (config.auth.jwtSecret || config.auth.jwksUrl) return { config, generated: false };
  const file = join(config.dataDir, 'dev-jwt.secret');
  let generated = false;
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
    generated = true;
  }
  const jwtSecret = readFileSync(file, 'utf8').trim();
  return { config: { ...config, auth: { ...config.auth, jwtSecret } }, generated };
}
