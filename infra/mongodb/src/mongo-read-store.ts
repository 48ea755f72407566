/**
 * ReadStore on MongoDB through the official driver; FerretDB 1.24 in local tests. Queries
 * are parsed and validated by @crm/read-query (shared with the embedded store, so both
 * refuse the same inputs) and rebuilt as Mongo filters and stages: nothing the caller wrote
 * reaches the server unvalidated. Needs no transactions and no change streams.
 */
import type { Document, IndexDefinition, ReadStore } from '@crm/core';
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
  type Stage,
} from '@crm/read-query';
import { MongoClient, MongoServerError, type AnyBulkWriteOperation, type Collection, type Document as MongoDocument } from 'mongodb';
import { aggregateWithinFerretDb } from './ferretdb-aggregation.ts';
import { toMongoFilter, type StoredDocument } from './mongo-filter.ts';
import { keysetFilter, positionOf, sortSpec, valueAt } from './mongo-keyset.ts';
import { toMongoPipeline } from './mongo-pipeline.ts';

export interface MongoReadStoreOptions {
  /** `mongodb://…`; FerretDB speaks the same protocol. */
  url: string;
  /** Letters, digits, `_` and `-`, at most 63 characters. */
  database: string;
  /**
   * How `aggregate` reaches the server. `auto` (default) asks the server once (buildInfo):
   * FerretDB 1.x gets `ferretdb-1` (see ferretdb-aggregation.ts), anything else `native`,
   * the pipeline as one aggregate command.
   */
  aggregation?: 'auto' | 'native' | 'ferretdb-1';
}

const DATABASE_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
/**
 * Upserts per bulkWrite (see `upsert`): small enough that the views' concurrent writers (one
 * per view, a few more for privacy) never hold FerretDB's 100 connections per database at once.
 */
const UPSERT_CHUNK = 16;
const DELETE_CHUNK = 1000;
const NAMESPACE_NOT_FOUND = 26;
const DUPLICATE_KEY = 11000;
const INDEX_CONFLICT_CODES = new Set([85, 86]); // IndexOptionsConflict, IndexKeySpecsConflict

export function openMongoReadStore(options: MongoReadStoreOptions): ReadStore {
  if (!DATABASE_PATTERN.test(options.database)) throw new Error('database: letters, digits, _ and -, at most 63 characters');
  // ignoreUndefined: documents are JSON by the time they get here; this keeps the driver from
  // ever turning an undefined into a stored null.
  const client = new MongoClient(options.url, { ignoreUndefined: true });
  const db = client.db(options.database);
  let closed = false;
  // Checked here rather than left to the driver, which may reconnect a closed client.
  const collection = (name: string): Collection<StoredDocument> => {
    if (closed) throw new Error('The MongoDB read store is closed');
    return db.collection<StoredDocument>(name);
  };

  let dialect: Promise<'native' | 'ferretdb-1'> | undefined;
  const aggregationDialect = () => {
    const chosen = options.aggregation ?? 'auto';
    if (chosen !== 'auto') return Promise.resolve(chosen);
    dialect ??= db
      .admin()
      .command({ buildInfo: 1 })
      .then((info) => (/^v?1\./.test(String(info.ferretdbVersion ?? '')) ? 'ferretdb-1' : 'native'))
      .catch((error: unknown) => {
        dialect = undefined; // ask again next time
        throw error;
      });
    return dialect;
  };

  const runPipeline = (name: string) => async (pipeline: MongoDocument[]) =>
    (await collection(name).aggregate(pipeline).toArray()) as Array<Record<string, unknown>>;

  return {
    async ensureIndexes(name, indexes) {
      const target = collection(assertCollectionName(name));
      const wanted = parseIndexes(indexes);
      const existing = await listIndexes(target);
      for (const index of wanted) {
        const found = existing.find((e) => e.name === index.name);
        if (found) {
          if (!sameIndex(found, index)) throw new IndexDefinitionConflict(name, index.name);
          continue;
        }
        // One index per command: FerretDB 1.24 panics (and drops the connection) on a
        // createIndexes that repeats two or more existing indexes, which two concurrent
        // ensureIndexes calls could send.
        try {
          await target.createIndex(Object.fromEntries(index.keys), {
            name: index.name,
            unique: index.unique === true,
          });
        } catch (error) {
          if (error instanceof MongoServerError && INDEX_CONFLICT_CODES.has(Number(error.code))) {
            throw new IndexDefinitionConflict(name, index.name);
          }
          throw error;
        }
      }
    },

    async upsert(name, documents) {
      const target = collection(assertCollectionName(name));
      const rows = toJsonDocuments(documents);
      if (rows.length === 0) return;
      const operations: AnyBulkWriteOperation<StoredDocument>[] = rows.map((row) => ({
        replaceOne: { filter: { _id: row.id }, replacement: JSON.parse(row.json) as StoredDocument, upsert: true },
      }));
      // In chunks: FerretDB 1.24 holds one of its (100) SQLite connections per update of a
      // bulkWrite until the whole command returns, so a bulkWrite of about 100 upserts waits for
      // a connection it holds itself and the database hangs; several concurrent ones hang it sooner. Ordered, so a batch applies in
      // order (the last of two documents with one _id wins). Not atomic: without transactions,
      // documents before a refused one stay written; upserts are idempotent, so a projector
      // simply retries the batch.
      let offset = 0;
      try {
        for (; offset < operations.length; offset += UPSERT_CHUNK) await target.bulkWrite(operations.slice(offset, offset + UPSERT_CHUNK), { ordered: true });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        const inChunk = firstWriteErrorIndex(error);
        const failedAt = inChunk === undefined ? undefined : offset + inChunk;
        const offending = failedAt === undefined ? undefined : (JSON.parse(rows[failedAt]?.json ?? 'null') as StoredDocument | null);
        throw new UniqueIndexViolation(name, await violatedIndex(target, error, offending ?? undefined));
      }
    },

    async delete(name, ids) {
      const target = collection(assertCollectionName(name));
      const valid = assertIds(ids);
      for (let i = 0; i < valid.length; i += DELETE_CHUNK) {
        await target.deleteMany({ _id: { $in: valid.slice(i, i + DELETE_CHUNK) } });
      }
    },

    async get(name, id) {
      const target = collection(assertCollectionName(name));
      const found = await target.findOne({ _id: assertDocumentId(id, '/id') });
      return (found as Document | null) ?? undefined;
    },

    async find(name, findOptions) {
      const query = parseFindQuery(name, findOptions);
      const filter = toMongoFilter(query.filter);
      const where = query.after ? { $and: [filter, keysetFilter(query.sort, query.after)] } : filter;
      // One document more than asked tells whether another page exists.
      const rows = (await collection(query.collection)
        .find(where)
        .sort(sortSpec(query.sort))
        .limit(query.limit + 1)
        .toArray()) as Document[];
      const documents = rows.slice(0, query.limit);
      const last = documents[documents.length - 1];
      if (rows.length <= query.limit || !last) return { documents };
      return { documents, nextCursor: encodeCursor(query.fingerprint, positionOf(last, query.sort)) };
    },

    async aggregate(name, pipeline) {
      const target = collection(assertCollectionName(name)).collectionName;
      const stages: Stage[] = parsePipeline(pipeline);
      const run = runPipeline(target);
      if ((await aggregationDialect()) === 'ferretdb-1') return aggregateWithinFerretDb(stages, run);
      return run(toMongoPipeline(stages));
    },

    async count(name, filter) {
      const target = collection(assertCollectionName(name));
      return target.countDocuments(toMongoFilter(parseFilter(filter)));
    },

    async drop(name) {
      const target = collection(assertCollectionName(name));
      try {
        await target.drop();
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND)) throw error;
      }
    },

    async collections() {
      if (closed) throw new Error('The MongoDB read store is closed');
      const listed = await db.listCollections({}, { nameOnly: true }).toArray();
      return listed.map((c) => c.name).filter((n) => !n.startsWith('system.')).sort();
    },

    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

interface ListedIndex {
  name: string;
  key: Record<string, number>;
  unique?: boolean;
}

async function listIndexes(target: Collection<StoredDocument>): Promise<ListedIndex[]> {
  try {
    return (await target.listIndexes().toArray()) as ListedIndex[];
  } catch (error) {
    if (error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND) return [];
    throw error;
  }
}

function sameIndex(found: ListedIndex, wanted: IndexDefinition): boolean {
  const keys = Object.entries(found.key);
  return (
    (found.unique === true) === (wanted.unique === true) &&
    keys.length === wanted.keys.length &&
    keys.every(([path, direction], i) => wanted.keys[i]?.[0] === path && wanted.keys[i]?.[1] === Number(direction))
  );
}

function isDuplicateKey(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as { code?: unknown; writeErrors?: unknown };
  return e.code === DUPLICATE_KEY || writeErrors(error).some((w) => w.code === DUPLICATE_KEY);
}

function writeErrors(error: unknown): Array<{ code?: unknown; index?: unknown; errmsg?: unknown }> {
  const list = (error as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(list)) return list as Array<{ code?: unknown; index?: unknown; errmsg?: unknown }>;
  return list && typeof list === 'object' ? [list as { code?: unknown; index?: unknown; errmsg?: unknown }] : [];
}

function firstWriteErrorIndex(error: unknown): number | undefined {
  const index = writeErrors(error)[0]?.index;
  return typeof index === 'number' ? index : undefined;
}

/**
 * Which unique index refused the document. MongoDB names it in the message
 * ("… index: by_email dup key: …"); FerretDB 1.24 does not ("E11000 duplicate key error
 * collection: db.people"), so then the unique indexes are asked in turn which one already
 * holds the document's key under another _id. Only the name is reported, never the value.
 */
async function violatedIndex(target: Collection<StoredDocument>, error: unknown, offending: StoredDocument | undefined): Promise<string | undefined> {
  const message = String(writeErrors(error)[0]?.errmsg ?? (error as Error).message);
  const named = / index: (\S+) dup key/.exec(message)?.[1];
  if (named) return named;
  if (!offending) return undefined;
  for (const index of await listIndexes(target)) {
    if (!index.unique || index.name === '_id_') continue;
    const sameKey = Object.fromEntries(Object.keys(index.key).map((path) => [path, { $eq: valueAt(offending, path) ?? null }]));
    if (await target.findOne({ ...sameKey, _id: { $ne: offending._id } }, { projection: { _id: 1 } })) return index.name;
  }
  return undefined;
}
