import { resolve } from 'node:path';
import { parseLogLevel, type LogLevel } from '@crm/core';

/** The one configuration loader: every setting comes from the environment, with embedded defaults. */
export interface CrmConfig {
  dataDir: string;
  port: number;
  host: string;
  eventStore: { kind: 'sqlite'; path: string };
  keyStore: { kind: 'sqlite'; path: string };
  masterKey?: string;
  previousMasterKeys?: string;
  masterKeyFile: string;
  auth: {
    /** HS256 secret (development and tests). */
    jwtSecret?: string;
    /** JWKS URL (production). */
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
  };
  keyCacheTtlMs: number;
  /** fsync every commit before answering (group commit keeps this cheap). */
  durable: boolean;
  logLevel: LogLevel;
}

export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function storeLocation(value: string | undefined, name: string, dataDir: string, file: string) {
  if (value === undefined || value === '' || value === 'sqlite') return { kind: 'sqlite' as const, path: resolve(dataDir, file) };
  if (value.startsWith('sqlite:')) return { kind: 'sqlite' as const, path: resolve(value.slice('sqlite:'.length)) };
  throw new ConfigError(`${name}: only sqlite (the embedded default) or sqlite:<path> is supported in this build`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CrmConfig {
  const dataDir = resolve(env.CRM_DATA_DIR || './data');
  const eventStore = storeLocation(env.CRM_EVENT_STORE, 'CRM_EVENT_STORE', dataDir, 'events.sqlite');
  const keyStore = storeLocation(env.CRM_KEY_STORE, 'CRM_KEY_STORE', dataDir, 'keys.sqlite');
  if (eventStore.path === keyStore.path) throw new ConfigError('CRM_KEY_STORE must not be the same file as CRM_EVENT_STORE');
  return {
    dataDir,
    port: integer(env, 'CRM_PORT', 3000, 0, 65535),
    host: env.CRM_HOST || '127.0.0.1',
    eventStore,
    keyStore,
    ...(env.CRM_MASTER_KEY ? { masterKey: env.CRM_MASTER_KEY } : {}),
    ...(env.CRM_PREVIOUS_MASTER_KEYS ? { previousMasterKeys: env.CRM_PREVIOUS_MASTER_KEYS } : {}),
    masterKeyFile: resolve(dataDir, 'master.key'),
    auth: {
      ...(env.CRM_JWT_SECRET ? { jwtSecret: env.CRM_JWT_SECRET } : {}),
      ...(env.CRM_JWKS_URL ? { jwksUrl: env.CRM_JWKS_URL } : {}),
      ...(env.CRM_JWT_ISSUER ? { issuer: env.CRM_JWT_ISSUER } : {}),
      ...(env.CRM_JWT_AUDIENCE ? { audience: env.CRM_JWT_AUDIENCE } : {}),
    },
    keyCacheTtlMs: integer(env, 'CRM_KEY_CACHE_TTL_MS', 60_000, 0, 24 * 3600_000),
    durable: env.CRM_DURABLE !== 'false',
    logLevel: parseLogLevel(env.CRM_LOG_LEVEL),
  };
}
