import { eventContract, type EventContract, personalFieldsBySubject, subjectIdsAt, upcastToCurrent } from '@crm/contracts';
import type { DomainEvent } from '@crm/domain';
import type { EventMetadata, EventToAppend, RecordedEvent } from '../ports/event-store.ts';
import type { Keyring } from '../shredding/keyring.ts';
import { ERASED_VALUE, isSealedEventData, openPersonalFields, sealPersonalFields } from '../shredding/seal.ts';
import { writePath } from '@crm/contracts';

function contractOf(type: string): EventContract {
  const contract = eventContract(type);
  if (!contract) throw new Error(`No contract for event type ${type}`);
  return contract;
}

/** Every subject an event carries data of or links to, for its clear metadata. */
export function subjectsOfEvent(event: DomainEvent, owner?: string): string[] {
  const contract = contractOf(event.type);
  const ids = new Set(subjectIdsAt(event.data, contract.subjects));
  for (const { subjectId } of personalFieldsBySubject(event.data, contract.personal)) ids.add(subjectId);
  if (owner) ids.add(owner);
  return [...ids];
}

/** Subject ids whose keys must be created before the event can be sealed. */
export function subjectsCreatedBy(event: DomainEvent): string[] {
  return subjectIdsAt(event.data, contractOf(event.type).creates);
}

/** Seals a domain event's personal fields and gives the store's form of it. */
export async function sealEvent(
  keyring: Keyring,
  event: DomainEvent,
  eventId: string,
  metadata: EventMetadata,
): Promise<EventToAppend> {
  const contract = contractOf(event.type);
  const data = await sealPersonalFields(keyring, eventId, contract.personal, event.data as Record<string, unknown>);
  return { eventId, type: event.type, schemaVersion: contract.version, data, metadata };
}

export interface OpenedEvent extends DomainEvent {
  recorded: RecordedEvent;
  /** Subjects whose personal values read as erased in this event. */
  replacedSubjects: string[];
}

/**
 * The domain form of a stored event, upcast to the current version. With a keyring,
 * personal values are opened (or replaced where erased); with `'withheld'`, every
 * personal value reads as erased without any key being touched — for deciders, whose
 * state never depends on personal values.
 */
export async function openEvent(recorded: RecordedEvent, keys: Keyring | 'withheld'): Promise<OpenedEvent> {
  const contract = contractOf(recorded.type);
  if (!isSealedEventData(recorded.data)) throw new Error(`Event ${recorded.eventId} is not in sealed form`);
  let data: Record<string, unknown>;
  let replacedSubjects: string[] = [];
  if (keys === 'withheld') {
    data = structuredClone(recorded.data.plain);
    for (const sealed of recorded.data.sealed) for (const path of sealed.paths) writePath(data, path, ERASED_VALUE);
  } else {
    ({ data, replacedSubjects } = await openPersonalFields(keys, recorded.eventId, recorded.data));
  }
  return {
    type: recorded.type,
    data: upcastToCurrent(contract, recorded.schemaVersion, data),
    recorded,
    replacedSubjects,
  };
}
