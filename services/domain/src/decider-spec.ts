import assert from 'node:assert/strict';
import type { CommandHandler, DecisionContext, DomainEvent } from './decider.ts';
import { fold } from './decider.ts';

/**
 * Given/when/then for command handlers: given past events, when a command is decided,
 * then these events follow (or the command is refused). Ids and time are fixed, so the
 * expectations are exact.
 */
export function decisionSpec<C, S, E extends DomainEvent>(handler: CommandHandler<C, S, E>, related: Record<string, unknown> = {}) {
  return (given: E[]) => ({
    when(command: C) {
      let counter = 0;
      const context: DecisionContext = {
        now: '2026-05-04T10:00:00.000Z',
        newId: () => `00000000-0000-7000-8000-${String(++counter).padStart(12, '0')}`,
        aggregateId: 'aggregate-id',
        related,
      };
      const decide = () => handler.decide(command, fold(handler.decider, given), context);
      return {
        then(expected: E[]) {
          assert.deepEqual(decide(), expected);
        },
        thenRefused(rule: string) {
          assert.throws(decide, (error: unknown) => (error as { rule?: string }).rule === rule);
        },
      };
    },
  });
}
