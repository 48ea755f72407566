export * from './ports/event-store.ts';
export * from './ports/key-store.ts';
export * from '@crm/contracts/errors';
