import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, WrongExpectedVersion } from '@crm/core';
import { type CrmRuntime, loadConfig, openRuntime } from '@crm/runtime';
import { customerStream } from '@crm/domain';
import { registerCustomer } from '../support/valid-commands.ts';

/** Two CRM processes' runtimes on one data directory: each one's cached states go stale when the other writes. */
describe('command service sharing a store with another process', () => {
  let dir: string;
  let a: CrmRuntime;
  let b: CrmRuntime;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crm-shared-'));
    const config = loadConfig({ CRM_DATA_DIR: dir, CRM_JWT_SECRET: 'x'.repeat(32) });
    const logger = createLogger({ level: 'silent' });
    a = await openRuntime(config, logger);
    b = await openRuntime(config, logger);
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const change = (runtime: CrmRuntime, customerId: string, name: string, expectedVersion?: number) =>
    runtime.commands.execute({
      type: 'ChangeCustomerDetails',
      actor: 'test',
      body: { customerId, name, ...(expectedVersion !== undefined ? { expectedVersion } : {}) },
    });

  test('a stale cache never loses an update: the append conflicts, the state is reloaded, the command decided again', async () => {
    const { subjectId } = await a.commands.execute({ type: 'RegisterCustomer', actor: 'test', body: registerCustomer('Shared') });
    const customerId = String(subjectId);
    assert.equal((await change(a, customerId, 'First')).version, 2, 'a caches the stream at version 2');
    assert.equal((await change(b, customerId, 'Second')).version, 3, 'b moves the stream on; a does not know');
    assert.equal((await change(a, customerId, 'Third')).version, 4, 'a retries on the real version');
    assert.equal((await a.eventStore.readStream(customerStream(customerId))).length, 4);
  });

  test('a client expectation is judged on the store, not on a stale cache', async () => {
    const { subjectId } = await a.commands.execute({ type: 'RegisterCustomer', actor: 'test', body: registerCustomer('Expect') });
    const customerId = String(subjectId);
    await change(a, customerId, 'One');
    await change(b, customerId, 'Two');
    assert.equal((await change(a, customerId, 'Three', 3)).version, 4, 'the store is at 3, as the client expects');
    await assert.rejects(change(a, customerId, 'Four', 3), WrongExpectedVersion);
    assert.equal((await a.eventStore.readStream(customerStream(customerId))).length, 4);
  });
});
