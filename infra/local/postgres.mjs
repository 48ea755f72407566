// PostgreSQL 15 from Debian's package, run from a throw-away data folder on 127.0.0.1.
//   install(): apt-get install -y postgresql when initdb/pg_ctl are missing (as root).
//   start({ dir }): initdb into <dir>/data, pg_ctl start on a free port, trust auth, wait with pg_isready.
// initdb and the server refuse to run as root: as root, they run as the `postgres` system user
// (created by the package; created here if missing) and <dir> is chowned to it.
import { appendFileSync, chownSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HOST,
  aptInstall,
  ensureDir,
  freePort,
  isMain,
  isAlive,
  isRoot,
  log,
  makeRunDir,
  readStamp,
  removeDir,
  run,
  serveInForeground,
  stopPid,
  tail,
  waitFor,
  writeStamp,
} from './lib.mjs';

export const name = 'postgres';
export const PG_MAJOR = 15;
export const BIN = process.env.CRM_PG_BIN ?? `/usr/lib/postgresql/${PG_MAJOR}/bin`;
const TOOLS = ['initdb', 'pg_ctl', 'postgres', 'pg_isready', 'psql'];
const OS_USER = 'postgres';
/** Fast shutdown (SIGTERM would be a "smart" shutdown that waits for clients to disconnect). */
export const STOP_SIGNAL = 'SIGINT';

const installed = () => TOOLS.every((t) => existsSync(join(BIN, t)));

export async function install() {
  const t0 = Date.now();
  let cached = true;
  if (!installed()) {
    cached = false;
    await aptInstall(['postgresql', 'postgresql-contrib'], `PostgreSQL ${PG_MAJOR} is missing (${BIN})`);
    if (!installed()) throw new Error(`postgres: ${BIN} still lacks one of ${TOOLS.join(', ')} after apt-get install`);
  }
  if (isRoot()) await ensureOsUser();
  const { stdout } = await run(join(BIN, 'postgres'), ['--version']);
  const version = stdout.trim();
  if (readStamp(name)?.version !== version) writeStamp(name, { version, bin: BIN, at: new Date().toISOString() });
  return { name, version, cached, ms: Date.now() - t0 };
}

async function ensureOsUser() {
  try {
    await run('id', ['-u', OS_USER]);
  } catch {
    log(`postgres: creating system user ${OS_USER}`);
    await run('useradd', ['--system', '--user-group', '--home-dir', '/var/lib/postgresql', '--shell', '/bin/sh', OS_USER]);
  }
}

async function osIds() {
  const uid = Number((await run('id', ['-u', OS_USER])).stdout.trim());
  const gid = Number((await run('id', ['-g', OS_USER])).stdout.trim());
  return { uid, gid };
}

function chownTree(path, uid, gid) {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

/** Runs a PostgreSQL tool as the current user, or as `postgres` when we are root. */
function pgRun(tool, args, opts = {}) {
  const exe = join(BIN, tool);
  if (!isRoot()) return run(exe, args, opts);
  return run('runuser', ['-u', OS_USER, '--', exe, ...args], opts);
}

/**
 * Starts a server whose files all live in `dir` (created if missing; removed by stop() unless
 * `keepData`). Returns { name, url, port, dataDir, pid, logFile, env, stop() }.
 */
export async function start({ dir, port } = {}) {
  const ownDir = !dir;
  dir = ensureDir(dir ?? makeRunDir('crm-pg-'));
  port = port ?? (await freePort());
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const opts = { cwd: dir, env: { ...process.env, LC_ALL: 'C', PGTZ: 'UTC' } };
  if (isRoot()) {
    const { uid, gid } = await osIds();
    chownTree(dir, uid, gid);
  }

  await pgRun('initdb', ['-D', dataDir, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--auth=trust', '--no-sync', '--no-instructions'], opts);

  // Settings for tests (appended: the last occurrence wins).
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    [
      '',
      '# --- infra/local/postgres.mjs ---',
      `listen_addresses = '${HOST}'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'max_connections = 200',
      'shared_buffers = 128MB',
      'fsync = on',
      "timezone = 'UTC'",
      "log_timezone = 'UTC'",
      'log_min_messages = warning',
      "log_line_prefix = '%m [%p] %q%u@%d '",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    ['# infra/local/postgres.mjs: trust on the socket and 127.0.0.1 only', 'local all all trust', `host all all ${HOST}/32 trust`, ''].join('\n'),
  );

  let pid;
  const stop = async ({ keepData = !ownDir } = {}) => {
    const how = pid ? await stopPid(pid, { signal: STOP_SIGNAL, timeoutMs: 30_000 }) : 'not started';
    if (!keepData) removeDir(dir);
    return how;
  };
  try {
    await pgRun('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile], opts);
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    await waitFor(
      'postgres',
      async () => {
        await run(join(BIN, 'pg_isready'), ['-q', '-h', HOST, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-t', '2']);
        return true;
      },
      { timeoutMs: 30_000, alive: () => isAlive(pid) },
    );
  } catch (err) {
    await stop({ keepData: true }).catch(() => {});
    err.message += `\n--- ${logFile} ---\n${tail(logFile)}`;
    throw err;
  }
  const url = `postgres://postgres@${HOST}:${port}/postgres`;
  return {
    name,
    url,
    port,
    dataDir,
    dir,
    pid,
    logFile,
    stopSignal: STOP_SIGNAL,
    cmdMatch: 'postgres',
    env: { CRM_PG_URL: url, CRM_PG_DATA_DIR: dataDir },
    stop,
  };
}

// `node infra/local/postgres.mjs` starts one server in the foreground until Ctrl-C.
if (isMain(import.meta.url)) await serveInForeground(name, { install, start });
