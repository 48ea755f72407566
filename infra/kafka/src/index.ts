export * from './kafka-url.ts';
export * from './event-message.ts';
export * from './dead-letter.ts';
export * from './kafka-publisher.ts';
export * from './kafka-consumer.ts';
export { errorKindOf } from './handler-attempts.ts';
