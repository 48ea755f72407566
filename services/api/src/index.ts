export * from './server.ts';
export * from './http/app.ts';
export * from './http/auth.ts';
export * from './dev-token.ts';
export * from './dev-secret.ts';
export * from './demo.ts';
export * from './projectors.ts';
