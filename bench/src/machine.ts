/** The machine and software a result was measured on. */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import type { EngineName } from './engines.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  kernel: string;
  arch: string;
  node: string;
  sqlite: string;
  betterSqlite3: string;
  /** Where temp stores live, and its file system: fsync cost depends on it. */
  tmpdir: string;
  tmpdirFileSystem: string;
  git: { commit: string; dirty: boolean } | undefined;
  /** Versions of the client libraries and the peer (package name → version, "not installed"). */
  libraries: Record<string, string>;
  /**
   * The engines' own versions. Engines come up per workload, so main.ts fills this in at the
   * end of the run (`engineVersions()`); absent in result files written before it was recorded.
   */
  engines?: Record<EngineName, EngineVersion>;
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  const require = createRequire(import.meta.url);
  const betterSqlite3 = (require('better-sqlite3/package.json') as { version: string }).version;
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    platform: os.platform(),
    kernel: os.release(),
    arch: os.arch(),
    node: process.version,
    sqlite,
    betterSqlite3,
    tmpdir: os.tmpdir(),
    tmpdirFileSystem: fileSystemOf(os.tmpdir()),
    git: gitState(),
    libraries: libraryVersions(),
  };
}

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The drivers and servers' clients the workloads use, resolved from the bench package. */
const BENCH_LIBRARIES = ['pg', 'kafkajs', 'mongodb', 'express', 'autocannon'];
/** The peer lives in a workspace of its own (bench-emmett: other uuid major), so it is resolved from there. */
const PEER_PACKAGE = '@crm/bench-emmett';
const PEER_LIBRARIES = ['@event-driven-io/emmett', '@event-driven-io/emmett-postgresql', '@event-driven-io/pongo', '@event-driven-io/dumbo'];

function libraryVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of BENCH_LIBRARIES) out[name] = packageVersion(name, BENCH_DIR);
  const peerDir = packageDir(PEER_PACKAGE, BENCH_DIR);
  for (const name of PEER_LIBRARIES) out[name] = peerDir ? packageVersion(name, peerDir) : 'not installed';
  return out;
}

/**
 * The folder of package `name` as Node would find it from `from` (nearest `node_modules` upwards).
 * Walked by hand rather than `require.resolve('<name>/package.json')`: packages with an
 * `exports` map (Emmett's) refuse that subpath.
 */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

function packageVersion(name: string, from: string): string {
  const dir = packageDir(name, from);
  if (!dir) return 'not installed';
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
}

/** Linux only: the type of the longest mount point containing `path`. */
function fileSystemOf(path: string): string {
  try {
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount || !type) continue;
      const inside = path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (inside && mount.length > best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

function gitState(): MachineInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return undefined;
  }
}

/** How busy the machine is apart from us: other processes skew every figure on a small machine. */
export interface SystemLoad {
  at: string;
  loadAverage1m: number;
  /** Linux PSI: share of the last 10 s in which some runnable task waited for a CPU (%). */
  cpuPressureAvg10: number | undefined;
}

export function systemLoad(): SystemLoad {
  let cpuPressureAvg10: number | undefined;
  try {
    const match = /^some avg10=([0-9.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (match) cpuPressureAvg10 = Number(match[1]);
  } catch {
    // not Linux, or PSI disabled
  }
  return { at: new Date().toISOString(), loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)), cpuPressureAvg10 };
}

/** An engine's version as recorded with the results. */
export interface EngineVersion {
  /** The server's own version; "unknown: …" when it could not be read; "not used in this run". */
  version: string;
  /** How `version` was read (e.g. `SHOW server_version`). */
  source?: string;
  /** The workloads that used the engine in this run. */
  usedBy: string[];
}

const ENGINES: EngineName[] = ['postgres', 'kafka', 'ferretdb'];
/** The same variables engines.ts sets (it keeps its map private). */
const ENGINE_URL_VARIABLE: Record<EngineName, string> = { postgres: 'CRM_PG_URL', kafka: 'CRM_KAFKA_URL', ferretdb: 'CRM_MONGO_URL' };
const STATE_FILE = fileURLToPath(new URL('../../.cache/engines/state.json', import.meta.url));

/** One probe per engine and URL: the same server is not asked again by every workload. */
const probes = new Map<string, Promise<{ version: string; source: string }>>();
const uses = new Map<EngineName, { versions: Set<string>; sources: Set<string>; usedBy: Set<string> }>();
let activeWorkload = 'unknown';

/**
 * main.ts names the workload about to run, so that engines noted meanwhile — also by helpers
 * that start an engine of the workload's own (ferretdb.ts) — are attributed to it.
 */
export function attributeEnginesTo(workload: string): void {
  activeWorkload = workload;
}

/** Notes the engines a workload declared, from their URL variables (after `ensureEngines`). */
export async function noteEnginesFromEnv(names: readonly EngineName[]): Promise<void> {
  for (const name of new Set(names)) {
    const url = process.env[ENGINE_URL_VARIABLE[name]];
    if (url) await noteEngine(name, url);
  }
}

/**
 * Records that the active workload uses the engine at `url`, reading its version (once per URL)
 * while it is up: engines are started per workload and may be gone by the end of the run.
 */
export async function noteEngine(name: EngineName, url: string): Promise<void> {
  const key = `${name} ${url}`;
  if (!probes.has(key)) probes.set(key, readEngineVersion(name, url).catch((error: unknown) => ({ version: `unknown: ${errorText(error)}`, source: '' })));
  const { version, source } = await probes.get(key)!;
  const use = uses.get(name) ?? { versions: new Set(), sources: new Set(), usedBy: new Set() };
  use.versions.add(version);
  if (source) use.sources.add(source);
  use.usedBy.add(activeWorkload);
  uses.set(name, use);
}

/** Every engine, with "not used in this run" for those no workload noted. */
export function engineVersions(): Record<EngineName, EngineVersion> {
  const entry = (name: EngineName): EngineVersion => {
    const use = uses.get(name);
    if (!use) return { version: 'not used in this run', usedBy: [] };
    // Different versions in one run are unlikely (one install), but would be shown, not hidden.
    return { version: [...use.versions].join(' / '), source: [...use.sources].join(' / '), usedBy: [...use.usedBy] };
  };
  return Object.fromEntries(ENGINES.map((name) => [name, entry(name)])) as Record<EngineName, EngineVersion>;
}

function readEngineVersion(name: EngineName, url: string): Promise<{ version: string; source: string }> {
  if (name === 'postgres') return postgresVersion(url);
  if (name === 'kafka') return Promise.resolve(kafkaVersion(url));
  return mongoVersion(url);
}

async function postgresVersion(url: string): Promise<{ version: string; source: string }> {
  const client = new pg.Client({ connectionString: url, application_name: 'crm-bench', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { version: rows[0]!.server_version, source: 'SHOW server_version' };
  } finally {
    await client.end();
  }
}

/** FerretDB answers `buildInfo` with the MongoDB version it mimics and, as its extension, its own. */
async function mongoVersion(url: string): Promise<{ version: string; source: string }> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    const mongo = String(info.version);
    const ferret = info.ferretdbVersion as string | undefined;
    // A real MongoDB has no ferretdbVersion: say so rather than print its version as FerretDB's.
    return { version: ferret ? `${ferret} (answers as MongoDB ${mongo})` : `MongoDB ${mongo}, not FerretDB`, source: 'buildInfo' };
  } finally {
    await client.close();
  }
}

/**
 * Kafka's protocol does not tell a client the broker's version (ApiVersions only gives API
 * ranges, and kafkajs' describeCluster no version at all). The broker logs it at start
 * ("Kafka version: 4.4.0", AppInfoParser), so for a broker engines.mjs started (its state file
 * names the URL and the log) that line is read; failing that, the version engines.mjs installed.
 */
function kafkaVersion(url: string): { version: string; source: string } {
  const entry = engineState('kafka', url);
  if (!entry) return { version: 'unknown: broker not started by infra/local/engines.mjs (the Kafka protocol does not report it)', source: '' };
  const logged = entry.logFile ? /Kafka version: (\S+)/.exec(fileHead(entry.logFile, 1 << 20)) : null;
  if (logged) return { version: logged[1]!, source: "the broker's log line 'Kafka version' (AppInfoParser)" };
  if (entry.version) return { version: entry.version, source: "engines.mjs' state (the version it installed, infra/local/kafka/pom.xml)" };
  return { version: 'unknown: no version in the broker log or engines.mjs state', source: '' };
}

function engineState(name: EngineName, url: string): { version?: string; logFile?: string } | undefined {
  try {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { engines?: Record<string, { url?: string; version?: string; logFile?: string }> };
    const entry = state.engines?.[name];
    return entry?.url === url ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** The first `bytes` of a file: the version line is logged at start, and the log grows large. */
function fileHead(path: string, bytes: number): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(bytes);
      return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
