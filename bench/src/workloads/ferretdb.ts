/**
 * FerretDB (MongoDB protocol) for the view-rebuild workload. CRM_MONGO_URL when set (left
 * alone). Otherwise a FerretDB of the workload's own, started with infra/local/ferretdb.mjs
 * (`install()`, cached in .cache/, then `start()` on a free loopback port and a temp folder)
 * rather than `engines.mjs up ferretdb`: on a shared machine the engines.mjs instance is
 * anyone's to stop (a test run's `engines.mjs down` stopped it in the middle of a run here),
 * and other suites' traffic on it would be measured too. It is stopped, and its folder
 * removed, after the workload's last run, or when the process exits (Ctrl-C included:
 * main.ts exits on SIGINT/SIGTERM, and the exit hook signals it synchronously).
 * Each rebuild gets a fresh database, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { noteEngine } from '../machine.ts';

const FERRETDB_MODULE = pathToFileURL(fileURLToPath(new URL('../../../infra/local/ferretdb.mjs', import.meta.url))).href;
const STATE_FILE = fileURLToPath(new URL('../../../.cache/engines/state.json', import.meta.url));

/** What infra/local/ferretdb.mjs exports and this file uses (it is plain JavaScript). */
interface FerretDbModule {
  install(): Promise<unknown>;
  start(options?: { dir?: string }): Promise<{ url: string; pid: number; dir: string; stop(options?: { keepData?: boolean }): Promise<unknown> }>;
}

interface OwnFerretDb {
  url: string;
  pid: number;
  dir: string;
  stop(): Promise<unknown>;
  exitHook: () => void;
}

let own: OwnFerretDb | undefined;

export interface FerretDb {
  url: string;
  /** The server's pid when known (to read its CPU time). */
  pid: number | undefined;
}

/** CRM_MONGO_URL when set; otherwise the workload's own FerretDB, started on first use. */
export async function ensureFerretDb(log: (line: string) => void): Promise<FerretDb> {
  const given = process.env.CRM_MONGO_URL;
  if (given) {
    await noteEngine('ferretdb', given); // its version, for the results' machine section
    return { url: given, pid: enginesMjsPid(given) };
  }
  if (own) return { url: own.url, pid: own.pid };
  log('   CRM_MONGO_URL not set: starting a FerretDB of this workload\'s own (infra/local/ferretdb.mjs), stopped after its last run');
  const ferretdb = (await import(FERRETDB_MODULE)) as FerretDbModule;
  await ferretdb.install();
  const server = await ferretdb.start();
  const exitHook = () => {
    // On the way out (process.exit): synchronous only. SIGTERM is FerretDB's clean stop.
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(server.dir, { recursive: true, force: true });
  };
  process.once('exit', exitHook);
  own = { url: server.url, pid: server.pid, dir: server.dir, stop: () => server.stop(), exitHook };
  log(`   ferretdb: ${server.url} (pid ${server.pid})`);
  await noteEngine('ferretdb', server.url); // read while it is up: it is stopped before the run ends
  return { url: own.url, pid: own.pid };
}

/** Stops the workload's own FerretDB, if it started one (never one named by CRM_MONGO_URL). */
export async function stopOwnFerretDb(log: (line: string) => void): Promise<void> {
  const server = own;
  own = undefined;
  if (!server) return;
  process.removeListener('exit', server.exitHook);
  log(`   ferretdb: stopping the workload's own (pid ${server.pid})`);
  await server.stop();
}

/** Best effort: the pid of an engines.mjs FerretDB serving `url`, from its state file. */
function enginesMjsPid(url: string): number | undefined {
  try {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { engines?: Record<string, { url?: string; pid?: number }> };
    const entry = state.engines?.ferretdb;
    return entry && entry.url === url && typeof entry.pid === 'number' ? entry.pid : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh database name, `crm_bench_<prefix>_<random>` (the read store's rule: letters, digits, _ and -, ≤ 63). */
export function freshDatabase(prefix: string): string {
  return `crm_bench_${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function dropDatabase(url: string, database: string): Promise<void> {
  if (!database.startsWith('crm_bench_')) throw new RangeError(`not a bench database: ${database}`);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}

