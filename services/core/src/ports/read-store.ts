/**
 * ReadStore port: the documents of the read models (views), Mongo-style. Adapters: an
 * embedded document store on SQLite (the default) and MongoDB through the official
 * driver (FerretDB in local tests). Both pass the contract suite in
 * `test/src/contracts/read-store.contract.ts`. Nothing here may need transactions or
 * change streams: FerretDB has neither.
 *
 * Documents hold personal fields only sealed; the store never sees plaintext personal data.
 */

export type Document = { _id: string } & Record<string, unknown>;

/** Filter operators: `$eq $ne $gt $gte $lt $lte $in $nin $exists`, combined with `$and` and `$or`, on dotted paths. */
export type Filter = Record<string, unknown>;

/** Sort on one or more dotted paths: 1 ascending, -1 descending. `_id` breaks ties, ascending. */
export type Sort = Array<[path: string, direction: 1 | -1]>;

export interface FindOptions {
  filter?: Filter;
  sort?: Sort;
  /** Page size; adapters cap it (default 50, at most 1000). */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`, with the same filter and sort. */
  cursor?: string;
}

export interface Page {
  documents: Document[];
  /** Set when there may be more: pass it back as `cursor` for the next page. */
  nextCursor?: string;
}

/** Aggregation stages: `$match`, `$group` (with `$sum` and `$avg` accumulators, `_id` a path or null), `$sort`, `$count`. */
export type Pipeline = Array<Record<string, unknown>>;

export interface IndexDefinition {
  name: string;
  keys: Array<[path: string, direction: 1 | -1]>;
  unique?: boolean;
}

export interface ReadStore {
  /** Creates the collection's indexes if missing (idempotent). */
  ensureIndexes(collection: string, indexes: readonly IndexDefinition[]): Promise<void>;
  /** Inserts or replaces documents by `_id`. */
  upsert(collection: string, documents: readonly Document[]): Promise<void>;
  /** Deletes documents by `_id`; missing ones are ignored. */
  delete(collection: string, ids: readonly string[]): Promise<void>;
  get(collection: string, id: string): Promise<Document | undefined>;
  find(collection: string, options?: FindOptions): Promise<Page>;
  aggregate(collection: string, pipeline: Pipeline): Promise<Record<string, unknown>[]>;
  count(collection: string, filter?: Filter): Promise<number>;
  /** Drops a collection with its documents and indexes (rebuilds switch by collection name). */
  drop(collection: string): Promise<void>;
  /** Names of the existing collections. */
  collections(): Promise<string[]>;
  close(): Promise<void>;
}
