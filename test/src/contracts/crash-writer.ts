/**
 * Child process of the crash-safety case. Opens the store named on the command line and
 * appends batches of 5-20 events from several concurrent writers until it is killed. Each
 * event carries its batch id, the batch size and its index, so the parent can tell a torn
 * batch from a whole one. After each append resolves it prints `{"committed":{...}}`.
 *
 * argv[2]: JSON `CrashWriterArgs`.
 */
import { randomUUID } from 'node:crypto';
import type { EventToAppend } from '@crm/core';
import { CRASH_PROBE_TYPE, type CrashProbeData, type CrashWriterArgs } from './crash-probe.ts';
import { openStoreWith } from './open-store.ts';

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as CrashWriterArgs;
  const store = await openStoreWith(args.opener, args.locator);
  const run = randomUUID();
  let batches = 0;
  const writer = async (w: number): Promise<never> => {
    // Two writers per stream, so batches also race for the same stream.
    const streamId = `crash-${run}-${w % 2}`;
    for (;;) {
      const batchId = `${run}/${w}/${batches++}`;
      const batchSize = 5 + Math.floor(Math.random() * 16);
      const events: EventToAppend[] = Array.from({ length: batchSize }, (_, index) => ({
        eventId: randomUUID(),
        type: CRASH_PROBE_TYPE,
        schemaVersion: 1,
        data: { batchId, batchSize, index } satisfies CrashProbeData,
        metadata: { subjectIds: [] },
      }));
      await store.append(streamId, events, { expectedVersion: 'any' });
      // Pipes are written synchronously on POSIX, so a printed line means the append had resolved.
      process.stdout.write(`${JSON.stringify({ committed: { batchId, batchSize } })}\n`);
    }
  };
  await Promise.all(Array.from({ length: args.writers }, (_, w) => writer(w)));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
