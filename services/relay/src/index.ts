export * from './relay.ts';
export * from './ready-batches.ts';
export * from './relay-config.ts';
