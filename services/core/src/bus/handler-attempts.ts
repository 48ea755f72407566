/**
 * Runs a consumer's handler with retries, for every BusConsumer adapter (the port promises
 * "a throw is retried, then dead-lettered"). What is kept of a failure is the error's *name*
 * only: messages of errors thrown by handlers may quote personal data they opened, and a
 * dead letter, a header or a log line must never carry it.
 */
import { pause } from '../timing/pause.ts';

export interface AttemptPolicy {
  maxAttempts: number;
  /** Delay before the second attempt; doubled for each further one. */
  retryDelayMs: number;
  signal: AbortSignal;
  /** Called while waiting between attempts, e.g. to keep a group membership alive. */
  beforeRetry?(): Promise<void>;
}

export type HandlerOutcome =
  | { kind: 'handled'; attempts: number }
  | { kind: 'failed'; attempts: number; errorKind: string }
  /** Stopped (aborted) before the handler succeeded: the event must be delivered again, not skipped. */
  | { kind: 'stopped' };

export async function attemptHandler(run: () => Promise<void>, policy: AttemptPolicy): Promise<HandlerOutcome> {
  let errorKind = 'Error';
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (policy.signal.aborted) return { kind: 'stopped' };
    try {
      await run();
      return { kind: 'handled', attempts: attempt };
    } catch (error) {
      errorKind = errorKindOf(error);
    }
    if (attempt < policy.maxAttempts) {
      await policy.beforeRetry?.();
      await pause(policy.retryDelayMs * 2 ** (attempt - 1), policy.signal);
    }
  }
  return { kind: 'failed', attempts: policy.maxAttempts, errorKind };
}

/** An error's name when it is a plain identifier (a class name), else a generic kind. */
export function errorKindOf(error: unknown): string {
  if (error instanceof Error) return /^[A-Za-z][\w.-]{0,63}$/.test(error.name) ? error.name : 'Error';
  return `thrown-${typeof error}`;
}
