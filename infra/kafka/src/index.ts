export * from './kafka-url.ts';
export * from './event-message.ts';
export * from './dead-letter.ts';
export * from './kafka-publisher.ts';
export * from './kafka-consumer.ts';
// How a dead letter's `crm-dlq-kind` header is derived from an error; kept on this package's surface.
export { errorKindOf } from '@crm/core';
