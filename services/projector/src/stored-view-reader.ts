/**
 * The ViewReader of a process that does not run the projectors itself (the projector runs
 * as its own process): it reads the active generation and its progress from the registry
 * in the read store, and polls it while a query waits for a position.
 */
import type { Keyring, ReadStore } from '@crm/core';
import type { ViewDefinition } from '@crm/projections';
import { pause } from '@crm/core';
import { type Generation, openGenerations, physicalCollectionName, readRestrictions } from './generations.ts';
import { openDocument } from './sealing.ts';
import type { ViewKeys } from './view-keys.ts';
import type { ViewReader } from './view-reader.ts';

export interface StoredViewReaderOptions {
  views: readonly ViewDefinition[];
  readStore: ReadStore;
  keyring: Keyring;
  viewKeys: ViewKeys;
  /** How often a waiting query looks again. Default 20 ms. */
  pollIntervalMs?: number;
}

export function createStoredViewReader(options: StoredViewReaderOptions): ViewReader {
  const { readStore, keyring, viewKeys } = options;
  const generations = openGenerations(readStore);
  const views = new Map(options.views.map((v) => [v.name, v]));
  const pollIntervalMs = options.pollIntervalMs ?? 20;
  const collectionOf = (view: string, collection: string) =>
    Object.values(views.get(view)?.collections ?? {}).find((c) => c.name === collection);
  const activeOf = async (view: string): Promise<Generation | undefined> => (views.has(view) ? (await generations.entry(view)).active : undefined);
  const position = async (view: string) => {
    const active = await activeOf(view);
    return active ? ((await generations.loadProgress(active))?.watermark ?? 0) : 0;
  };

  return {
    views: () => [...views.values()],
    view: (name) => views.get(name),
    async collectionName(view, collection) {
      if (!collectionOf(view, collection)) return undefined;
      const active = await activeOf(view);
      return active && physicalCollectionName(active, collection);
    },
    position,
    async waitForPosition(view, target, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ((await position(view)) < target) {
        if (Date.now() >= deadline) return false;
        await pause(Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())), new AbortController().signal);
      }
      return true;
    },
    async open(view, collection, document) {
      const place = collectionOf(view, collection);
      if (!place) throw new Error(`View ${view} has no collection ${collection}`);
      return openDocument(keyring, { view, collection: place }, document);
    },
    blindIndex: (view, _collection, field, value) => viewKeys.blindIndex(view, field, value),
    async restrictions(view) {
      const active = await activeOf(view);
      return active ? readRestrictions(readStore, active) : { subjectIds: [], pseudonyms: [] };
    },
  };
}
