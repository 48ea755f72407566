import type { AnyCommandHandler } from './decider.ts';
import { customerHandlers } from './customer.ts';
import { dealHandlers } from './deal.ts';
import { employeeHandlers } from './employee.ts';
import { serviceCaseHandlers } from './service-case.ts';

export * from './decider.ts';
export * from './streams.ts';
export * from './customer.ts';
export * from './service-case.ts';
export * from './deal.ts';
export * from './employee.ts';
export * from './privacy-request.ts';
export * from './privacy-subject.ts';
export { ensure } from './rules.ts';

/** The handler of every command type; the command pipeline looks commands up here. */
export const commandHandlers: ReadonlyMap<string, AnyCommandHandler> = new Map(
  Object.entries({ ...customerHandlers, ...serviceCaseHandlers, ...dealHandlers, ...employeeHandlers }),
);
