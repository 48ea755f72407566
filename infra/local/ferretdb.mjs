// FerretDB v1 (MongoDB wire protocol over SQLite files), built from source through the Go module proxy.
//   install(): `go mod download` github.com/FerretDB/FerretDB@<version>, copy it out of the module cache,
//              write build/version/version.txt, `go build ./cmd/ferretdb` into .cache/bin/ferretdb.
//              (A plain `go install .../cmd/ferretdb@v1.24.x` builds, but the binary panics at start:
//              "Invalid build/version/version.txt file content" — the release builds generate that file.)
//              GOPATH, GOMODCACHE and GOCACHE all live under .cache/go.
//   start({ dir }): ferretdb --handler=sqlite --sqlite-url=file:<dir>/data/ on a free port of 127.0.0.1,
//              telemetry and the debug HTTP listener off.
import { chmodSync, cpSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CACHE,
  HOST,
  ensureDir,
  freePort,
  isMain,
  log,
  makeRunDir,
  optionalImport,
  readStamp,
  removeDir,
  run,
  serveInForeground,
  spawnServer,
  stopPid,
  tail,
  tcpOpen,
  waitFor,
  which,
  writeStamp,
} from './lib.mjs';

export const name = 'ferretdb';
export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** Latest v1 on the Go module proxy (`go list -m -versions github.com/FerretDB/FerretDB`). */
export const FERRETDB_VERSION = 'v1.24.2';
export const BIN = join(CACHE, 'bin', 'ferretdb');
export const STOP_SIGNAL = 'SIGTERM';

/** Go's caches inside the project's cache folder, so that CI can keep them between runs. */
export function goEnv() {
  const go = join(CACHE, 'go');
  return {
    ...process.env,
    GOPATH: go,
    GOMODCACHE: join(go, 'mod'),
    GOCACHE: join(go, 'build'),
    GOFLAGS: '-modcacherw -buildvcs=false', // -modcacherw: the cache can be deleted with rm -rf
    GOTOOLCHAIN: 'local', // never download another Go toolchain
    GOWORK: 'off',
    CGO_ENABLED: '0', // the SQLite backend is pure Go (modernc.org/sqlite)
  };
}

function chmodTreeWritable(path) {
  // Module cache files are read-only; the copy must be writable to add version.txt and to be deleted.
  return run('chmod', ['-R', 'u+w', path]);
}

export async function install() {
  const t0 = Date.now();
  if (readStamp(name)?.version === FERRETDB_VERSION && existsSync(BIN)) {
    return { name, version: FERRETDB_VERSION, cached: true, ms: Date.now() - t0 };
  }
  if (!which('go')) throw new Error('ferretdb: Go (1.24 or newer) is needed to build FerretDB; `go` is not on PATH');
  const env = goEnv();
  log(`ferretdb: building ${FERRETDB_MODULE}/cmd/ferretdb@${FERRETDB_VERSION} (Go module proxy; a few minutes when cold)`);
  const { stdout } = await run('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    env,
    cwd: ensureDir(join(CACHE, 'go')),
  });
  const srcInCache = JSON.parse(stdout).Dir;
  const src = join(CACHE, 'ferretdb', `src-${FERRETDB_VERSION}`);
  removeDir(src);
  ensureDir(join(CACHE, 'ferretdb'));
  cpSync(srcInCache, src, { recursive: true });
  await chmodTreeWritable(src);
  writeFileSync(join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  ensureDir(join(CACHE, 'bin'));
  const tmpBin = `${BIN}.tmp`;
  try {
    await run('go', ['build', '-trimpath', '-o', tmpBin, './cmd/ferretdb'], { env, cwd: src });
    chmodSync(tmpBin, 0o755);
    const { stdout: v } = await run(tmpBin, ['--version']);
    if (!v.includes(`version: ${FERRETDB_VERSION}`)) throw new Error(`ferretdb: unexpected --version output:\n${v}`);
    renameSync(tmpBin, BIN);
  } finally {
    removeDir(src);
    removeDir(tmpBin);
  }
  writeStamp(name, { version: FERRETDB_VERSION, bin: BIN, at: new Date().toISOString() });
  return { name, version: FERRETDB_VERSION, cached: false, ms: Date.now() - t0 };
}

/**
 * Starts a server whose files all live in `dir` (created if missing; removed by stop() unless
 * `keepData`); SQLite files in <dir>/data (one <database>.sqlite per database, with -wal/-shm beside it).
 * Returns { name, url, port, dataDir, pid, env, stop() }.
 */
export async function start({ dir, port } = {}) {
  const ownDir = !dir;
  dir = ensureDir(dir ?? makeRunDir('crm-ferretdb-'));
  port = port ?? (await freePort());
  const dataDir = ensureDir(join(dir, 'data'));
  const stateDir = ensureDir(join(dir, 'state'));
  const logFile = join(dir, 'ferretdb.log');
  const server = spawnServer(
    BIN,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=${HOST}:${port}`,
      '--debug-addr=-', // no metrics/pprof HTTP listener (its default 127.0.0.1:8088 would collide)
      `--state-dir=${stateDir}`,
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { logFile, cwd: dir, env: { ...process.env, DO_NOT_TRACK: '1' } },
  );
  const stop = async ({ keepData = !ownDir } = {}) => {
    const how = await stopPid(server.pid, { signal: STOP_SIGNAL, timeoutMs: 15_000 });
    if (!keepData) removeDir(dir);
    return how;
  };
  const url = `mongodb://${HOST}:${port}/`;
  try {
    await waitFor('ferretdb', () => tcpOpen(port), { timeoutMs: 30_000, intervalMs: 100, alive: server.alive });
    await waitFor('ferretdb (ping)', () => ping(url), { timeoutMs: 30_000, alive: server.alive });
  } catch (err) {
    await stop({ keepData: true }).catch(() => {});
    err.message += `\n--- ${logFile} ---\n${tail(logFile)}`;
    throw err;
  }
  return {
    name,
    url,
    port,
    dataDir,
    dir,
    pid: server.pid,
    logFile,
    stopSignal: STOP_SIGNAL,
    cmdMatch: 'ferretdb',
    env: { CRM_MONGO_URL: url, CRM_FERRETDB_DATA_DIR: dataDir },
    stop,
  };
}

/** `ping` through the official driver when it is installed. */
async function ping(url) {
  const mongodb = await optionalImport('mongodb');
  if (!mongodb) return true; // the open port has to do
  const client = new mongodb.MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return true;
  } finally {
    await client.close().catch(() => {});
  }
}

// `node infra/local/ferretdb.mjs` starts one server in the foreground until Ctrl-C.
if (isMain(import.meta.url)) await serveInForeground(name, { install, start, where: (s) => `data ${s.dataDir}` });
