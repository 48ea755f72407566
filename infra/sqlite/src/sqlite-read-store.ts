/**
 * The embedded document store behind the ReadStore port: one SQLite file (WAL), one table
 * per collection, documents as JSON text queried through SQLite's JSON functions. Queries
 * are parsed and validated by @crm/read-query (shared with the MongoDB adapter, so both
 * refuse the same inputs); the modules beside this one translate them to SQL.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { cacheSizePragma, PAGE_CACHE_KIB } from './page-cache.ts';
import type { Document, ReadStore } from '@crm/core';
import {
  IndexDefinitionConflict,
  UniqueIndexViolation,
  assertCollectionName,
  assertDocumentId,
  assertIds,
  encodeCursor,
  parseFilter,
  parseFindQuery,
  parseIndexes,
  parsePipeline,
  toJsonDocuments,
} from '@crm/read-query';
import { filterSql } from './read-store-filter.ts';
import { keysetSql, orderBySql } from './read-store-keyset.ts';
import { pipelineSql } from './read-store-pipeline.ts';
import { TABLE_PREFIX, createIndexSql, createTableSql, indexName, tableName } from './read-store-schema.ts';
import { SqlParams, valueOf } from './read-store-sql.ts';

export interface SqliteReadStoreOptions {
  /** The store's file; it and its folder are created when missing. */
  path: string;
  /**
   * Default true: `synchronous = FULL`, a write is on disk when it resolves. A projector that
   * keeps its checkpoint elsewhere needs that, or a power loss could leave the checkpoint
   * ahead of the documents. false: NORMAL (survives a process crash, not a power loss).
   */
  durable?: boolean;
  /** How long a writer waits for another connection's lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

const STATEMENT_CACHE_SIZE = 256;
const OWN = { idColumn: true } as const;

export function openSqliteReadStore(options: SqliteReadStoreOptions): ReadStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    configure(db, options);
  } catch (error) {
    db.close();
    throw error;
  }

  // Generated SQL repeats (same filter shape, other values); preparing costs more than running a small query.
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string);
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const tableExists = db.prepare<[string], { found: number }>(`SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = ?`);
  const exists = (collection: string) => tableExists.get(`${TABLE_PREFIX}${collection}`) !== undefined;
  const indexSql = db.prepare<[string], { sql: string }>(`SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?`);
  const listTables = db.prepare<[], { name: string }>(
    `SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, ${TABLE_PREFIX.length}) = '${TABLE_PREFIX}' ORDER BY name`,
  );

  const upsertTx = db.transaction((collection: string, documents: { id: string; json: string }[]) => {
    db.exec(createTableSql(collection));
    const upsert = prepare(`INSERT INTO ${tableName(collection)} (_id, doc) VALUES (?, ?) ON CONFLICT (_id) DO UPDATE SET doc = excluded.doc`);
    for (const d of documents) upsert.run(d.id, d.json);
  });

  const deleteTx = db.transaction((collection: string, ids: string[]) => {
    const remove = prepare(`DELETE FROM ${tableName(collection)} WHERE _id = ?`);
    for (const id of ids) remove.run(id);
  });

  const ensureIndexesTx = db.transaction((collection: string, definitions: ReturnType<typeof parseIndexes>) => {
    db.exec(createTableSql(collection));
    for (const definition of definitions) {
      const wanted = createIndexSql(collection, definition);
      const existing = indexSql.get(indexName(collection, definition.name));
      if (!existing) db.exec(wanted);
      else if (existing.sql !== wanted) throw new IndexDefinitionConflict(collection, definition.name);
    }
  });

  /**
   * secure_delete zeroes deleted rows and freed pages in the page images it writes, but in
   * WAL mode the earlier images stay in the -wal file until a checkpoint copies the pages
   * home and the log is reset. TRUNCATE does both and empties the -wal file, so a delete or
   * drop that resolved leaves no copy of the documents in the files. Read models delete
   * rarely (erasure, rebuilds), so the cost lands where it is wanted. If another
   * connection's reader keeps it from finishing, the next delete, drop or close finishes it.
   */
  const scrubWal = () => db.pragma('wal_checkpoint(TRUNCATE)');

  let closed = false;
  const assertOpen = () => {
    if (closed) throw new Error('The SQLite read store is closed');
  };

  return {
    async ensureIndexes(collection, indexes) {
      assertOpen();
      const name = assertCollectionName(collection);
      ensureIndexesTx.immediate(name, parseIndexes(indexes));
    },

    async upsert(collection, documents) {
      assertOpen();
      const name = assertCollectionName(collection);
      const rows = toJsonDocuments(documents);
      if (rows.length === 0) return;
      try {
        upsertTx.immediate(name, rows);
      } catch (error) {
        throw uniqueViolation(error, name) ?? error;
      }
    },

    async delete(collection, ids) {
      assertOpen();
      const name = assertCollectionName(collection);
      const valid = assertIds(ids);
      if (valid.length === 0 || !exists(name)) return;
      deleteTx.immediate(name, valid);
      scrubWal();
    },

    async get(collection, id) {
      assertOpen();
      const name = assertCollectionName(collection);
      const valid = assertDocumentId(id, '/id');
      if (!exists(name)) return undefined;
      const row = prepare(`SELECT doc FROM ${tableName(name)} WHERE _id = ?`).get(valid) as { doc: string } | undefined;
      return row ? (JSON.parse(row.doc) as Document) : undefined;
    },

    async find(collection, findOptions) {
      assertOpen();
      const query = parseFindQuery(collection, findOptions);
      if (!exists(query.collection)) return { documents: [] };
      const params = new SqlParams();
      const where = [filterSql(query.filter, params, OWN)];
      if (query.after) where.push(keysetSql(query.sort, query.after, params, OWN));
      const keyColumns = query.sort.map((k, i) => `${valueOf(k.path, OWN)} AS k${i}`).join(', ');
      const sql =
        `SELECT doc, ${keyColumns} FROM ${tableName(query.collection)} WHERE ${where.join(' AND ')} ` +
        `ORDER BY ${orderBySql(query.sort, OWN)} LIMIT ${params.add(query.limit + 1)}`;
      const rows = prepare(sql).all(params.values) as Array<Record<string, unknown> & { doc: string }>;
      // One row more than asked tells whether another page exists, so the last page carries no cursor.
      const page = rows.slice(0, query.limit);
      const documents = page.map((row) => JSON.parse(row.doc) as Document);
      const last = page[page.length - 1];
      if (rows.length <= query.limit || !last) return { documents };
      const values = query.sort.map((_, i) => last[`k${i}`] as string | number | null);
      return { documents, nextCursor: encodeCursor(query.fingerprint, { values }) };
    },

    async aggregate(collection, pipeline) {
      assertOpen();
      const name = assertCollectionName(collection);
      const stages = parsePipeline(pipeline);
      if (!exists(name)) return [];
      const { sql, params } = pipelineSql(tableName(name), stages);
      const rows = prepare(sql).all(params) as Array<{ doc: string }>;
      return rows.map((row) => JSON.parse(row.doc) as Record<string, unknown>);
    },

    async count(collection, filter) {
      assertOpen();
      const name = assertCollectionName(collection);
      const node = parseFilter(filter);
      if (!exists(name)) return 0;
      const params = new SqlParams();
      const sql = `SELECT COUNT(*) AS n FROM ${tableName(name)} WHERE ${filterSql(node, params, OWN)}`;
      return (prepare(sql).get(params.values) as { n: number }).n;
    },

    async drop(collection) {
      assertOpen();
      const name = assertCollectionName(collection);
      if (!exists(name)) return;
      db.exec(`DROP TABLE IF EXISTS ${tableName(name)}`);
      scrubWal();
    },

    async collections() {
      assertOpen();
      return listTables.all().map((row) => row.name.slice(TABLE_PREFIX.length));
    },

    async close() {
      if (closed) return;
      closed = true;
      scrubWal();
      db.close();
    },
  };
}

function configure(db: Database.Database, options: SqliteReadStoreOptions): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  db.pragma(cacheSizePragma(PAGE_CACHE_KIB.readStore));
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  if (journalMode !== 'wal' && options.path !== ':memory:') throw new Error(`read store needs WAL journal mode, got ${String(journalMode)}`);
  db.pragma(`synchronous = ${options.durable === false ? 'NORMAL' : 'FULL'}`);
  // Erasure reaches the read models by deleting or rewriting documents: their old bytes must
  // be overwritten, not left in free pages.
  const secureDelete = db.pragma('secure_delete = ON', { simple: true });
  if (secureDelete !== 1) throw new Error('read store needs secure_delete, which this SQLite build refuses');
}

/** A unique index refusing a document, as an error naming the index but not the value. */
function uniqueViolation(error: unknown, collection: string): UniqueIndexViolation | undefined {
  if (!(error instanceof Database.SqliteError) || error.code !== 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
  const index = /index '([^']+)'/.exec(error.message)?.[1];
  const prefix = `${TABLE_PREFIX}${collection}:`;
  return new UniqueIndexViolation(collection, index?.startsWith(prefix) ? index.slice(prefix.length) : index);
}
