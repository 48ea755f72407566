export * from './config.ts';
export * from './runtime.ts';
