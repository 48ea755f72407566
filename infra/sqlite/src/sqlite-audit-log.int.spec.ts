import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEntry } from '@crm/core';
import { openSqliteAuditLog } from './sqlite-audit-log.ts';

let clock = Date.parse('2025-03-01T10:00:00.000Z');

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  clock += 1000;
  return {
    id: randomUUID(),
    at: new Date(clock).toISOString(),
    actor: 'agent-1',
    roles: ['service-agent'],
    action: 'view.read',
    view: 'service',
    collection: 'service/customers',
    purpose: 'Customer service',
    subjectIds: [randomUUID()],
    count: 1,
    ...overrides,
  };
}

describe('sqlite audit log', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'crm-audit-log-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const freshPath = () => join(mkdtempSync(join(root, 'log-')), 'audit.sqlite');

  it('keeps entries across close and reopen, with every field as recorded', async () => {
    const path = freshPath();
    const first = entry({ subjectIds: [randomUUID(), randomUUID(), randomUUID()], count: 3, roles: ['service-agent', 'management'] });
    const second = entry({ view: undefined, collection: undefined, action: 'subject.export', subjectIds: [], count: 0 });
    delete second.view;
    delete second.collection;
    const log = openSqliteAuditLog({ path });
    await log.record(first);
    await log.record(second);
    await log.close();

    const reopened = openSqliteAuditLog({ path });
    try {
      assert.deepEqual(await reopened.list(), [first, second]);
    } finally {
      await reopened.close();
    }
  });

  it('is durable when record resolves: another connection sees the entry at once', async () => {
    const path = freshPath();
    const log = openSqliteAuditLog({ path });
    try {
      const e = entry();
      await log.record(e);
      const other = new Database(path, { readonly: true });
      try {
        assert.deepEqual(other.prepare('SELECT count(*) AS n FROM audit_entries WHERE id = ?').get(e.id), { n: 1 });
        assert.deepEqual(other.prepare('SELECT subject_id FROM audit_subjects WHERE entry_id = ?').all(e.id), [{ subject_id: e.subjectIds[0] }]);
      } finally {
        other.close();
      }
    } finally {
      await log.close();
    }
  });

  it('lists by subject, actor and since, oldest first, up to the limit', async () => {
    const log = openSqliteAuditLog({ path: freshPath() });
    try {
      const erika = randomUUID();
      const max = randomUUID();
      const a = entry({ subjectIds: [erika, max], count: 2 });
      const b = entry({ actor: 'agent-2', subjectIds: [max] });
      const c = entry({ actor: 'agent-2', subjectIds: [erika] });
      const d = entry({ subjectIds: [randomUUID()] });
      for (const e of [a, b, c, d]) await log.record(e);

      assert.deepEqual((await log.list({ subjectId: erika })).map((e) => e.id), [a.id, c.id]);
      assert.deepEqual((await log.list({ subjectId: max })).map((e) => e.id), [a.id, b.id]);
      assert.deepEqual((await log.list({ subjectId: randomUUID() })).map((e) => e.id), []);
      assert.deepEqual((await log.list({ actor: 'agent-2' })).map((e) => e.id), [b.id, c.id]);
      assert.deepEqual((await log.list({ subjectId: erika, actor: 'agent-2' })).map((e) => e.id), [c.id]);
      assert.deepEqual((await log.list({ since: b.at })).map((e) => e.id), [b.id, c.id, d.id]);
      // An equivalent instant in another ISO form compares the same.
      assert.deepEqual((await log.list({ since: b.at.replace('.000Z', '+00:00') })).map((e) => e.id), [b.id, c.id, d.id]);
      assert.deepEqual((await log.list({ limit: 2 })).map((e) => e.id), [a.id, b.id]);
      // The entry lists all its subjects, not only the one searched for.
      assert.deepEqual((await log.list({ subjectId: max }))[0]?.subjectIds, [erika, max]);
    } finally {
      await log.close();
    }
  });

  it('commits concurrent records together, and a refused one fails alone', async () => {
    const log = openSqliteAuditLog({ path: freshPath() });
    try {
      const entries = Array.from({ length: 200 }, () => entry());
      const duplicate = { ...entries[0]!, subjectIds: [randomUUID()] };
      const results = await Promise.allSettled([...entries.map((e) => log.record(e)), log.record(duplicate)]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 200);
      assert.equal(results.at(-1)?.status, 'rejected');
      const listed = await log.list({ limit: 1000 });
      assert.equal(listed.length, 200);
      // The refused duplicate left none of its subjects behind.
      assert.deepEqual(await log.list({ subjectId: duplicate.subjectIds[0]! }), []);
    } finally {
      await log.close();
    }
  });

  it('refuses malformed entries and filters without naming their values', async () => {
    const log = openSqliteAuditLog({ path: freshPath() });
    try {
      const marker = `marker-${randomBytes(8).toString('hex')}`;
      const bad: Array<Partial<AuditEntry>> = [
        { id: marker },
        { at: marker },
        { actor: '' },
        { subjectIds: [marker, marker] },
        { count: -1 },
        { roles: [marker, 7 as unknown as string] },
      ];
      for (const overrides of bad) {
        await assert.rejects(log.record(entry(overrides)), (error: Error) => {
          assert.ok(!error.message.includes(marker), 'the error echoes a value');
          return true;
        });
      }
      await assert.rejects(log.list({ limit: 0 }), RangeError);
      await assert.rejects(log.list({ since: 'yesterday' }), TypeError);
      assert.deepEqual(await log.list(), []);
    } finally {
      await log.close();
    }
  });
});
