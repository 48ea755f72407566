export * from './stats.ts';
export * from './workload.ts';
export * from './results.ts';
export * from './machine.ts';
export { storeAppend, runStoreScenario, storeAppendConfig } from './workloads/store-append.ts';
export { httpCommands, httpConfig } from './workloads/http-commands.ts';
