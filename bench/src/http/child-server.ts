/**
 * Runs an HTTP server script in a child process (`node --import tsx <script>`), so the
 * load generator in this process does not compete with it for one event loop. The child
 * sends `{ type: 'ready', url }` over IPC, answers control requests (see
 * `serveControlRequests`: CPU usage, CPU profile start/stop) and exits on `{ type: 'stop' }`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type RunningProfile, startProfile } from '../profiler.ts';

export interface ChildServer {
  url: string;
  pid: number;
  /** What the child wrote to stdout and stderr (last 64 KiB). */
  output(): string;
  /** The child's `process.cpuUsage()` (µs of user and system CPU since it started). */
  cpuUsage(): Promise<NodeJS.CpuUsage>;
  /** Starts sampling the child's main thread with the V8 profiler. */
  startProfile(): Promise<void>;
  /** Stops sampling and writes the `.cpuprofile` to `file`. */
  stopProfile(file: string): Promise<void>;
  stop(): Promise<void>;
}

type Control = { type: 'cpu' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string };
interface ControlReply {
  type: 'reply';
  id: number;
  error?: string;
  usage?: NodeJS.CpuUsage;
}

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function serverScript(name: 'crm-server' | 'bare-server'): string {
  return fileURLToPath(new URL(`../servers/${name}.ts`, import.meta.url));
}

export async function startChildServer(script: string, options: { env?: Record<string, string>; startTimeoutMs?: number } = {}): Promise<ChildServer> {
  const child = fork(script, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not become ready`)), options.startTimeoutMs ?? 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      killChild(child);
      reject(new Error(`${error.message}\n--- child output ---\n${output}`));
    };
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message?.type === 'ready' && typeof message.url === 'string') {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    child.once('exit', (code, signal) => fail(new Error(`${script} exited early (code ${code}, signal ${signal})`)));
    child.once('error', fail);
  });

  let nextId = 0;
  function request(control: Control, timeoutMs = 10_000): Promise<ControlReply> {
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`the child did not answer ${control.type}`)), timeoutMs);
      const onMessage = (message: ControlReply) => {
        if (message?.type !== 'reply' || message.id !== id) return;
        done(message.error ? new Error(message.error) : undefined, message);
      };
      const done = (error?: Error, reply?: ControlReply) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        if (error || !reply) reject(error);
        else resolve(reply);
      };
      child.on('message', onMessage);
      child.send({ ...control, id });
    });
  }

  return {
    url,
    pid: child.pid ?? -1,
    output: () => output,
    async cpuUsage() {
      const reply = await request({ type: 'cpu' });
      if (!reply.usage) throw new Error('the child sent no CPU usage');
      return reply.usage;
    },
    async startProfile() {
      await request({ type: 'profile-start' });
    },
    async stopProfile(file) {
      await request({ type: 'profile-stop', file }, 60_000);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => killChild(child), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** For server scripts: answer the parent's control requests (CPU usage, profiling). */
export function serveControlRequests(): void {
  let profile: RunningProfile | undefined;
  const handle = async (message: Control): Promise<Omit<ControlReply, 'type' | 'id'>> => {
    switch (message.type) {
      case 'cpu':
        return { usage: process.cpuUsage() };
      case 'profile-start':
        profile = await startProfile();
        return {};
      case 'profile-stop': {
        if (!profile) throw new Error('no profile was started');
        await profile.stop(message.file);
        profile = undefined;
        return {};
      }
    }
  };
  process.on('message', (message: Control & { id?: number }) => {
    if (typeof message?.id !== 'number') return;
    const id = message.id;
    handle(message).then(
      (reply) => process.send?.({ type: 'reply', id, ...reply }),
      (error: unknown) => process.send?.({ type: 'reply', id, error: String(error) }),
    );
  });
}
