export * from './privacy-index.ts';
export * from './suppression.ts';
export * from './subject-events.ts';
export * from './decisions.ts';
export * from './erasure.ts';
export * from './privacy-service.ts';
export * from './export.ts';
