import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SubjectErased, SubjectKeyExists } from '@crm/core';
// Relative, not `@crm/test`: that package depends on this one, and a cycle would break the build graph.
import { keyStoreContract } from '../../../test/src/contracts/key-store.contract.ts';
import { wrappedKey } from '../../../test/src/contracts/key-store-fixtures.ts';
import { openSqliteKeyStore } from './sqlite-key-store.ts';

describe('sqlite key store', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'crm-key-store-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A directory of its own per store, so a scan sees only that store's files. */
  function freshDir(): string {
    return mkdtempSync(join(root, 'store-'));
  }

  keyStoreContract('sqlite', {
    async freshPlace() {
      const path = join(freshDir(), 'keys.db');
      return async () => openSqliteKeyStore({ path });
    },
  });

  /** Names of the files in `dir` (the db, -wal, -shm) whose raw bytes contain `marker`. */
  function filesHolding(dir: string, marker: Uint8Array): string[] {
    const needle = Buffer.from(marker);
    return readdirSync(dir).filter((name) => readFileSync(join(dir, name)).includes(needle));
  }

  it('leaves no trace of a destroyed key in the database, -wal or -shm file', async () => {
    const dir = freshDir();
    const path = join(dir, 'keys.db');
    const marker = new Uint8Array(randomBytes(48));
    const store = openSqliteKeyStore({ path });
    // Neighbours on the same page, so the marker's page survives the delete and must be scrubbed.
    for (let i = 0; i < 5; i++) await store.create(wrappedKey());
    const doomed = wrappedKey({ wrapped: marker });
    await store.create(doomed);

    // Proves the scan can see a key at all; otherwise the checks below could not fail.
    assert.notDeepEqual(filesHolding(dir, marker), [], 'marker on disk before destroy');

    await store.destroy(doomed.subjectId, 'req-erase', '2025-02-03T04:05:06.000Z');
    // While the store is still open: the -wal file must not keep the old page images.
    assert.deepEqual(filesHolding(dir, marker), [], 'marker on disk after destroy, store open');

    await store.close();
    assert.deepEqual(filesHolding(dir, marker), [], 'marker on disk after close');
  });

  it('enforces the rules across two connections to one file', async () => {
    const path = join(freshDir(), 'keys.db');
    const a = openSqliteKeyStore({ path });
    const b = openSqliteKeyStore({ path });
    try {
      const subject = wrappedKey();
      await a.create(subject);
      await assert.rejects(b.create(wrappedKey({ subjectId: subject.subjectId })), SubjectKeyExists);
      const tombstone = await b.destroy(subject.subjectId, 'req-erase', '2025-02-03T04:05:06.000Z');
      await assert.rejects(a.create(wrappedKey({ subjectId: subject.subjectId })), SubjectErased);
      assert.deepEqual(await a.destroy(subject.subjectId, 'req-again', '2025-03-01T00:00:00.000Z'), tombstone);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
