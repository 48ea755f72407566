import { resolve } from 'node:path';
import { parseLogLevel, type LogLevel } from '@crm/core';

/**
 * The one configuration loader of every CRM process (API, relay, later the projectors):
 * every setting comes from the environment, and nothing set means the embedded default.
 */
export type EventStoreLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema: string }
  | { kind: 'eventstoredb'; url: string };

export type KeyStoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

export type BusLocation =
  | { kind: 'memory' }
  | { kind: 'kafka'; url: string; topic: string; partitions: number; replicationFactor: number; clientId: string };

export type ReadStoreLocation = { kind: 'sqlite'; path: string } | { kind: 'mongodb'; url: string; database: string };

export interface CrmConfig {
  dataDir: string;
  port: number;
  host: string;
  eventStore: EventStoreLocation;
  keyStore: KeyStoreLocation;
  bus: BusLocation;
  readStore: ReadStoreLocation;
  /** Run the view projectors inside this process ('inline'), or leave them to their own process ('off'). */
  projector: 'inline' | 'off';
  /** Base64 of the secret behind blind indexes and analytics pseudonyms (else generated into `viewKeyFile`). */
  viewKey?: string;
  viewKeyFile: string;
  /** Events per read of the event store while a view is rebuilt. */
  viewRebuildBatchSize: number;
  /** How long a replaced view generation stays readable after a rebuild switched away from it. */
  viewRetireAfterMs: number;
  /** A registration matching an erased person's email or phone: refused (409) or accepted and flagged. */
  suppression: 'refuse' | 'flag';
  /** Base64 of the secret behind suppression hashes (else generated into `suppressionKeyFile`). */
  suppressionKey?: string;
  suppressionKeyFile: string;
  /** How long an erasure waits for each view (and the relay) to apply `SubjectForgotten` before it issues the receipt. */
  erasureWaitMs: number;
  /** The audit log of personal-data reads and privacy actions (SQLite file). */
  auditLogPath: string;
  /** The retention scheduler: on a timer in this process ('inline'), or only in its own process ('off'); reminders to a webhook when set. */
  retention: { mode: 'inline' | 'off'; intervalMs: number; webhookUrl?: string };
  /** Whom the record of processing names (Art. 30(1)(a)); placeholders until set. */
  controller: { name: string; contact: string; dpoContact: string };
  /** Run the relay to Kafka inside this process ('inline'), or leave it to its own process ('off'). */
  relay: 'inline' | 'off';
  relayBatchSize: number;
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

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

const isPostgres = (value: string) => value.startsWith('postgres://') || value.startsWith('postgresql://');

function sqlite(value: string | undefined, dataDir: string, file: string): { kind: 'sqlite'; path: string } | undefined {
  if (value === undefined || value === '' || value === 'sqlite') return { kind: 'sqlite', path: resolve(dataDir, file) };
  if (value.startsWith('sqlite:')) return { kind: 'sqlite', path: resolve(value.slice('sqlite:'.length)) };
  return undefined;
}

function eventStoreLocation(env: NodeJS.ProcessEnv, dataDir: string): EventStoreLocation {
  const value = env.CRM_EVENT_STORE;
  const embedded = sqlite(value, dataDir, 'events.sqlite');
  if (embedded) return embedded;
  if (isPostgres(value!)) return { kind: 'postgres', url: value!, schema: env.CRM_EVENT_STORE_SCHEMA || 'crm_events' };
  if (value!.startsWith('esdb://') || value!.startsWith('esdb+discover://')) return { kind: 'eventstoredb', url: value! };
  throw new ConfigError('CRM_EVENT_STORE must be sqlite, sqlite:<path>, postgres://… or esdb://…');
}

function keyStoreLocation(env: NodeJS.ProcessEnv, dataDir: string): KeyStoreLocation {
  const value = env.CRM_KEY_STORE;
  const embedded = sqlite(value, dataDir, 'keys.sqlite');
  if (embedded) return embedded;
  if (isPostgres(value!)) return { kind: 'postgres', url: value!, schema: env.CRM_KEY_STORE_SCHEMA || 'crm_keys' };
  throw new ConfigError('CRM_KEY_STORE must be sqlite, sqlite:<path> or postgres://…');
}

function readStoreLocation(env: NodeJS.ProcessEnv, dataDir: string): ReadStoreLocation {
  const value = env.CRM_READ_STORE;
  const embedded = sqlite(value, dataDir, 'views.sqlite');
  if (embedded) return embedded;
  if (value!.startsWith('mongodb://') || value!.startsWith('mongodb+srv://')) return { kind: 'mongodb', url: value!, database: env.CRM_READ_STORE_DB || 'crm' };
  throw new ConfigError('CRM_READ_STORE must be sqlite, sqlite:<path> or mongodb://…');
}

function auditLogPath(env: NodeJS.ProcessEnv, dataDir: string): string {
  const location = sqlite(env.CRM_AUDIT_LOG, dataDir, 'audit.sqlite');
  if (!location) throw new ConfigError('CRM_AUDIT_LOG must be sqlite or sqlite:<path>');
  return location.path;
}

function busLocation(env: NodeJS.ProcessEnv): BusLocation {
  const value = env.CRM_BUS;
  if (value === undefined || value === '' || value === 'memory') return { kind: 'memory' };
  if (!value.startsWith('kafka://')) throw new ConfigError('CRM_BUS must be memory or kafka://host:port[,host:port]');
  return {
    kind: 'kafka',
    url: value,
    topic: env.CRM_KAFKA_TOPIC || 'crm.events',
    partitions: integer(env, 'CRM_KAFKA_PARTITIONS', 6, 1, 10_000),
    replicationFactor: integer(env, 'CRM_KAFKA_REPLICATION_FACTOR', 1, 1, 100),
    clientId: env.CRM_KAFKA_CLIENT_ID || 'crm',
  };
}

function retentionSettings(env: NodeJS.ProcessEnv): CrmConfig['retention'] {
  const mode = env.CRM_RETENTION || 'inline';
  if (mode !== 'inline' && mode !== 'off') throw new ConfigError('CRM_RETENTION must be inline or off');
  const webhookUrl = env.CRM_RETENTION_WEBHOOK_URL;
  if (webhookUrl && !/^https?:\/\/[^\s]+$/.test(webhookUrl)) throw new ConfigError('CRM_RETENTION_WEBHOOK_URL must be an http:// or https:// URL');
  return { mode, intervalMs: integer(env, 'CRM_RETENTION_INTERVAL_MS', 3_600_000, 1000, 7 * 24 * 3_600_000), ...(webhookUrl ? { webhookUrl } : {}) };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CrmConfig {
  const dataDir = resolve(env.CRM_DATA_DIR || './data');
  const eventStore = eventStoreLocation(env, dataDir);
  const keyStore = keyStoreLocation(env, dataDir);
  if (eventStore.kind === 'sqlite' && keyStore.kind === 'sqlite' && eventStore.path === keyStore.path) {
    throw new ConfigError('CRM_KEY_STORE must not be the same file as CRM_EVENT_STORE');
  }
  if (eventStore.kind === 'postgres' && keyStore.kind === 'postgres' && eventStore.url === keyStore.url && eventStore.schema === keyStore.schema) {
    throw new ConfigError('CRM_KEY_STORE_SCHEMA must differ from CRM_EVENT_STORE_SCHEMA on the same database');
  }
  const projector = env.CRM_PROJECTOR || 'inline';
  if (projector !== 'inline' && projector !== 'off') throw new ConfigError('CRM_PROJECTOR must be inline or off');
  const suppression = env.CRM_SUPPRESSION || 'refuse';
  if (suppression !== 'refuse' && suppression !== 'flag') throw new ConfigError('CRM_SUPPRESSION must be refuse or flag');
  const relay = env.CRM_RELAY || 'inline';
  if (relay !== 'inline' && relay !== 'off') throw new ConfigError('CRM_RELAY must be inline or off');
  return {
    dataDir,
    port: integer(env, 'CRM_PORT', 3000, 0, 65535),
    host: env.CRM_HOST || '127.0.0.1',
    eventStore,
    keyStore,
    bus: busLocation(env),
    readStore: readStoreLocation(env, dataDir),
    projector,
    ...(env.CRM_VIEW_KEY ? { viewKey: env.CRM_VIEW_KEY } : {}),
    viewKeyFile: resolve(dataDir, 'view.key'),
    viewRetireAfterMs: integer(env, 'CRM_VIEW_RETIRE_AFTER_MS', 30_000, 0, 24 * 3600_000),
    viewRebuildBatchSize: integer(env, 'CRM_VIEW_REBUILD_BATCH_SIZE', 2000, 1, 100_000),
    suppression,
    ...(env.CRM_SUPPRESSION_KEY ? { suppressionKey: env.CRM_SUPPRESSION_KEY } : {}),
    suppressionKeyFile: resolve(dataDir, 'suppression.key'),
    erasureWaitMs: integer(env, 'CRM_ERASURE_WAIT_MS', 10_000, 0, 600_000),
    auditLogPath: auditLogPath(env, dataDir),
    retention: retentionSettings(env),
    controller: {
      name: env.CRM_CONTROLLER_NAME || '(controller: set CRM_CONTROLLER_NAME)',
      contact: env.CRM_CONTROLLER_CONTACT || '(address and contact: set CRM_CONTROLLER_CONTACT)',
      dpoContact: env.CRM_DPO_CONTACT || '(data protection officer: set CRM_DPO_CONTACT)',
    },
    relay,
    relayBatchSize: integer(env, 'CRM_RELAY_BATCH_SIZE', 500, 1, 100_000),
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

/** The prefix of the projectors' consumer groups: per topic, so CRMs sharing a broker never share a group. */
export function projectorGroupPrefix(config: Pick<CrmConfig, 'bus'>): string {
  return config.bus.kind === 'kafka' ? `projector:${config.bus.topic}` : 'projector';
}

/** Where a store lives, for logs and banners: never a password. */
export function describeLocation(location: EventStoreLocation | KeyStoreLocation | BusLocation | ReadStoreLocation): string {
  if (location.kind === 'sqlite') return location.path;
  if (location.kind === 'memory') return 'in-process';
  try {
    const url = new URL(location.url);
    url.password = '';
    url.username = url.username ? url.username : '';
    return `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}${'schema' in location ? ` (schema ${location.schema})` : ''}`;
  } catch {
    return location.kind;
  }
}
