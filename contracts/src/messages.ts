import type { z } from 'zod';
import type { PersonalDataGroup } from './personal-data.ts';
import type { Role } from './roles.ts';

/** An older version of a message: its schema, and how to lift it one version up. */
export interface PreviousVersion {
  version: number;
  /** The schema that version had; commands sent in it are validated against it. */
  schema: z.ZodType;
  /** Turns a payload of this version into one of the next version. Pure. */
  upcast(payload: Record<string, unknown>): Record<string, unknown>;
}

interface MessageContract<S extends z.ZodType> {
  type: string;
  /** The current version. Payloads of older versions are upcast to it on read. */
  version: number;
  schema: S;
  description: string;
  /** Older versions, oldest first; each lifts to the next. */
  previousVersions: PreviousVersion[];
}

export interface EventContract<S extends z.ZodType = z.ZodType> extends MessageContract<S> {
  kind: 'event';
  /** Personal fields and the subject each belongs to; sealed under that subject's key. Null means erased. */
  personal: PersonalDataGroup[];
  /** Paths of every subject id the event carries data of or links to. */
  subjects: string[];
  /** Paths of subject ids the event brings into being; their keys are created before sealing. */
  creates: string[];
}

export interface CommandContract<S extends z.ZodType = z.ZodType> extends MessageContract<S> {
  kind: 'command';
  /** Roles allowed to send it (an allow-list). */
  roles: readonly Role[];
  /** Paths of personal fields in the command (their subject is decided by the domain). */
  personal: string[];
  /** Paths of ids of existing data subjects the command names; erased ones are refused. */
  subjects: string[];
  /** The aggregate the command addresses, for documentation. */
  aggregate: string;
}

export type CommandOf<C> = C extends CommandContract<infer S> ? z.output<S> : never;
export type EventOf<C> = C extends EventContract<infer S> ? z.output<S> : never;

export function defineEvent<S extends z.ZodType>(
  contract: Omit<EventContract<S>, 'kind' | 'previousVersions' | 'creates' | 'personal'> &
    Partial<Pick<EventContract<S>, 'previousVersions' | 'creates' | 'personal'>>,
): EventContract<S> {
  return { kind: 'event', previousVersions: [], creates: [], personal: [], ...contract };
}

export function defineCommand<S extends z.ZodType>(
  contract: Omit<CommandContract<S>, 'kind' | 'previousVersions' | 'personal' | 'subjects'> &
    Partial<Pick<CommandContract<S>, 'previousVersions' | 'personal' | 'subjects'>>,
): CommandContract<S> {
  return { kind: 'command', previousVersions: [], personal: [], subjects: [], ...contract };
}

/**
 * Lifts a payload written in `fromVersion` to the contract's current version by applying
 * each upcaster in turn. Throws RangeError for a version the contract never had.
 */
export function upcastToCurrent(
  contract: MessageContract<z.ZodType>,
  fromVersion: number,
  payload: Record<string, unknown>,
): Record<string, unknown> {
  if (fromVersion === contract.version) return payload;
  const start = contract.previousVersions.findIndex((p) => p.version === fromVersion);
  if (start < 0 || fromVersion > contract.version) {
    throw new RangeError(`${contract.type} has no version ${fromVersion}`);
  }
  return contract.previousVersions.slice(start).reduce((lifted, previous) => previous.upcast(lifted), payload);
}
