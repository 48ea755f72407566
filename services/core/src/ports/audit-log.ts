/**
 * AuditLog port: who read whose personal data, when, through which view and for what
 * purpose. An entry holds ids only (the actor's principal id, the data subjects' ids) and
 * never a personal value, so it can outlive an erasure: after a subject's key is destroyed
 * the log still proves who read that subject's data before.
 *
 * `record` resolves only once the entry is durable; a reader that needs an audit entry
 * (every read that returns personal data) must not answer before it resolves. Adapters may
 * commit many concurrent records in one transaction.
 *
 * Adapter: SQLite (`openSqliteAuditLog` in @crm/sqlite).
 */

export interface AuditEntry {
  /** UUID v7: unique, and sortable by creation time. */
  id: string;
  /** ISO 8601 timestamp (UTC, `toISOString()` form) of the access. */
  at: string;
  /** The principal id (JWT `sub`) of the caller. */
  actor: string;
  /** The caller's roles at the time of the access. */
  roles: string[];
  /** What was done, e.g. `view.read`. */
  action: string;
  /** The view read, e.g. `service`. */
  view?: string;
  /** The logical collection read, e.g. `service/case-notes`. */
  collection?: string;
  /** Why: the purpose the caller declared, or the view's declared purpose. */
  purpose: string;
  /** The data subjects whose personal data the answer held (ids only), without duplicates. */
  subjectIds: string[];
  /** How many documents (or rows) the answer held. */
  count: number;
}

export interface AuditLogFilter {
  /** Only entries naming this data subject. */
  subjectId?: string;
  /** Only entries of this principal. */
  actor?: string;
  /** Only entries at or after this ISO 8601 instant. */
  since?: string;
  /** Most entries to return; default 100, at most 1000. */
  limit?: number;
}

export const AUDIT_LIST_DEFAULT_LIMIT = 100;
export const AUDIT_LIST_MAX_LIMIT = 1000;

export interface AuditLog {
  /** Stores one entry; resolves once it is durable. Rejects (and stores nothing) for a malformed entry. */
  record(entry: AuditEntry): Promise<void>;
  /** Entries matching every given condition, oldest first (by `at`, then `id`). */
  list(filter?: AuditLogFilter): Promise<AuditEntry[]>;
  /** Waits for pending records, then releases the store. */
  close(): Promise<void>;
}
