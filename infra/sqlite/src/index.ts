export * from './sqlite-event-store.ts';
export * from './sqlite-key-store.ts';
