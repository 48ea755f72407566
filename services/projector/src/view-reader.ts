/**
 * What the query side needs from the projector side: which views exist, where the active
 * generation of each keeps its documents, how far it has caught up, and how to open (and
 * blind-index) personal fields. The query API reads documents through `readStore` with the
 * physical names this hands out; a rebuild switches them atomically underneath.
 */
import type { Document } from '@crm/core';
import type { ViewDefinition } from '@crm/projections';

export interface ViewReader {
  /** Every view this process serves, by name. */
  views(): readonly ViewDefinition[];
  view(name: string): ViewDefinition | undefined;
  /**
   * The read store's name of a logical collection (e.g. 'sales/customers') in the view's
   * active generation; undefined when the view has not been built yet.
   */
  collectionName(view: string, collection: string): Promise<string | undefined>;
  /** The global position up to which the active generation has applied every event (0 when none). */
  position(view: string): Promise<number>;
  /** Resolves true once `position(view) >= position`, false when `timeoutMs` passed first. */
  waitForPosition(view: string, position: number, timeoutMs: number): Promise<boolean>;
  /** The document with its personal fields opened (null where the subject was erased). */
  open(view: string, collection: string, document: Document): Promise<Document>;
  /** The subjects whose processing is restricted (Art. 18), by id and by the view's pseudonym: queries leave them out. */
  restrictions(view: string): Promise<Restrictions>;
  /** The blind index of a value of a blind-indexed personal field, as stored at `_blind.<field>`. */
  blindIndex(view: string, collection: string, field: string, value: string): string;
}

export interface Restrictions {
  subjectIds: string[];
  pseudonyms: string[];
}
