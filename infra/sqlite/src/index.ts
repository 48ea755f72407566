export * from './sqlite-event-store.ts';
