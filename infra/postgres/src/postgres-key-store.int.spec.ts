import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SubjectErased, SubjectKeyExists, UnknownSubject, type WrappedSubjectKey } from '@crm/core';
// By path, like the SQLite specs: @crm/test depends on the adapters, a dependency back would be a cycle.
import { keyStoreContract } from '../../../test/src/contracts/key-store.contract.ts';
import { wrappedKey } from '../../../test/src/contracts/key-store-fixtures.ts';
import { engineEnv, needs } from '../../../test/src/support/engines.ts';
import { openPostgresKeyStore, type PostgresKeyStore } from './postgres-key-store.ts';
import { testSchemas } from './test-schemas.ts';

const url = engineEnv.postgresUrl ?? '';

describe('postgres key store', needs('postgres'), () => {
  const schemas = testSchemas(url);
  after(() => schemas.dropAll());
  const open = (schema = schemas.fresh()) => openPostgresKeyStore({ connectionString: url, schema });

  keyStoreContract('postgres', {
    async freshPlace() {
      const schema = schemas.fresh();
      return async () => open(schema);
    },
  });

  it('create and destroy racing across two stores on one schema never leave a key beside a tombstone', async () => {
    const schema = schemas.fresh();
    const a = open(schema);
    const b = open(schema);
    try {
      const subjects = Array.from({ length: 40 }, () => wrappedKey());
      // Half exist before the race; for each subject one store creates while the other destroys.
      for (const subject of subjects.slice(0, 20)) await a.create(subject);
      const raced = await Promise.allSettled(
        subjects.flatMap((subject, i) => [
          (i % 2 ? a : b).create({ ...subject, keyVersion: 1 }),
          (i % 2 ? b : a).destroy(subject.subjectId, `req-${i}`, '2025-02-03T04:05:06.000Z'),
        ]),
      );
      for (const [i, subject] of subjects.entries()) {
        const [created, destroyed] = [raced[2 * i], raced[2 * i + 1]];
        const record = await a.find(subject.subjectId);
        if (destroyed?.status === 'fulfilled') {
          assert.equal(record?.state, 'destroyed', 'a destroy that succeeded left a tombstone');
          // A create that came after the destroy was refused; one that came before was destroyed.
          if (created?.status === 'rejected') {
            assert.ok(created.reason instanceof SubjectErased || created.reason instanceof SubjectKeyExists);
          }
        } else {
          assert.ok(destroyed?.reason instanceof UnknownSubject, `destroy failed with ${String(destroyed?.reason)}`);
          assert.equal(record?.state, 'active', 'the create after the failed destroy stands');
        }
      }
      // Never a key beside a tombstone, whatever the interleaving.
      const stats = await a.stats();
      const active = Object.values(stats.activeKeysByKek).reduce((n, c) => n + c, 0);
      assert.equal(active + stats.tombstones, subjects.length);
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe('what a destroy leaves on disk (server files read directly, so only with a local server)', () => {
    /** The database's folder under the server's data directory, or why this process cannot read it. */
    async function databaseFolder(): Promise<{ folder: string; wal: string } | { skip: string }> {
      const { rows } = await schemas.query<{ data_directory: string; oid: number }>(
        `SELECT current_setting('data_directory') AS data_directory,
                (SELECT oid FROM pg_database WHERE datname = current_database())::integer AS oid`,
      );
      const row = rows[0];
      if (!row) return { skip: 'no data directory reported' };
      const folder = join(row.data_directory, 'base', String(row.oid));
      try {
        accessSync(folder, constants.R_OK);
      } catch {
        return { skip: `the server's files (${folder}) are not readable from this process` };
      }
      return { folder, wal: join(row.data_directory, 'pg_wal') };
    }

    /** Files below `dir` whose bytes contain `marker`; files that vanish meanwhile are skipped. */
    function filesHolding(dir: string, marker: Uint8Array): string[] {
      const needle = Buffer.from(marker);
      const hits: string[] = [];
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        try {
          if (statSync(path).isFile() && readFileSync(path).includes(needle)) hits.push(name);
        } catch {
          // dropped by the server while we looked (a relation of another test)
        }
      }
      return hits;
    }

    /** A store holding a doomed key (bytes = marker) among neighbours on the same page, flushed to disk. */
    async function storeWithDoomedKey(): Promise<{ store: PostgresKeyStore; doomed: WrappedSubjectKey; marker: Uint8Array }> {
      const store = open();
      for (let i = 0; i < 5; i++) await store.create(wrappedKey());
      const marker = new Uint8Array(randomBytes(48));
      const doomed = wrappedKey({ wrapped: marker });
      await store.create(doomed);
      // Last on the page: where plain VACUUM's compaction would not overwrite it.
      for (let i = 0; i < 5; i++) await store.create(wrappedKey());
      return { store, doomed, marker };
    }

    const checkpoint = () => schemas.query('CHECKPOINT'); // writes dirty pages to the files

    async function locate(t: TestContext) {
      const where = await databaseFolder();
      if ('skip' in where) {
        t.skip(where.skip);
        return undefined;
      }
      return where;
    }

    it('a destroy alone leaves the key bytes in the table file (MVCC): why vacuumDestroyedKeys exists', async (t) => {
      const where = await locate(t);
      if (!where) return;
      const { store, doomed, marker } = await storeWithDoomedKey();
      try {
        await checkpoint();
        assert.notDeepEqual(filesHolding(where.folder, marker), [], 'the scan finds the key before the destroy');
        await store.destroy(doomed.subjectId, 'req-erase', '2025-02-03T04:05:06.000Z');
        await checkpoint();
        assert.notDeepEqual(filesHolding(where.folder, marker), [], 'the dead row version is still in the page');
      } finally {
        await store.close();
      }
    });

    it('vacuumDestroyedKeys() removes the bytes from every file of the database; the WAL still has them', async (t) => {
      const where = await locate(t);
      if (!where) return;
      const { store, doomed, marker } = await storeWithDoomedKey();
      try {
        await checkpoint();
        assert.notDeepEqual(filesHolding(where.folder, marker), [], 'the scan finds the key before the destroy');
        await store.destroy(doomed.subjectId, 'req-erase', '2025-02-03T04:05:06.000Z');
        // VACUUM keeps a dead row while any open transaction in the database could still see
        // it (other suites share this database), so it is repeated until those have ended.
        const deadline = Date.now() + 20_000;
        for (;;) {
          await store.vacuumDestroyedKeys();
          await checkpoint();
          if (filesHolding(where.folder, marker).length === 0 || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        assert.deepEqual(filesHolding(where.folder, marker), [], 'no file of the database holds the key');
        assert.equal((await store.stats()).tombstones, 1);
        // Honest about the rest: the WAL (and every backup and archive of it) keeps the insert
        // until its segment is recycled. README.md: key-store WAL and backups need a short retention.
        assert.notDeepEqual(filesHolding(where.wal, marker), [], 'the WAL still holds the inserted key');
      } finally {
        await store.close();
      }
    });
  });

  it('vacuumDestroyedKeys() rewrites the key table by default; { full: false } vacuums it in place', async () => {
    const schema = schemas.fresh();
    const store = open(schema);
    const fileOfKeys = async () =>
      (await schemas.query<{ file: string }>(`SELECT pg_relation_filepath('"${schema}".subject_keys') AS file`)).rows[0]?.file;
    try {
      const subject = wrappedKey();
      await store.create(subject);
      await store.destroy(subject.subjectId, 'req-erase', '2025-02-03T04:05:06.000Z');
      const before = await fileOfKeys();
      await store.vacuumDestroyedKeys({ full: false });
      assert.equal(await fileOfKeys(), before, 'plain VACUUM keeps the file');
      await store.vacuumDestroyedKeys();
      assert.notEqual(await fileOfKeys(), before, 'VACUUM (FULL) writes a new file');
      assert.deepEqual(await store.find(subject.subjectId), {
        state: 'destroyed',
        tombstone: { subjectId: subject.subjectId, destroyedAt: '2025-02-03T04:05:06.000Z', requestId: 'req-erase', keyVersions: [1] },
      });
    } finally {
      await store.close();
    }
  });
});
