import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openEvent } from '@crm/core';
import { customerStream } from '@crm/domain';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { registerCustomer } from '../support/valid-commands.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('master key rotation on the embedded default', () => {
  test('`crm keys rotate-master-key` rewraps data keys; events are untouched and still open', async () => {
    let crm = await startCrmUnderTest();
    const dataDir = crm.dataDir;
    try {
      const answer = await crm.command('RegisterCustomer', registerCustomer('Rotated'), ['sales-rep']);
      assert.equal(answer.status, 200);
      const subjectId = String(answer.body.subjectId);
      const eventsBefore = await crm.runtime.eventStore.readAll();
      const keyFileBefore = readFileSync(join(dataDir, 'master.key'), 'utf8');
      const kekBefore = crm.runtime.keyring.currentMasterKeyId;
      await crm.stop();

      const rotation = spawnSync(process.execPath, ['services/api/bin/crm.mjs', 'keys', 'rotate-master-key'], {
        cwd: REPO,
        env: { PATH: process.env.PATH, CRM_DATA_DIR: dataDir },
        encoding: 'utf8',
      });
      assert.equal(rotation.status, 0, rotation.stderr);
      assert.match(rotation.stdout, /Rewrapped 1 data keys/);
      const keyFileAfter = readFileSync(join(dataDir, 'master.key'), 'utf8');
      assert.notEqual(keyFileAfter, keyFileBefore);
      assert.equal(keyFileAfter.trim().split('\n').length, 1, 'the old master key is gone once the rewrap is done');

      crm = await startCrmUnderTest({}, { dataDir });
      assert.notEqual(crm.runtime.keyring.currentMasterKeyId, kekBefore);
      const record = await crm.runtime.keyStore.find(subjectId);
      assert.ok(record?.state === 'active' && record.key.kekId === crm.runtime.keyring.currentMasterKeyId);
      assert.deepEqual(await crm.runtime.eventStore.readAll(), eventsBefore, 'no event was rewritten');
      const [registered] = await crm.runtime.eventStore.readStream(customerStream(subjectId));
      const opened = await openEvent(registered!, crm.runtime.keyring);
      assert.equal((opened.data as { name: string }).name, 'Rotated Customer');
    } finally {
      await crm.stop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
