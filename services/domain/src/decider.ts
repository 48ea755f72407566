/**
 * A decider in the sense of Emmett and Jérémie Chassaing: pure functions only.
 * `decide` turns a command and the current state into new events (or refuses with a
 * `BusinessRuleViolation`); `evolve` folds an event into the state.
 *
 * Events reach `evolve` opened: personal fields hold their value, or null where the
 * subject's key was destroyed. No state may depend on a personal value, so folding
 * an erased history gives the same state as folding the original one.
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

export interface Decider<State, Event extends DomainEvent> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  /** The data subject a stream is about (a person customer, an employee), if any: commands on an erased subject's stream are refused. */
  ownerOf?(state: State): string | undefined;
}

/** What a decision may use beyond command and state, passed in so that `decide` stays pure. */
export interface DecisionContext {
  /** ISO time of the decision. */
  now: string;
  /** A fresh UUID v7. */
  newId(): string;
  /** The id of the aggregate the command targets (fresh for `create` commands). */
  aggregateId: string;
  /** States of other streams the command refers to (see `CommandHandler.references`), by reference name. */
  related: Record<string, unknown>;
}

/** Another stream a command refers to, loaded before `decide` runs. */
export interface Reference {
  name: string;
  streamId: string;
  /** The command field that names it, for a 404 that says which field. */
  field: string;
  /** What it is, e.g. 'customer'. */
  what: string;
  /** Folds the referenced stream. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  decider: Decider<any, any>;
}

export interface CommandHandler<Command, State, Event extends DomainEvent> {
  decider: Decider<State, Event>;
  /**
   * The stream the command writes to. `create` commands start a new stream under a fresh
   * id (the stream must not exist); the others address an existing stream.
   */
  target(command: Command, newId: () => string): Target;
  references?(command: Command): Reference[];
  decide(command: Command, state: State, context: DecisionContext): Event[];
  /** Extra members of the answer (for example the new subjectId); never personal data. */
  reply?(events: Event[]): Record<string, unknown>;
}

/** A command handler with its types erased, as the command pipeline holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommandHandler = CommandHandler<any, any, DomainEvent>;

export function fold<State, Event extends DomainEvent>(decider: Decider<State, Event>, events: Iterable<Event>): State {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

export interface Target {
  /** The aggregate id (fresh for `create`). */
  id: string;
  streamId: string;
  /** True when the command starts a new stream; false when it needs an existing one. */
  create: boolean;
  /** The command field naming an existing stream, for a 404 that says which field. */
  field?: string;
  /** What the stream is, e.g. 'customer'. */
  what: string;
}
