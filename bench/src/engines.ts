/**
 * The real engines (PostgreSQL, Kafka, FerretDB) some workloads need, on loopback. URLs come from
 * CRM_PG_URL / CRM_KAFKA_URL / CRM_MONGO_URL when set; otherwise `node infra/local/engines.mjs up <names>`
 * brings up (or reuses) them and its `export` lines are parsed. An engine this process
 * started is stopped again by `stopStartedEngines` (`engines.mjs down <names>`); one that was
 * already running (someone else's) is never stopped.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type EngineName = 'postgres' | 'kafka' | 'ferretdb';

const ENGINES_SCRIPT = fileURLToPath(new URL('../../infra/local/engines.mjs', import.meta.url));
const STATE_FILE = fileURLToPath(new URL('../../.cache/engines/state.json', import.meta.url));
const VARIABLE: Record<EngineName, string> = { postgres: 'CRM_PG_URL', kafka: 'CRM_KAFKA_URL', ferretdb: 'CRM_MONGO_URL' };

/** Engines this process started, to stop at the end. */
const started = new Set<EngineName>();

function runEngines(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ENGINES_SCRIPT, ...args], { maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`engines.mjs ${args.join(' ')} failed (${error.message}):\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** `export NAME=value` lines (values possibly single-quoted, as engines.mjs prints them). */
export function parseExports(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2]!;
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1).replace(/'\\''/g, "'");
    out[match[1]!] = value;
  }
  return out;
}

/**
 * Makes sure the named engines are reachable and their variables set in `process.env`.
 * Returns what was started here (empty when everything came from the environment or was
 * already running).
 */
export async function ensureEngines(names: readonly EngineName[], log: (line: string) => void): Promise<EngineName[]> {
  const missing = [...new Set(names)].filter((n) => !process.env[VARIABLE[n]]);
  if (missing.length === 0) return [];
  log(`   engines: ${missing.map((n) => VARIABLE[n]).join(', ')} not set: node infra/local/engines.mjs up ${missing.join(' ')}`);
  const { stdout, stderr } = await runEngines(['up', ...missing]);
  const env = parseExports(stdout);
  const now: EngineName[] = [];
  for (const name of missing) {
    // engines.mjs logs "<name>: started in …" for a server it started, "<name>: already running" otherwise.
    if (new RegExp(`^\\[engines\\] ${name}: started in `, 'm').test(stderr)) {
      started.add(name);
      now.push(name);
    }
    const value = env[VARIABLE[name]];
    if (!value) throw new Error(`engines.mjs up ${name} printed no ${VARIABLE[name]}:\n${stderr}`);
    process.env[VARIABLE[name]] = value;
  }
  log(`   engines: ${missing.map((n) => `${n} ${started.has(n) ? 'started (stopped again at the end)' : 'already running (left alone)'}`).join(', ')}`);
  return now;
}

/** Stops the engines this process started (and only those). */
export async function stopStartedEngines(log: (line: string) => void): Promise<void> {
  if (started.size === 0) return;
  const names = [...started];
  started.clear();
  log(`engines: stopping what this run started: node infra/local/engines.mjs down ${names.join(' ')}`);
  await runEngines(['down', ...names]);
}

/** Best effort: the pid of the engine serving `url`, from engines.mjs' state file (to read its CPU time). */
export function enginePid(name: EngineName, url: string | undefined): number | undefined {
  try {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { engines?: Record<string, { url?: string; pid?: number }> };
    const entry = state.engines?.[name];
    return entry && entry.url === url && typeof entry.pid === 'number' ? entry.pid : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process and its direct children (e.g. PostgreSQL's postmaster and its
 * backends, WAL writer, checkpointer). A child that exits between two readings takes its
 * time with it, so compare readings over a phase in which the children stay (a pool's
 * connections are opened during the warm-up).
 */
export function processTreeCpuSeconds(rootPid: number | undefined): number | undefined {
  const own = processCpuSeconds(rootPid);
  if (own === undefined) return undefined;
  let total = own;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== rootPid) continue;
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
