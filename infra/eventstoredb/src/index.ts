export * from './eventstoredb-event-store.ts';
export { randomStreamPrefix } from './names.ts';
