export * from './mongo-read-store.ts';
