import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { v7 as uuidv7 } from 'uuid';
import { generateMasterKey, Keyring, type KeyStore, masterKeys, SealBroken, SubjectErased } from '@crm/core';
import { openSqliteKeyStore } from '@crm/sqlite';

describe('keyring', () => {
  let dir: string;
  let keyStore: KeyStore;
  const master = generateMasterKey();
  let clock = 0;
  const keyring = (ttl = 1000, keys = masterKeys(master)) => new Keyring({ keyStore, masterKeys: keys, cacheTtlMs: ttl, now: () => clock });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-keyring-'));
    keyStore = openSqliteKeyStore({ path: join(dir, 'keys.sqlite') });
  });
  after(async () => {
    await keyStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a created key is served to another process after unwrapping, and is the same key', async () => {
    const subjectId = uuidv7();
    const created = await keyring().createSubjectKey(subjectId);
    const found = await keyring().lookup(subjectId);
    assert.equal(found.state, 'active');
    assert.ok(found.state === 'active' && found.key.key.equals(created.key));
  });

  test('the key store holds the data key only wrapped', async () => {
    const subjectId = uuidv7();
    const created = await keyring().createSubjectKey(subjectId);
    const record = await keyStore.find(subjectId);
    assert.equal(record?.state, 'active');
    assert.ok(record?.state === 'active' && !Buffer.from(record.key.wrapped).includes(created.key));
    assert.ok(record?.state === 'active' && record.key.kekId === master.id);
  });

  test('destroying a key leaves a tombstone; the subject is refused a new key', async () => {
    const subjectId = uuidv7();
    const ring = keyring();
    await ring.createSubjectKey(subjectId);
    const tombstone = await ring.destroySubjectKey(subjectId, 'request-1');
    assert.equal(tombstone.requestId, 'request-1');
    assert.equal((await keyring().lookup(subjectId)).state, 'destroyed');
    await assert.rejects(keyring().createSubjectKey(subjectId), SubjectErased);
    await assert.rejects(ring.activeKey(subjectId), SubjectErased);
  });

  test('another process serves its cached key until the cache TTL ends, then sees the erasure', async () => {
    const subjectId = uuidv7();
    const other = keyring(5_000);
    await keyring().createSubjectKey(subjectId);
    assert.equal((await other.lookup(subjectId)).state, 'active');
    await keyring().destroySubjectKey(subjectId, 'request-2');
    clock += 4_999;
    assert.equal((await other.lookup(subjectId)).state, 'active', 'within the TTL the cached key may still serve');
    clock += 2;
    assert.equal((await other.lookup(subjectId)).state, 'destroyed', 'after the TTL the erasure is effective');
  });

  test('rotating the master key rewraps data keys, which still open; the old master key is then not needed', async () => {
    const subjectId = uuidv7();
    const original = await keyring().createSubjectKey(subjectId);
    const next = generateMasterKey();
    const rotating = keyring(0, masterKeys(next, [master]));
    assert.ok((await rotating.rewrapAll()) >= 1);
    assert.equal(await rotating.rewrapAll(), 0, 'a second rewrap has nothing left to do');
    const found = await keyring(0, masterKeys(next)).lookup(subjectId);
    assert.ok(found.state === 'active' && found.key.key.equals(original.key));
    await assert.rejects(keyring(0, masterKeys(master)).lookup(subjectId), /was not given/);
  });

  test('a wrapped key that was tampered with fails authentication', async () => {
    const subjectId = uuidv7();
    await keyring().createSubjectKey(subjectId);
    const record = await keyStore.find(subjectId);
    assert.ok(record?.state === 'active');
    const wrapped = Buffer.from(record.key.wrapped);
    wrapped[wrapped.length - 1]! ^= 1;
    const fakeKek = { ...master };
    const tampered = await keyStore.rewrap([{ subjectId, keyVersion: 1, fromKekId: master.id, kekId: fakeKek.id, wrapped }]);
    assert.equal(tampered, 1);
    await assert.rejects(keyring(0).lookup(subjectId), SealBroken);
  });
});
