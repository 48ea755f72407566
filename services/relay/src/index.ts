export * from './relay.ts';
export * from './ready-batches.ts';
