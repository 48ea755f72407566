export * from './event-store.contract.ts';
export * from './key-store.contract.ts';
export * from './checkpoint-store.contract.ts';
export * from './group-commit.contract.ts';
export * from './read-store.contract.ts';
