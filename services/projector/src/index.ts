export * from './sealing.ts';
export * from './projector.ts';
