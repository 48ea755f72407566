import type { Document, ReadStore } from '@crm/core';

/** Every document of a read-store collection, page by page. */
export async function allDocuments(readStore: ReadStore, collection: string): Promise<Document[]> {
  const documents: Document[] = [];
  let cursor: string | undefined;
  do {
    const page = await readStore.find(collection, { limit: 1000, ...(cursor ? { cursor } : {}) });
    documents.push(...page.documents);
    cursor = page.nextCursor;
  } while (cursor);
  return documents;
}
