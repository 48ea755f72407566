// Shared helpers for the local engine scripts (postgres.mjs, kafka.mjs, ferretdb.mjs, engines.mjs).
// Plain Node 20 ESM, no dependencies. Everything listens on 127.0.0.1 only.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
/** Git-ignored cache of the project (`/.cache/` in .gitignore): downloads, builds, stamps, state. */
export const CACHE = process.env.CRM_ENGINES_CACHE ? resolve(process.env.CRM_ENGINES_CACHE) : join(ROOT, '.cache');
export const HOST = '127.0.0.1';

/** Progress goes to stderr so that stdout stays clean for `export ...` lines. */
export function log(...args) {
  process.stderr.write(`[engines] ${args.join(' ')}\n`);
}

export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A port that was free on 127.0.0.1 a moment ago (the kernel picks it). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Distinct free ports (asked for together so that the kernel does not hand out the same one twice). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await new Promise((res, rej) => {
        srv.on('error', rej);
        srv.listen({ host: HOST, port: 0, exclusive: true }, res);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  }
}

/** Resolves true once a TCP connection to 127.0.0.1:port succeeds. */
export function tcpOpen(port, timeoutMs = 1000) {
  return new Promise((res) => {
    const sock = net.connect({ host: HOST, port });
    const done = (ok) => {
      sock.destroy();
      res(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Polls `probe` until it returns a truthy value. `alive` (optional) is checked between tries so that a
 * server that died during start fails at once instead of after the timeout.
 */
export async function waitFor(what, probe, { timeoutMs = 60_000, intervalMs = 200, alive } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (alive && !alive()) throw new Error(`${what}: the server process exited during start`);
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${seconds(timeoutMs)}${lastErr ? ` (last error: ${lastErr.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** Runs a command to completion; throws with its output on failure. */
export function run(cmd, args, { cwd, env, input, quiet = true, timeoutMs } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!quiet) process.stderr.write(d);
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (!quiet) process.stderr.write(d);
    });
    if (input !== undefined) child.stdin.end(input);
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) res({ stdout: out, stderr: err });
      else {
        const tail = (err || out).trim().split('\n').slice(-25).join('\n');
        rej(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}\n${tail}`));
      }
    });
  });
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Installs Debian packages when running as root; otherwise explains what to install. */
let aptUpdated = false;
export async function aptInstall(pkgs, why) {
  if (!isRoot()) throw new Error(`${why}: install the Debian package(s) ${pkgs.join(' ')} (apt-get install -y ${pkgs.join(' ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`${why}: apt-get install -y ${pkgs.join(' ')}`);
  if (!aptUpdated) {
    await run('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
  }
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
}

// ---------------------------------------------------------------------------------------------
// Stamps: install() is a no-op when its stamp matches (the stamp holds what was installed).

export function readStamp(name) {
  try {
    return JSON.parse(readFileSync(join(CACHE, 'stamps', `${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

export function writeStamp(name, value) {
  mkdirSync(join(CACHE, 'stamps'), { recursive: true });
  writeFileSync(join(CACHE, 'stamps', `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
}

export function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Processes

/** True while the process exists and is not a zombie. */
export function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The command line of a process ('' if gone): used to check a recorded pid still is our server. */
export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Sends `signal`, waits up to `timeoutMs` for the process to go, then SIGKILL. Returns how it ended. */
export async function stopPid(pid, { signal = 'SIGTERM', timeoutMs = 15_000 } = {}) {
  if (!isAlive(pid)) return 'not running';
  try {
    process.kill(pid, signal);
  } catch {
    return 'not running';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return signal;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return 'SIGKILL';
}

/**
 * Starts a long-running server detached from this process (its own session; stdout and stderr
 * to `logFile`), so that it outlives `engines.mjs up`. The caller stops it with stopPid().
 */
export function spawnServer(cmd, args, { logFile, cwd, env }) {
  const fd = openAppend(logFile);
  let child;
  try {
    child = spawn(cmd, args, { cwd, env: env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  child.unref();
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.on('error', () => {
    exited = true;
  });
  return { pid: child.pid, alive: () => !exited && isAlive(child.pid) };
}

function openAppend(path) {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

export function tail(path, lines = 30) {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Temporary folders

/** A fresh temporary folder for one run of the engines (traversable by the `postgres` user). */
export function makeRunDir(prefix = 'crm-engines-') {
  const dir = mkdtempSync(join(process.env.CRM_ENGINES_TMP ?? tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeDir(dir) {
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Optional dependency from the root package.json (kafkajs, mongodb); undefined if not installed. */
export async function optionalImport(name) {
  try {
    return await import(name);
  } catch {
    return undefined;
  }
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  return Boolean(process.argv[1]) && metaUrl === pathToFileURL(resolve(process.argv[1])).href;
}

/**
 * `node infra/local/<engine>.mjs`: installs and starts one engine in the foreground, prints its
 * URL on stdout and keeps it running until Ctrl-C (or SIGTERM) stops it. `where(server)` names
 * where its data is, for the engines whose files a test reads directly.
 */
export async function serveInForeground(engine, { install, start, where = () => undefined }) {
  const i = await install();
  log(`${engine}: ${i.version}, install ${seconds(i.ms)}${i.cached ? ' (already installed)' : ''}`);
  const t0 = Date.now();
  const s = await start();
  const data = where(s);
  log(`${engine}: started in ${seconds(Date.now() - t0)}${data ? `; ${data}` : ''}; Ctrl-C stops it`);
  console.log(s.url);
  const bye = async () => {
    await s.stop();
    process.exit(0);
  };
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
  // Keeps the event loop alive: the server is a child process, not a handle of ours.
  setInterval(() => {}, 1 << 30);
}
