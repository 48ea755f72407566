export * from './sealing.ts';
export * from './applied-positions.ts';
export * from './generations.ts';
export * from './view-keys.ts';
export * from './view-projection.ts';
export * from './view-reader.ts';
export * from './projections-runner.ts';
