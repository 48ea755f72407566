/**
 * Runs the privacy deciders: read the stream, fold, decide, seal, append with the expected
 * version (retrying when another process moved the stream on), then wait until this
 * process's privacy index has seen the events. The privacy commands are not HTTP commands,
 * so they do not pass through the CommandService; they share its sealing and its rules.
 */
import { deletePath, eventContract, personalFieldsBySubject, SubjectErased, WrongExpectedVersion } from '@crm/contracts';
import { type EventStore, type Keyring, type Logger, openEvent, sealEvent, subjectsOfEvent } from '@crm/core';
import { type CommandHandler, type Decider, type DomainEvent, fold } from '@crm/domain';
import type { PrivacyIndex } from './privacy-index.ts';

export interface Decided<State, Event extends DomainEvent> {
  streamId: string;
  /** The stream's state after the decision. */
  state: State;
  /** What was appended (empty when the decision changed nothing). */
  events: Event[];
  version: number;
  /** The global position of each appended event, in order. */
  positions: number[];
}

export interface DecisionsOptions {
  eventStore: EventStore;
  keyring: Keyring;
  index: PrivacyIndex;
  logger: Logger;
  now: () => Date;
  newId: () => string;
}

export interface DecisionMeta {
  /** The internal command type, recorded in the events' metadata. */
  type: string;
  /** The principal (JWT `sub`) acting. */
  actor: string;
  correlationId?: string;
}

const CONFLICT_RETRIES = 5;

/**
 * The event without the personal values of subjects whose key is destroyed: nothing can be
 * sealed under their key any more (a reason given after the erasure is not kept).
 */
async function withoutErasedSubjects(keyring: Keyring, event: DomainEvent): Promise<DomainEvent> {
  const contract = eventContract(event.type);
  if (!contract || contract.personal.length === 0) return event;
  let data: Record<string, unknown> | undefined;
  for (const { subjectId, paths } of personalFieldsBySubject(event.data, contract.personal)) {
    if (!(await keyring.isErased(subjectId))) continue;
    data ??= structuredClone(event.data as Record<string, unknown>);
    for (const path of paths) deletePath(data, path);
  }
  return data ? { type: event.type, data } : event;
}

export function createDecisions(options: DecisionsOptions) {
  const { eventStore, keyring, index, now, newId } = options;

  async function decide<C, S, E extends DomainEvent>(handler: CommandHandler<C, S, E>, command: C, meta: DecisionMeta): Promise<Decided<S, E>> {
    const target = handler.target(command, newId);
    for (let attempt = 0; ; attempt++) {
      const recorded = target.create ? [] : await eventStore.readStream(target.streamId);
      const opened = await Promise.all(recorded.map((r) => openEvent(r, 'withheld')));
      const state = fold(handler.decider, opened as unknown as E[]);
      const version = recorded.at(-1)?.streamVersion ?? 0;
      const events = handler.decide(command, state, { now: now().toISOString(), newId, aggregateId: target.id, related: {} });
      const after = events.reduce((s, e) => handler.decider.evolve(s, e), state);
      if (events.length === 0) return { streamId: target.streamId, state: after, events, version, positions: [] };
      try {
        const commandId = newId();
        const toAppend = [];
        for (const event of events) {
          const sealable = await withoutErasedSubjects(keyring, event);
          toAppend.push(
            await sealEvent(keyring, sealable, newId(), {
              subjectIds: subjectsOfEvent(event),
              commandId,
              commandType: meta.type,
              actor: meta.actor,
              ...(meta.correlationId ? { correlationId: meta.correlationId } : {}),
            }),
          );
        }
        const result = await eventStore.append(target.streamId, toAppend, { expectedVersion: version === 0 ? 'no-stream' : version });
        // One append takes consecutive positions.
        const positions = events.map((_, i) => result.firstPosition + i);
        if (!(await index.caughtUp(result.lastPosition))) {
          options.logger.warn('privacy index is behind its own append', { stream: target.streamId, position: result.lastPosition });
        }
        return { streamId: target.streamId, state: after, events, version: result.nextExpectedVersion, positions };
      } catch (error) {
        // A key destroyed between the check and the seal: the next attempt leaves the value out.
        if (error instanceof SubjectErased && attempt < CONFLICT_RETRIES) continue;
        if (!(error instanceof WrongExpectedVersion) || target.create || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  /** The current state of a stream, folded (personal values withheld). */
  async function load<S, E extends DomainEvent>(decider: Decider<S, E>, streamId: string): Promise<{ state: S; version: number }> {
    const recorded = await eventStore.readStream(streamId);
    const opened = await Promise.all(recorded.map((r) => openEvent(r, 'withheld')));
    return { state: fold(decider, opened as unknown as E[]), version: recorded.at(-1)?.streamVersion ?? 0 };
  }

  return { decide, load };
}

export type Decisions = ReturnType<typeof createDecisions>;
