import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface RelayProcess {
  child: ChildProcess;
  output(): string;
  /** The last position the relay logged as published and checkpointed; 0 before its first batch. */
  lastPublished(): number;
  /** The checkpoint the relay started from, once it logged its start. */
  startedFrom(): number | undefined;
  /** Resolves with how the process ended (exit code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `services/relay/src/main.ts` as its own process, logging at debug so that each published batch shows. */
export function startRelayProcess(env: Record<string, string>): RelayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/relay/src/main.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CRM_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  let lastPublished = 0;
  let startedFrom: number | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { msg?: string; lastPosition?: number; from?: number };
      if (entry.msg === 'published' && typeof entry.lastPosition === 'number') lastPublished = entry.lastPosition;
      if (entry.msg === 'relay started' && typeof entry.from === 'number') startedFrom = entry.from;
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, lastPublished: () => lastPublished, startedFrom: () => startedFrom, exited };
}
