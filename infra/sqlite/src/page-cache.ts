/**
 * How much SQLite page cache each connection of the embedded stores may hold, in KiB.
 *
 * The cache is private memory of every connection, and better-sqlite3 builds SQLite with a
 * 16 MiB default: the embedded CRM opens six or more connections, which held about 26 MiB more
 * of a rebuild's peak (and up to 100 MiB once every cache fills) than these sizes. Pages that
 * are read once in order (the event log read by subscriptions and rebuilds, the audit log) or
 * few (keys, checkpoints) are served from the OS page cache as well; a larger cache pays where
 * writes touch pages all over a b-tree: the event writer (stream versions, unique ids) and the
 * read store (view documents upserted by id, whose ids are time-ordered uuid v7, so new ones land
 * at the right edge of the tree).
 */
export const PAGE_CACHE_KIB = {
  eventWriter: 16 * 1024,
  eventReader: 2 * 1024,
  readStore: 8 * 1024,
  keyStore: 2 * 1024,
  checkpoints: 512,
  auditLog: 1024,
} as const;

/** `PRAGMA cache_size` takes a negative number for KiB (a positive one counts pages). */
export const cacheSizePragma = (kib: number): string => `cache_size = -${Math.max(64, Math.floor(kib))}`;
