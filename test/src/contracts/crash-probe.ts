import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@crm/core';
import type { EventStoreOpener } from './event-store-harness.ts';

/** Parent side of the crash-safety case; the child is `crash-writer.ts`. */

export const CRASH_PROBE_TYPE = 'CrashProbe';

export interface CrashWriterArgs {
  opener: EventStoreOpener;
  locator: unknown;
  writers: number;
}

export interface CrashProbeData {
  batchId: string;
  batchSize: number;
  index: number;
}

export interface CommittedBatch {
  batchId: string;
  batchSize: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const CRASH_WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/**
 * Starts a crash writer, lets it report `killAfterBatches` committed appends, waits up to
 * `extraMs` more while it keeps writing, then kills it with SIGKILL. Returns the batches it
 * reported as committed.
 */
export async function killWriterMidFlight(
  args: CrashWriterArgs,
  killAfterBatches: number,
  extraMs: number,
): Promise<CommittedBatch[]> {
  // cwd here so that `--import tsx` resolves from this package.
  const child = spawn(process.execPath, ['--import', 'tsx', CRASH_WRITER, JSON.stringify(args)], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const committed: CommittedBatch[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  let enoughWritten!: () => void;
  const started = new Promise<void>((resolve) => (enoughWritten = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = parseLine(line);
    if (message?.committed) committed.push(message.committed);
    if (committed.length >= killAfterBatches) enoughWritten();
  });

  const early = await Promise.race([started.then(() => undefined), exited]);
  if (early) {
    assert.fail(`crash writer exited on its own (${early.code ?? early.signal}) before the kill:\n${stderr}`);
  }
  await new Promise((resolve) => setTimeout(resolve, extraMs));
  child.kill('SIGKILL');
  const end = await exited;
  assert.equal(end.signal, 'SIGKILL', `crash writer ended by itself (${end.code}) instead of the kill:\n${stderr}`);
  return committed;
}

function parseLine(line: string): { committed?: CommittedBatch } | undefined {
  try {
    return JSON.parse(line) as { committed?: CommittedBatch };
  } catch {
    return undefined; // a line cut short by the kill: its append was never acknowledged
  }
}

/**
 * Asserts what a crash may never leave behind: a gap in global positions or stream versions,
 * a torn batch, or a lost batch the writer had been told was committed.
 */
export function assertCrashSurvivorsWhole(events: RecordedEvent[], committed: CommittedBatch[]): void {
  events.forEach((event, i) => assert.equal(event.globalPosition, i + 1, 'global positions are gap-free from 1'));

  const streamVersions = new Map<string, number>();
  for (const event of events) {
    const previous = streamVersions.get(event.streamId) ?? 0;
    assert.equal(event.streamVersion, previous + 1, `stream ${event.streamId} has no version gap`);
    streamVersions.set(event.streamId, event.streamVersion);
  }

  const batches = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    if (event.type !== CRASH_PROBE_TYPE) continue;
    const { batchId } = event.data as CrashProbeData;
    batches.set(batchId, [...(batches.get(batchId) ?? []), event]);
  }
  for (const [batchId, batch] of batches) {
    const size = (batch[0]?.data as CrashProbeData).batchSize;
    assert.equal(batch.length, size, `batch ${batchId} is whole: ${batch.length} of ${size} events survived`);
    batch.forEach((event, i) => {
      const data = event.data as CrashProbeData;
      assert.equal(data.index, i, `batch ${batchId} keeps its order`);
      assert.equal(event.streamId, batch[0]?.streamId, `batch ${batchId} stays in one stream`);
      assert.equal(event.streamVersion, (batch[0]?.streamVersion ?? 0) + i, `batch ${batchId} has consecutive versions`);
    });
  }
  for (const { batchId, batchSize } of committed) {
    assert.equal(batches.get(batchId)?.length, batchSize, `batch ${batchId} was acknowledged, so it must survive`);
  }
}
