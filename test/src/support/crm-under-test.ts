import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '@crm/contracts';
import { createLogger } from '@crm/core';
import { mintDevToken, type RunningCrm, startCrm } from '@crm/api';
import { loadConfig, openRuntime } from '@crm/runtime';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256';

export interface CrmUnderTest extends RunningCrm {
  dataDir: string;
  /** Every log line the process wrote. */
  logs: string[];
  token(roles: Role[], options?: { subject?: string; ttlSeconds?: number }): Promise<string>;
  /** POSTs a command as the given roles; answers status and parsed body. */
  command(type: string, body: unknown, roles: Role[], headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown>; contentType: string | null }>;
  /** Stops the server and removes the data directory. */
  dispose(): Promise<void>;
}

/** Starts a CRM in this process on a free port, on the embedded default in a fresh temp data directory. */
export async function startCrmUnderTest(env: Record<string, string> = {}, options: { dataDir?: string; /** The privacy service's clock (deadlines, holds). */ privacyClock?: () => Date } = {}): Promise<CrmUnderTest> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'crm-test-'));
  const config = loadConfig({ CRM_DATA_DIR: dataDir, CRM_PORT: '0', CRM_JWT_SECRET: TEST_JWT_SECRET, CRM_LOG_LEVEL: 'debug', ...env });
  const logs: string[] = [];
  const logger = createLogger({ level: config.logLevel, write: (line) => logs.push(line) });
  const crm = await startCrm(config, await openRuntime(config, logger), options.privacyClock ? { privacy: { now: options.privacyClock } } : {});
  const tokens = new Map<string, string>();
  const token = async (roles: Role[], options: { subject?: string; ttlSeconds?: number } = {}) => {
    const cacheKey = `${roles.join(',')}|${options.subject ?? ''}|${options.ttlSeconds ?? ''}`;
    const cached = tokens.get(cacheKey);
    if (cached) return cached;
    const minted = await mintDevToken(TEST_JWT_SECRET, { subject: options.subject ?? `test-${roles.join('+') || 'nobody'}`, roles, ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}) });
    tokens.set(cacheKey, minted);
    return minted;
  };
  return {
    ...crm,
    dataDir,
    logs,
    token,
    async command(type, body, roles, headers = {}) {
      const response = await fetch(`${crm.url}/v1/commands/${type}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(roles)}`, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, contentType: response.headers.get('content-type') };
    },
    async dispose() {
      await crm.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
