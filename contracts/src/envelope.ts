import { z } from 'zod';

/**
 * Optional members every command request body may carry beside the command's own fields.
 * `commandId` makes a retry safe (like the Idempotency-Key header); `expectedVersion`
 * is the stream version the sender last saw (optimistic concurrency).
 */
export const commandEnvelope = {
  commandId: z.uuid().optional().describe('idempotency: a retry with the same commandId appends once and answers the same'),
  expectedVersion: z.int().min(0).optional().describe('the stream version the sender expects; 409 if it moved on'),
};
export const ENVELOPE_FIELDS = Object.keys(commandEnvelope);

/** Upper bound of a command request body, in bytes. */
export const MAX_COMMAND_BODY_BYTES = 64 * 1024;
