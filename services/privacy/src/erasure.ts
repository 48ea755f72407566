/**
 * Forget-me (Art. 17), in this order:
 * 1. legal holds: while one stands (Art. 17(3)) nothing is done — `LegalHoldStands`;
 * 2. suppression: the subject's email addresses and phone numbers, opened with their key
 *    while it still exists, are recorded as keyed HMACs (`SuppressionRecorded`);
 * 3. the key: every version destroyed, a tombstone left (`destroySubjectKey`);
 * 4. `SubjectForgotten` on the subject's privacy stream: the bus carries it to downstream
 *    systems (Art. 17(2)) and the projectors scrub every view on it;
 * 5. the views: waits until each has applied that event, then reads what its scrub did
 *    (the projector's `crm_erasures` record per subject and view);
 * 6. verification: with a fresh keyring that has no cache, every sealed value of the
 *    subject in the event store must fail to open, and the key store must show a tombstone;
 * 7. the receipt (PRIVACY.md): nothing personal, readable after the erasure.
 *
 * Idempotent: for a subject whose key is destroyed already, steps 1–3 are skipped (a hold
 * cannot protect what is gone) and no second `SubjectForgotten` is appended; the receipt
 * says the key was destroyed already, when and by which request, and refers to the first
 * `SubjectForgotten`. Views and verification are checked afresh.
 */
import { type ErasureReceipt, LegalHoldStands } from '@crm/contracts';
import { type CheckpointStore, Keyring, type KeyStore, type MasterKeys, type ReadStore, type RecordedEvent, type SealedEventData, openValue } from '@crm/core';
import { privacySubjectDecider, privacySubjectHandlers, privacySubjectStream, standingHolds } from '@crm/domain';
import type { Decisions } from './decisions.ts';
import { eventsOfSubject } from './subject-events.ts';
import { contactValuesOfSubject, type SuppressionHasher } from './suppression.ts';
import type { EventStore } from '@crm/core';

/** What the projector writes per subject and view generation once it scrubbed the subject. */
export const ERASURES_COLLECTION = 'crm_erasures';

/** Where `SubjectForgotten` goes beyond the event store. */
export type ErasureBus =
  | { kind: 'in-process' }
  | {
      kind: 'kafka';
      topic: string;
      checkpoints: CheckpointStore;
      /** The relay's checkpoint name. Default `relay:kafka`. */
      relayCheckpoint?: string;
    };

/** The part of the query side's ViewReader an erasure needs. */
export interface ViewProgress {
  position(view: string): Promise<number>;
  waitForPosition(view: string, position: number, timeoutMs: number): Promise<boolean>;
}

export interface ErasureDeps {
  eventStore: EventStore;
  keyStore: KeyStore;
  keyring: Keyring;
  /** For the verification keyring, which never caches a key. */
  masterKeys: MasterKeys;
  readStore: ReadStore;
  decisions: Decisions;
  hash: SuppressionHasher;
  views: readonly { name: string }[];
  reader: ViewProgress;
  bus: ErasureBus;
  keyCacheTtlMs: number;
  /** How long to wait for each view (and the relay) to apply `SubjectForgotten`. */
  waitMs: number;
  now: () => Date;
}

export async function eraseSubject(deps: ErasureDeps, request: { requestId: string; subjectId: string; actor: string }): Promise<ErasureReceipt> {
  const { requestId, subjectId, actor } = request;
  const meta = (type: string) => ({ type, actor, correlationId: requestId });
  const before = await deps.keyStore.find(subjectId);
  const alreadyDestroyed = before?.state === 'destroyed';
  let suppressionEntries = 0;

  if (!alreadyDestroyed) {
    // 1. holds
    const subject = await deps.decisions.load(privacySubjectDecider, privacySubjectStream(subjectId));
    const standing = standingHolds(subject.state, deps.now().toISOString());
    if (standing.length > 0) throw new LegalHoldStands(subjectId, standing.map(({ holdId, legalBasis, until }) => ({ holdId, legalBasis, until })));
    // 2. suppression, from the subject's data opened while the key exists
    const values = await contactValuesOfSubject(deps.keyring, subjectId, await eventsOfSubject(deps.eventStore, subjectId));
    const hashes = values.map(({ field, value }) => deps.hash(field, value));
    const recorded = await deps.decisions.decide(privacySubjectHandlers.RecordSuppression, { subjectId, hashes }, meta('RecordSuppression'));
    suppressionEntries = recorded.events.length > 0 ? new Set(hashes).size : 0;
    // 3. the key
    await deps.keyring.destroySubjectKey(subjectId, requestId);
    // What the engine keeps of deleted rows in its files goes too (PostgreSQL: the key table is rewritten).
    await deps.keyStore.purgeDestroyed?.();
  }

  // 4. SubjectForgotten, once per subject
  const forgotten = await deps.decisions.decide(privacySubjectHandlers.ForgetSubject, { subjectId, requestId, keyDestroyed: true }, meta('ForgetSubject'));
  const notice = forgotten.positions[0] !== undefined ? { position: forgotten.positions[0] } : await firstForgotten(deps.eventStore, subjectId);
  const forgottenAt = forgotten.state.forgotten?.forgottenAt ?? deps.now().toISOString();
  if (alreadyDestroyed) suppressionEntries = forgotten.state.suppressionEntries;

  // 5. every view, and the bus
  const [views, published] = await Promise.all([scrubbedViews(deps, subjectId, notice.position), publishedUpTo(deps, notice.position)]);

  // 6. verification
  const verification = await verify(deps, subjectId);

  const tombstone = await deps.keyStore.find(subjectId);
  const destroyedAt = tombstone?.state === 'destroyed' ? tombstone.tombstone.destroyedAt : null;
  return {
    kind: 'erasure',
    requestId,
    subjectId,
    completedAt: deps.now().toISOString(),
    keys: {
      destroyed: tombstone?.state === 'destroyed',
      destroyedAt,
      keyVersions: tombstone?.state === 'destroyed' ? tombstone.tombstone.keyVersions : [],
      destroyedBy: tombstone?.state === 'destroyed' ? tombstone.tombstone.requestId : null,
      alreadyDestroyed,
    },
    suppression: { entries: suppressionEntries, recorded: suppressionEntries > 0 },
    notification: {
      event: 'SubjectForgotten',
      streamId: privacySubjectStream(subjectId),
      position: notice.position,
      forgottenAt,
      bus: deps.bus.kind,
      topic: deps.bus.kind === 'kafka' ? deps.bus.topic : null,
      published,
    },
    views,
    keyCache: {
      ttlMs: deps.keyCacheTtlMs,
      effectiveEverywhereBy: new Date(new Date(destroyedAt ?? forgottenAt).getTime() + deps.keyCacheTtlMs).toISOString(),
    },
    verification,
  };
}

async function firstForgotten(eventStore: EventStore, subjectId: string): Promise<{ position: number }> {
  const event = (await eventStore.readStream(privacySubjectStream(subjectId))).find((e) => e.type === 'SubjectForgotten');
  if (!event) throw new Error('the privacy stream of an erased subject holds no SubjectForgotten');
  return { position: event.globalPosition };
}

async function scrubbedViews(deps: ErasureDeps, subjectId: string, position: number): Promise<ErasureReceipt['views']> {
  return Promise.all(
    deps.views.map(async ({ name }) => {
      await deps.reader.waitForPosition(name, position, deps.waitMs);
      const at = await deps.reader.position(name);
      const record = await deps.readStore.get(ERASURES_COLLECTION, `${subjectId}:${name}`);
      const counts = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : 0);
      const collections: Record<string, { deleted: number; unlinked: number }> = {};
      for (const [collection, c] of Object.entries((record?.collections ?? {}) as Record<string, Record<string, unknown>>)) {
        collections[collection] = { deleted: counts(c.deleted), unlinked: counts(c.unlinked) };
      }
      return {
        view: name,
        reached: at >= position,
        position: at,
        scrubbed: record ? { deleted: counts(record.deleted), unlinked: counts(record.unlinked), collections } : null,
      };
    }),
  );
}

/** Kafka: whether the relay has published up to the event (waiting up to `waitMs`). In-process: the bus reads the store itself. */
async function publishedUpTo(deps: ErasureDeps, position: number): Promise<boolean> {
  const bus = deps.bus;
  if (bus.kind === 'in-process') return true;
  const deadline = Date.now() + deps.waitMs;
  for (;;) {
    if ((await bus.checkpoints.load(bus.relayCheckpoint ?? 'relay:kafka')) >= position) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens every sealed value of the subject with a keyring that has no cache: none may open. */
async function verify(deps: ErasureDeps, subjectId: string): Promise<ErasureReceipt['verification']> {
  const fresh = new Keyring({ keyStore: deps.keyStore, masterKeys: deps.masterKeys, cacheTtlMs: 0, cacheSize: 1 });
  const lookup = await fresh.lookup(subjectId);
  const events: RecordedEvent[] = await eventsOfSubject(deps.eventStore, subjectId);
  let sealedValues = 0;
  let stillOpening = 0;
  for (const recorded of events) {
    for (const sealed of (recorded.data as SealedEventData).sealed ?? []) {
      if (sealed.subjectId !== subjectId) continue;
      sealedValues++;
      if (lookup.state === 'active' && openValue(lookup.key, recorded.eventId, sealed)) stillOpening++;
    }
  }
  return {
    checkedAt: deps.now().toISOString(),
    passed: lookup.state === 'destroyed' && stillOpening === 0,
    keyStore: lookup.state,
    events: events.length,
    sealedValues,
    stillOpening,
  };
}
