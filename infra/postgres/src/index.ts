export * from './postgres-event-store.ts';
export * from './postgres-key-store.ts';
export * from './postgres-checkpoint-store.ts';
