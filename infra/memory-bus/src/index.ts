export * from './in-process-bus.ts';
export * from './dead-letters.ts';
