// Worker threads do not inherit the main thread's TypeScript loader: register it, then
// load the writer itself.
import { register } from 'tsx/esm/api';

register();
await import('./writer-worker.ts');
