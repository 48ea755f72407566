import {
  commandContract,
  type CommandContract,
  commandRequestSchema,
  DuplicateIdempotencyKey,
  IdempotencyKeyReused,
  subjectIdsAt,
  SubjectErased,
  UnknownCommandType,
  UnknownStream,
  UnsupportedMessageVersion,
  upcastToCurrent,
  WrongExpectedVersion,
} from '@crm/contracts';
import type { AnyCommandHandler, DomainEvent } from '@crm/domain';
import { sealEvent, subjectsCreatedBy, subjectsOfEvent } from '../events/codec.ts';
import type { AppendResult, EventStore, StoredIdempotentResult } from '../ports/event-store.ts';
import type { Keyring } from '../shredding/keyring.ts';
import { StreamStates } from './stream-states.ts';
import { parseOrThrow } from './validation.ts';

export interface CommandRequest {
  type: string;
  /** Schema version the body is written in; default: the current one. */
  version?: number;
  /** The JSON body: the command's fields, plus optional `commandId` and `expectedVersion`. */
  body: unknown;
  /** Principal issuing the command (JWT `sub`). */
  actor: string;
  /** Idempotency-Key header; wins over a `commandId` in the body. */
  idempotencyKey?: string;
  correlationId?: string;
  /**
   * Set only by the privacy service: the command carries out this data-subject request (an
   * objection, say), so a restriction of the subject does not refuse it.
   */
  privacyRequestId?: string;
}

export interface CommandAnswer {
  streamId: string;
  version: number;
  position: number;
  /** True when an earlier command with the same idempotency key already did the work. */
  duplicate?: boolean;
  [extra: string]: unknown;
}

export interface CommandServiceOptions {
  eventStore: EventStore;
  keyring: Keyring;
  handlers: ReadonlyMap<string, AnyCommandHandler>;
  newId: () => string;
  now?: () => Date;
  /** Automatic retries when the stream moved on between read and append (only without a client expectedVersion). */
  conflictRetries?: number;
  /** Checks every decided command before anything is sealed or appended (privacy: restriction, suppression). */
  screen?: CommandScreen;
}

/** What a screen sees of a decided command. */
export interface ScreenedCommand {
  type: string;
  /** The command's fields, validated and upcast (personal values in clear: never log or keep them). */
  command: Record<string, unknown>;
  /** Every existing data subject the command names or writes about (subjects it creates are not among them). */
  subjectIds: readonly string[];
  /** Set when the privacy service issues the command to carry out a data-subject request. */
  privacyRequestId?: string;
}

/**
 * Refuses a command by throwing a CrmError, or lets it through with flags for the answer
 * (e.g. `previously-erased`). Runs after `decide`, so it sees who the command is about, and
 * before any key is created or any event sealed or appended.
 */
export type CommandScreen = (command: ScreenedCommand) => Promise<readonly string[]>;

interface Envelope {
  commandId?: string;
  expectedVersion?: number;
}

/**
 * Runs a command: validate, upcast, check idempotency and erased subjects, load state,
 * decide (pure), seal personal fields per subject, append with an expected version.
 * Nothing is published here: the bus reads committed events from the store.
 */
export class CommandService {
  private readonly states: StreamStates;
  private readonly now: () => Date;

  constructor(private readonly options: CommandServiceOptions) {
    this.states = new StreamStates(options.eventStore);
    this.now = options.now ?? (() => new Date());
  }

  async execute(request: CommandRequest): Promise<CommandAnswer> {
    const contract = commandContract(request.type);
    const handler = this.options.handlers.get(request.type);
    if (!contract || !handler) throw new UnknownCommandType();
    const { command, envelope } = this.parse(contract, request);
    const idempotencyKey = request.idempotencyKey ?? envelope.commandId;
    if (idempotencyKey) {
      const earlier = await this.options.eventStore.findIdempotentResult(idempotencyKey);
      if (earlier) return this.replay(earlier, request.type);
    }
    for (const subjectId of subjectIdsAt(command, contract.subjects)) {
      if (await this.options.keyring.isErased(subjectId)) throw new SubjectErased(subjectId);
    }
    const retries = envelope.expectedVersion === undefined ? (this.options.conflictRetries ?? 5) : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.decideAndAppend(request, handler, command, envelope, idempotencyKey);
      } catch (error) {
        if (error instanceof DuplicateIdempotencyKey && idempotencyKey) {
          const earlier = await this.options.eventStore.findIdempotentResult(idempotencyKey);
          if (earlier) return this.replay(earlier, request.type);
        }
        if (!(error instanceof WrongExpectedVersion) || attempt >= retries) throw error;
      }
    }
  }

  private parse(contract: CommandContract, request: CommandRequest): { command: Record<string, unknown>; envelope: Envelope } {
    const version = request.version ?? contract.version;
    const versionSchema = version === contract.version ? contract.schema : contract.previousVersions.find((p) => p.version === version)?.schema;
    if (!versionSchema) throw new UnsupportedMessageVersion(contract.type, version, contract.version);
    const schema = commandRequestSchema(versionSchema);
    const { commandId, expectedVersion, ...fields } = parseOrThrow(schema, request.body) as Record<string, unknown> & Envelope;
    return {
      command: upcastToCurrent(contract, version, fields),
      envelope: { ...(commandId ? { commandId } : {}), ...(expectedVersion !== undefined ? { expectedVersion } : {}) },
    };
  }

  private replay(earlier: StoredIdempotentResult, type: string): CommandAnswer {
    if (earlier.scope !== type) throw new IdempotencyKeyReused();
    return { ...(earlier.reply as object), streamId: earlier.result.streamId, version: earlier.result.nextExpectedVersion, position: earlier.result.lastPosition, duplicate: true };
  }

  private async decideAndAppend(
    request: CommandRequest,
    handler: AnyCommandHandler,
    command: Record<string, unknown>,
    envelope: Envelope,
    idempotencyKey: string | undefined,
  ): Promise<CommandAnswer> {
    const { keyring, eventStore, newId } = this.options;
    const target = handler.target(command, newId);
    const related: Record<string, unknown> = {};
    for (const reference of handler.references?.(command) ?? []) {
      // Brought up to date (one read of what is new): no expected version guards another stream.
      const loaded = await this.states.load(reference.streamId, reference.decider, { fresh: true });
      if (loaded.version === 0) throw new UnknownStream(reference.field, reference.what);
      related[reference.name] = loaded.state;
    }
    let current = target.create
      ? { state: handler.decider.initialState(), version: 0, position: 0 }
      : await this.states.load(target.streamId, handler.decider);
    if (!target.create && envelope.expectedVersion !== undefined && envelope.expectedVersion !== current.version) {
      // The cache may be behind another process: judge the client's expectation on the store itself.
      current = await this.states.load(target.streamId, handler.decider, { fresh: true });
    }
    if (!target.create && current.version === 0) throw new UnknownStream(target.field ?? 'id', target.what);
    const owner = handler.decider.ownerOf?.(current.state);
    if (owner && (await keyring.isErased(owner))) throw new SubjectErased(owner);
    if (envelope.expectedVersion !== undefined && envelope.expectedVersion !== current.version) {
      throw new WrongExpectedVersion(target.streamId, envelope.expectedVersion, current.version);
    }

    const events: DomainEvent[] = handler.decide(command, current.state, {
      now: this.now().toISOString(),
      newId,
      aggregateId: target.id,
      related,
    });
    const reply: Record<string, unknown> = { ...(handler.reply?.(events) ?? {}) };
    if (this.options.screen) {
      const created = new Set(events.flatMap((event) => subjectsCreatedBy(event)));
      const named = new Set([...subjectIdsAt(command, commandContract(request.type)?.subjects ?? []), ...(owner ? [owner] : [])]);
      for (const event of events) for (const subjectId of subjectsOfEvent(event)) named.add(subjectId);
      for (const subjectId of created) named.delete(subjectId);
      const flags = await this.options.screen({
        type: request.type,
        command,
        subjectIds: [...named],
        ...(request.privacyRequestId ? { privacyRequestId: request.privacyRequestId } : {}),
      });
      // Part of the stored reply: a retry with the same idempotency key answers the same flags.
      if (flags.length > 0) reply.flags = [...flags];
    }
    if (events.length === 0) {
      return { ...reply, streamId: target.streamId, version: current.version, position: current.position };
    }

    const commandId = envelope.commandId ?? newId();
    const toAppend = [];
    for (const event of events) {
      for (const subjectId of subjectsCreatedBy(event)) await keyring.createSubjectKey(subjectId);
      toAppend.push(
        await sealEvent(keyring, event, newId(), {
          subjectIds: subjectsOfEvent(event, owner),
          commandId,
          commandType: request.type,
          actor: request.actor,
          ...(request.correlationId ? { correlationId: request.correlationId } : {}),
        }),
      );
    }
    let result: AppendResult;
    try {
      result = await eventStore.append(target.streamId, toAppend, {
        expectedVersion: target.create ? 'no-stream' : current.version,
        ...(idempotencyKey ? { idempotency: { key: idempotencyKey, scope: request.type, reply } } : {}),
      });
    } catch (error) {
      if (error instanceof WrongExpectedVersion) this.states.evict(target.streamId);
      throw error;
    }
    this.states.advance(target.streamId, handler.decider, current, events, result.nextExpectedVersion, result.lastPosition);
    return { ...reply, streamId: target.streamId, version: result.nextExpectedVersion, position: result.lastPosition };
  }
}
