/**
 * Generations of a view in the read store. Every build of a view (its first, a rebuild, a
 * new version) writes a new generation: its own set of collections, named
 * `<collection>_v<version>_g<generation>`. A registry document per view names the active
 * generation (the one queries read) and the one being built; switching is one upsert of
 * that document, so readers see either the old generation or the new one, never a mix.
 * A progress document per generation holds how far it has applied the event log.
 *
 * Works on any ReadStore: no transactions, no change streams.
 */
import type { Document, ReadStore } from '@crm/core';
import type { ViewDefinition } from '@crm/projections';
import type { AppliedPositionsState } from './applied-positions.ts';

export const VIEW_REGISTRY = 'crm_views';
export const VIEW_PROGRESS = 'crm_view_progress';

export interface Generation {
  view: string;
  version: number;
  generation: number;
}

export interface RegistryEntry {
  active?: Generation;
  building?: Generation;
}

export const generationId = (g: Generation): string => `${g.view}_v${g.version}_g${g.generation}`;

const storeName = (logical: string) => logical.replace(/[^A-Za-z0-9]+/g, '_');

/** The read store's name of a logical collection (e.g. `service/case-notes`) in a generation. */
export const physicalCollectionName = (g: Pick<Generation, 'version' | 'generation'>, logical: string): string =>
  `${storeName(logical)}_v${g.version}_g${g.generation}`;

/** Every logical collection a generation of the view keeps: the view's own and its list of restricted subjects. */
export const storedCollections = (view: ViewDefinition): string[] => [...Object.values(view.collections).map((c) => c.name), `${view.name}/restricted-subjects`];

export const sameGeneration = (a: Generation | undefined, b: Generation | undefined): boolean =>
  a !== undefined && b !== undefined && a.view === b.view && a.version === b.version && a.generation === b.generation;

function asGeneration(view: string, value: unknown): Generation | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { version, generation } = value as Record<string, unknown>;
  return typeof version === 'number' && typeof generation === 'number' ? { view, version, generation } : undefined;
}

export interface Generations {
  entry(view: string): Promise<RegistryEntry>;
  /** Records that `g` is being built (so a crash mid-build leaves its collections findable). */
  startBuilding(g: Generation): Promise<void>;
  /** Makes `g` the active generation in one write. */
  activate(g: Generation): Promise<void>;
  loadProgress(g: Generation): Promise<AppliedPositionsState | undefined>;
  saveProgress(g: Generation, state: AppliedPositionsState): Promise<void>;
  /** Drops a generation's collections and progress. */
  drop(view: ViewDefinition, g: Pick<Generation, 'version' | 'generation'>): Promise<void>;
  /** Generations of the view present in the store other than those kept (leftovers of crashed builds, retired ones). */
  strays(view: ViewDefinition, keep: ReadonlyArray<Generation | undefined>): Promise<Array<Pick<Generation, 'version' | 'generation'>>>;
}

export function openGenerations(readStore: ReadStore): Generations {
  const entryOf = (view: string, document: Document | undefined): RegistryEntry => {
    const active = asGeneration(view, document?.active);
    const building = asGeneration(view, document?.building);
    return { ...(active ? { active } : {}), ...(building ? { building } : {}) };
  };
  const plain = (g: Generation | undefined) => (g ? { version: g.version, generation: g.generation } : null);

  return {
    async entry(view) {
      return entryOf(view, await readStore.get(VIEW_REGISTRY, view));
    },
    async startBuilding(g) {
      const current = entryOf(g.view, await readStore.get(VIEW_REGISTRY, g.view));
      await readStore.upsert(VIEW_REGISTRY, [{ _id: g.view, active: plain(current.active), building: plain(g), changedAt: new Date().toISOString() }]);
    },
    async activate(g) {
      await readStore.upsert(VIEW_REGISTRY, [{ _id: g.view, active: plain(g), building: null, changedAt: new Date().toISOString() }]);
    },
    async loadProgress(g) {
      const document = await readStore.get(VIEW_PROGRESS, generationId(g));
      if (!document || typeof document.watermark !== 'number') return undefined;
      const ahead = Array.isArray(document.ahead) ? (document.ahead as Array<{ from: number; to: number }>) : [];
      return { watermark: document.watermark, ahead: ahead.map((r) => [r.from, r.to]) };
    },
    async saveProgress(g, state) {
      // Ranges as objects: FerretDB stores no nested arrays.
      await readStore.upsert(VIEW_PROGRESS, [{ _id: generationId(g), watermark: state.watermark, ahead: state.ahead.map(([from, to]) => ({ from, to })) }]);
    },
    async drop(view, g) {
      for (const collection of storedCollections(view)) await readStore.drop(physicalCollectionName(g, collection));
      await readStore.delete(VIEW_PROGRESS, [generationId({ view: view.name, ...g })]);
    },
    async strays(view, keep) {
      const prefixes = storedCollections(view).map(storeName);
      const found = new Map<string, Pick<Generation, 'version' | 'generation'>>();
      for (const name of await readStore.collections()) {
        const match = /^(.*)_v(\d+)_g(\d+)$/.exec(name);
        if (!match || !prefixes.includes(match[1]!)) continue;
        const g = { version: Number(match[2]), generation: Number(match[3]) };
        if (keep.some((k) => k && k.version === g.version && k.generation === g.generation)) continue;
        found.set(`${g.version}:${g.generation}`, g);
      }
      return [...found.values()];
    },
  };
}

/** Every restricted subject of a generation, by id and pseudonym. */
export async function readRestrictions(readStore: ReadStore, g: Generation): Promise<{ subjectIds: string[]; pseudonyms: string[] }> {
  const subjectIds: string[] = [];
  const pseudonyms: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await readStore.find(physicalCollectionName(g, `${g.view}/restricted-subjects`), { limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const document of page.documents) {
      subjectIds.push(document._id);
      if (typeof document.pseudonym === 'string') pseudonyms.push(document.pseudonym);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return { subjectIds, pseudonyms };
}
