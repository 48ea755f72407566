export * from './key-store.contract.ts';
