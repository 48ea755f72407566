export * from './stats.ts';
export * from './workload.ts';
export * from './results.ts';
export * from './machine.ts';
export { storeAppend, runStoreScenario, storeAppendConfig } from './workloads/store-append.ts';
export { httpCommands, httpConfig } from './workloads/http-commands.ts';
export { pgStoreAppend, pgStoreAppendConfig, runRawScenario } from './workloads/pg-store-append.ts';
export { kafkaRelay, kafkaRelayConfig } from './workloads/kafka-relay.ts';
export { ensureEngines, stopStartedEngines, parseExports } from './engines.ts';
