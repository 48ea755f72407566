/**
 * Errors of the read-store adapters that are not about the caller's query (those are
 * ValidationFailed). Messages name collections and indexes, never the offending values:
 * a unique key may be a blind index of personal data.
 */
export class UniqueIndexViolation extends Error {
  constructor(
    readonly collection: string,
    readonly index: string | undefined,
  ) {
    super(`Documents for collection ${collection} break unique index ${index ?? '(unnamed)'}: another document has the same key`);
    this.name = 'UniqueIndexViolation';
  }
}

export class IndexDefinitionConflict extends Error {
  constructor(
    readonly collection: string,
    readonly index: string,
  ) {
    super(`Collection ${collection} already has an index named ${index} with another definition; drop the collection (or rebuild under a new name) to change it`);
    this.name = 'IndexDefinitionConflict';
  }
}
