/** The machine and software a result was measured on. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import Database from 'better-sqlite3';

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
  };
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
