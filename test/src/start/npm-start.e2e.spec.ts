import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDemoData } from '@crm/api';
import { startCrmUnderTest, TEST_JWT_SECRET } from '../support/crm-under-test.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('getting started', () => {
  test('`npm start` with no configuration serves the API on the embedded default and says how to get a token', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'crm-start-')), 'data');
    const child = spawn('npm', ['start', '--silent'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CRM_DATA_DIR: dataDir, CRM_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 30_000);
        child.stdout.on('data', () => {
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      });
      assert.match(output, /npx crm token --role sales-rep/);
      assert.match(output, /NO CRM_MASTER_KEY SET/, 'a generated master key is warned about loudly');
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string };
      assert.equal(openapi.openapi, '3.1.0');
      for (const file of ['events.sqlite', 'keys.sqlite', 'master.key', 'dev-jwt.secret']) assert.ok(existsSync(join(dataDir, file)), file);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  });

  test('the demo loads customers, consents, deals, cases and employees without a single refusal', async () => {
    const crm = await startCrmUnderTest();
    try {
      const counts = await loadDemoData({ url: crm.url, jwtSecret: TEST_JWT_SECRET });
      for (const type of ['HireEmployee', 'RegisterCustomer', 'RegisterOrganisation', 'GiveConsent', 'ObjectToDirectMarketing', 'OpenDeal', 'WinDeal', 'OpenServiceCase', 'AddCaseNote']) {
        assert.ok((counts[type] ?? 0) > 0, type);
      }
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      assert.ok((await crm.runtime.eventStore.headPosition()) >= total);
    } finally {
      await crm.dispose();
    }
  });
});
