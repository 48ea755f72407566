export * from './sqlite-event-store.ts';
export * from './sqlite-key-store.ts';
export * from './sqlite-checkpoint-store.ts';
export * from './sqlite-read-store.ts';
export * from './sqlite-audit-log.ts';
export { openEventStoreConnection, type EventStoreConnectionOptions } from './connection.ts';
export { PAGE_CACHE_KIB } from './page-cache.ts';
