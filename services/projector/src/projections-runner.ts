/**
 * Runs the views of a CRM process: for each view, builds its generation from the event
 * store when none of its version exists (first start, or the view's version was bumped),
 * then keeps it live from the bus in the view's own consumer group, and serves the
 * ViewReader the query API reads through.
 *
 * A rebuild (explicit, or by a version bump) never stops queries: it writes a new
 * generation beside the active one, from position 0 of the event store in large runs, then
 * follows the bus from where it read up to; once it has caught up with the active
 * generation, the registry switches to it in one write and the old generation is dropped
 * a grace period later (queries that resolved its names just before the switch finish).
 */
import { type BusConsumer, type Document, type EventStore, type Keyring, type Logger, type ReadStore, type RecordedEvent } from '@crm/core';
import type { ViewDefinition } from '@crm/projections';
import { BehaviorSubject, filter, firstValueFrom, map, Observable, race, timer } from 'rxjs';
import { AppliedPositions } from './applied-positions.ts';
import { type Generation, generationId, openGenerations, physicalCollectionName, readRestrictions, sameGeneration } from './generations.ts';
import { openDocument } from './sealing.ts';
import type { ViewKeys } from './view-keys.ts';
import { createViewProjection, PRIVACY_BARRIER_TYPES, type ViewProjection } from './view-projection.ts';
import type { ViewReader } from './view-reader.ts';

export interface ProjectionsOptions {
  views: readonly ViewDefinition[];
  readStore: ReadStore;
  eventStore: EventStore;
  consumer: BusConsumer;
  keyring: Keyring;
  viewKeys: ViewKeys;
  logger: Logger;
  /** Events per read of the event store while rebuilding. Default 2,000. */
  rebuildBatchSize?: number;
  /**
   * Names the consumer groups: `<prefix>:<view generation>`. On a broker that several CRMs
   * share, each needs its own (the runtime uses the topic), or their projectors would join one
   * group and take each other's partitions. Default `projector`.
   */
  groupPrefix?: string;
  /** How long a replaced generation stays readable after the switch. Default 30 s. */
  retireAfterMs?: number;
}

export interface RunningProjections {
  reader: ViewReader;
  /** Resolves once every view has an active generation (built or found). */
  ready: Promise<void>;
  /** Rebuilds a view into a new generation and switches to it; resolves with it once active. */
  rebuild(view: string): Promise<Generation>;
  /** The active generation of each view and how far it has applied the log, as it moves. */
  progress$: Observable<ReadonlyMap<string, number>>;
  /** Stops every consumer, waits for runs in hand, drops nothing. */
  stop(): Promise<void>;
}

/** The consumer group of one generation of a view. */
export const projectorGroup = (g: Generation, prefix = 'projector'): string => `${prefix}:${generationId(g)}`;

interface Live {
  generation: Generation;
  applied: AppliedPositions;
  watermark$: BehaviorSubject<number>;
  controller: AbortController;
  done: Promise<void>;
}

export function startProjections(options: ProjectionsOptions): RunningProjections {
  const { readStore, eventStore, consumer, keyring, viewKeys } = options;
  const logger = options.logger.child({ component: 'projector' });
  const generations = openGenerations(readStore);
  const rebuildBatchSize = options.rebuildBatchSize ?? 2000;
  const retireAfterMs = options.retireAfterMs ?? 30_000;
  const views = new Map(options.views.map((v) => [v.name, v]));
  const active = new Map<string, Live>();
  const progress$ = new BehaviorSubject<ReadonlyMap<string, number>>(new Map());
  const stopping = new AbortController();
  const retirements = new Set<NodeJS.Timeout>();
  const rebuilding = new Map<string, Promise<Generation>>();
  /** Every consumer started, for `stop` to wait on. */
  const following = new Set<Promise<void>>();

  const publishProgress = () => progress$.next(new Map([...active].map(([name, live]) => [name, live.applied.watermark])));

  const projectionOf = (view: ViewDefinition, g: Generation, building = false): ViewProjection =>
    createViewProjection({
      view,
      readStore,
      keyring,
      collectionName: (logical) => physicalCollectionName(g, logical),
      blindIndex: (field, value) => viewKeys.blindIndex(view.name, field, value),
      building,
    });

  /** Follows the bus into generation `g` from `applied` on, saving progress after every run. */
  function follow(view: ViewDefinition, g: Generation, applied: AppliedPositions): Live {
    const projection = projectionOf(view, g);
    const controller = new AbortController();
    const watermark$ = new BehaviorSubject(applied.watermark);
    const passed = async (events: readonly RecordedEvent[]) => {
      applied.add(events.map((e) => e.globalPosition));
      await generations.saveProgress(g, applied.state());
      watermark$.next(applied.watermark);
      if (active.get(view.name)?.generation === g) publishProgress();
    };
    const live: Live = { generation: g, applied, watermark$, controller, done: Promise.resolve() };
    live.done = consumer
      .consume({
        group: projectorGroup(g, options.groupPrefix),
        startAfter: applied.watermark,
        signal: AbortSignal.any([controller.signal, stopping.signal]),
        handleBatch: async (events) => {
          await projection.project(events);
          await passed(events);
        },
        handle: async (event) => {
          await projection.project([event]);
          await passed([event]);
        },
        // Dead-lettered: not applied, but the view must not wait for it forever.
        onDeadLettered: (event) => passed([event]),
      })
      .catch((error: unknown) => {
        logger.error('projector stopped on an error', { view: view.name, generation: generationId(g), error: error instanceof Error ? error.name : 'unknown' });
      });
    following.add(live.done);
    return live;
  }

  /** Builds run one at a time: each holds a working set and the ids it wrote, and the process's memory is shared. */
  let building: Promise<unknown> = Promise.resolve();
  function build(view: ViewDefinition, g: Generation): Promise<AppliedPositions> {
    const run = building.then(() => buildNow(view, g));
    building = run.catch(() => undefined);
    return run;
  }

  /** Writes generation `g` from the event store, position 0 up to the head as it was at the start. */
  async function buildNow(view: ViewDefinition, g: Generation): Promise<AppliedPositions> {
    await generations.drop(view, g); // a crashed earlier attempt at the same generation
    await generations.startBuilding(g);
    const projection = projectionOf(view, g, true);
    await projection.ensureIndexes();
    const head = await eventStore.headPosition();
    const started = performance.now();
    // Only the events the view uses (and the privacy events every view acts on) are read at all.
    const types = [...view.eventTypes, ...PRIVACY_BARRIER_TYPES];
    let after = 0;
    let events = 0;
    let complete = false;
    while (!stopping.signal.aborted) {
      const page = await eventStore.readAll({ after, limit: rebuildBatchSize, types });
      if (page.length > 0) {
        await projection.project(page);
        after = page[page.length - 1]!.globalPosition;
        events += page.length;
      }
      if (page.length < rebuildBatchSize) {
        complete = true;
        break;
      }
      // Embedded stores answer synchronously: let requests in between pages, or a rebuild would hold up the API.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Read to the end: every event up to the head as it was at the start is applied or of no concern to the view.
    const applied = new AppliedPositions({ watermark: complete ? Math.max(after, head) : after, ahead: [] });
    await generations.saveProgress(g, applied.state());
    const seconds = (performance.now() - started) / 1000;
    logger.info('view generation built from the event store', { view: view.name, generation: generationId(g), events, seconds: Number(seconds.toFixed(2)) });
    return applied;
  }

  /** Builds a new generation, follows the bus until it has caught up with the active one, then switches. */
  async function rebuild(view: ViewDefinition): Promise<Generation> {
    const entry = await generations.entry(view.name);
    const g: Generation = {
      view: view.name,
      version: view.version,
      generation: Math.max(entry.active?.generation ?? 0, entry.building?.generation ?? 0) + 1,
    };
    const applied = await build(view, g);
    const next = follow(view, g, applied);
    const previous = active.get(view.name);
    if (previous) {
      // Switch only once the new generation is as far as the one queries read now: a reader never goes back.
      const target = previous.applied.watermark;
      await firstValueFrom(race(next.watermark$.pipe(filter((w) => w >= target)), stoppedSignal()), { defaultValue: 0 });
    }
    if (stopping.signal.aborted) {
      next.controller.abort();
      await next.done;
      return g;
    }
    await generations.activate(g);
    active.set(view.name, next);
    publishProgress();
    logger.info('view switched to a new generation', { view: view.name, generation: generationId(g), position: next.applied.watermark });
    if (previous) retire(view, previous);
    else if (entry.active && !sameGeneration(entry.active, g)) retire(view, undefined, entry.active);
    return g;
  }

  function stoppedSignal(): Observable<number> {
    return new Observable<number>((subscriber) => {
      const onAbort = () => subscriber.complete();
      if (stopping.signal.aborted) onAbort();
      stopping.signal.addEventListener('abort', onAbort, { once: true });
      return () => stopping.signal.removeEventListener('abort', onAbort);
    });
  }

  /**
   * A replaced generation stays readable, and keeps following the bus, for the grace period
   * (queries that resolved its names just before the switch finish on fresh data); then it
   * stops and its collections are dropped.
   */
  function retire(view: ViewDefinition, live: Live | undefined, g: Generation | undefined = live?.generation): void {
    if (!g) return;
    const timeout = setTimeout(() => {
      retirements.delete(timeout);
      live?.controller.abort();
      void (live?.done ?? Promise.resolve())
        .then(() => generations.drop(view, g))
        .catch(() => logger.warn('could not drop a retired view generation', { view: view.name, generation: generationId(g) }));
    }, retireAfterMs);
    timeout.unref();
    retirements.add(timeout);
  }

  async function start(view: ViewDefinition): Promise<void> {
    const entry = await generations.entry(view.name);
    for (const stray of await generations.strays(view, [entry.active])) await generations.drop(view, stray);
    if (entry.active && entry.active.version === view.version) {
      const applied = new AppliedPositions(await generations.loadProgress(entry.active));
      active.set(view.name, follow(view, entry.active, applied));
      publishProgress();
      return;
    }
    // None yet, or the code holds a new version of the view: build it (the old version keeps being served until then).
    if (entry.active) logger.info('view version changed: rebuilding', { view: view.name, from: entry.active.version, to: view.version });
    await runRebuild(view);
  }

  function runRebuild(view: ViewDefinition): Promise<Generation> {
    const running = rebuilding.get(view.name);
    if (running) return running;
    const promise = rebuild(view).finally(() => rebuilding.delete(view.name));
    rebuilding.set(view.name, promise);
    return promise;
  }

  const ready = Promise.all(options.views.map((v) => start(v))).then(() => undefined);
  ready.catch(() => undefined);

  const reader = createReader();

  function createReader(): ViewReader {
    const definitionOf = (name: string) => views.get(name);
    return {
      views: () => [...views.values()],
      view: definitionOf,
      async collectionName(view, collection) {
        const live = active.get(view);
        const definition = definitionOf(view);
        if (!live || !definition || !Object.values(definition.collections).some((c) => c.name === collection)) return undefined;
        return physicalCollectionName(live.generation, collection);
      },
      async position(view) {
        return active.get(view)?.applied.watermark ?? 0;
      },
      async waitForPosition(view, position, timeoutMs) {
        if ((active.get(view)?.applied.watermark ?? 0) >= position) return true;
        const reached = progress$.pipe(
          map((p) => (p.get(view) ?? 0) >= position),
          filter(Boolean),
        );
        return firstValueFrom(race(reached, timer(timeoutMs).pipe(map(() => false))));
      },
      async open(view, collection, document: Document) {
        const definition = definitionOf(view);
        const place = definition && Object.values(definition.collections).find((c) => c.name === collection);
        if (!definition || !place) throw new Error(`View ${view} has no collection ${collection}`);
        return openDocument(keyring, { view, collection: place }, document);
      },
      blindIndex: (view, _collection, field, value) => viewKeys.blindIndex(view, field, value),
      async restrictions(view) {
        const live = active.get(view);
        return live ? readRestrictions(readStore, live.generation) : { subjectIds: [], pseudonyms: [] };
      },
    };
  }

  return {
    reader,
    ready,
    progress$: progress$.asObservable(),
    async rebuild(name) {
      const view = views.get(name);
      if (!view) throw new Error(`No view named ${name}`);
      await ready;
      return runRebuild(view);
    },
    async stop() {
      stopping.abort();
      for (const timeout of retirements) clearTimeout(timeout);
      await Promise.allSettled([...rebuilding.values()]);
      await Promise.allSettled([...following]);
      progress$.complete();
    },
  };
}
