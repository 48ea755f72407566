/** Retention schedules at work: the facts, the schedule, the scheduler and its erasure. */
export * from './retention-facts.ts';
export * from './retention-schedule.ts';
export * from './retention-scheduler.ts';
export * from './retention-erasure.ts';
