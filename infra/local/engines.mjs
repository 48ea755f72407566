#!/usr/bin/env node
// Real engines on loopback for the adapter tests: PostgreSQL 15, Kafka 4 (KRaft), FerretDB v1.
//
//   node infra/local/engines.mjs install [engine...]   install only (idempotent; fast when stamped)
//   node infra/local/engines.mjs up      [engine...]   install, start in the background, print exports
//   node infra/local/engines.mjs env                   print exports for the running engines
//   node infra/local/engines.mjs status                what runs, where, since when
//   node infra/local/engines.mjs check   [engine...]   a real round trip on each running engine
//   node infra/local/engines.mjs down    [engine...]   stop (SIGTERM or SIGINT, wait, SIGKILL), delete data
//
// engine: postgres | kafka | ferretdb (default: all three). `eval "$(node infra/local/engines.mjs up)"`
// puts CRM_PG_URL, CRM_PG_DATA_DIR, CRM_KAFKA_URL, CRM_KAFKA_LOG_DIR, CRM_MONGO_URL, CRM_FERRETDB_DATA_DIR in the shell.
// Progress and timings go to stderr; stdout has only the export lines.
// State (pids, URLs, folders): .cache/engines/state.json. Data: one temporary folder per `up`
// (os.tmpdir()/crm-engines-XXXXXX, or under $CRM_ENGINES_TMP), one sub-folder per engine.
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ferretdb from './ferretdb.mjs';
import * as kafka from './kafka.mjs';
import { CACHE, cmdline, isAlive, isMain, log, makeRunDir, optionalImport, removeDir, run, seconds, stopPid } from './lib.mjs';
import * as postgres from './postgres.mjs';

export const ENGINES = { postgres, kafka, ferretdb };
export const STATE_FILE = join(CACHE, 'engines', 'state.json');
const ENV_ORDER = ['CRM_PG_URL', 'CRM_PG_DATA_DIR', 'CRM_KAFKA_URL', 'CRM_KAFKA_LOG_DIR', 'CRM_MONGO_URL', 'CRM_FERRETDB_DATA_DIR'];

export function readState() {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return { runDir: undefined, engines: {} };
  }
}

function writeState(state) {
  mkdirSync(join(CACHE, 'engines'), { recursive: true });
  const tmp = `${STATE_FILE}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, STATE_FILE);
}

/** A recorded engine is running if its pid is alive and still is that server (pids get reused). */
function running(entry) {
  return Boolean(entry) && isAlive(entry.pid) && cmdline(entry.pid).includes(entry.cmdMatch);
}

function pick(names) {
  if (names.length === 0) return Object.keys(ENGINES);
  for (const n of names) if (!ENGINES[n]) throw new Error(`unknown engine '${n}' (one of: ${Object.keys(ENGINES).join(', ')})`);
  return [...new Set(names)];
}

const shellQuote = (v) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${String(v).replace(/'/g, `'\\''`)}'`);

function printEnv(state) {
  const env = {};
  for (const e of Object.values(state.engines)) if (running(e)) Object.assign(env, e.env);
  for (const k of ENV_ORDER) if (env[k] !== undefined) process.stdout.write(`export ${k}=${shellQuote(env[k])}\n`);
  return env;
}

export async function install(names = []) {
  const out = {};
  for (const n of pick(names)) {
    const r = await ENGINES[n].install();
    log(`${n}: install ${seconds(r.ms)} (${r.cached ? 'already installed' : 'installed'}; ${r.version})`);
    out[n] = r;
  }
  return out;
}

export async function up(names = []) {
  const state = readState();
  const wanted = pick(names);
  // Drop records of servers that are gone (e.g. after a reboot), with their data.
  for (const [n, e] of Object.entries(state.engines)) {
    if (!running(e)) {
      removeDir(e.dir);
      delete state.engines[n];
    }
  }
  if (!state.runDir || !existsSync(state.runDir)) state.runDir = makeRunDir();
  writeState(state);
  let failed;
  for (const n of wanted) {
    if (state.engines[n]) {
      log(`${n}: already running (pid ${state.engines[n].pid}) at ${state.engines[n].url}`);
      continue;
    }
    try {
      const inst = await ENGINES[n].install();
      log(`${n}: install ${seconds(inst.ms)} (${inst.cached ? 'already installed' : 'installed'}; ${inst.version})`);
      const t0 = Date.now();
      const s = await ENGINES[n].start({ dir: join(state.runDir, n) });
      const startMs = Date.now() - t0;
      log(`${n}: started in ${seconds(startMs)} (pid ${s.pid}) at ${s.url}; files in ${s.dir}`);
      state.engines[n] = {
        name: n,
        version: inst.version,
        url: s.url,
        port: s.port,
        pid: s.pid,
        dir: s.dir,
        dataDir: s.dataDir,
        logFile: s.logFile,
        stopSignal: s.stopSignal,
        cmdMatch: s.cmdMatch,
        env: s.env,
        startedAt: new Date().toISOString(),
        timings: { installMs: inst.ms, installCached: inst.cached, startMs },
      };
      writeState(state);
    } catch (err) {
      log(`${n}: FAILED: ${err.message}`);
      failed = failed ?? err;
    }
  }
  printEnv(state);
  if (failed) process.exitCode = 1;
  return state;
}

export async function down(names = []) {
  const state = readState();
  const which = names.length ? pick(names) : Object.keys(state.engines);
  for (const n of which) {
    const e = state.engines[n];
    if (!e) continue;
    const t0 = Date.now();
    // Only signal the pid if it still is our server: after a reboot the number may be someone else's.
    const how = running(e) ? await stopPid(e.pid, { signal: e.stopSignal, timeoutMs: 30_000 }) : 'not running';
    removeDir(e.dir);
    delete state.engines[n];
    writeState(state);
    log(`${n}: stopped (${how}) in ${seconds(Date.now() - t0)}; removed ${e.dir}`);
  }
  if (Object.keys(state.engines).length === 0) {
    if (state.runDir && existsSync(state.runDir)) {
      if (readdirSync(state.runDir).length === 0) rmdirSync(state.runDir);
      else removeDir(state.runDir);
    }
    removeDir(STATE_FILE);
  }
}

export function status() {
  const state = readState();
  const names = Object.keys(state.engines);
  if (names.length === 0) log('no engines recorded');
  for (const n of names) {
    const e = state.engines[n];
    log(`${n}: ${running(e) ? 'running' : 'NOT RUNNING'} pid ${e.pid} ${e.url} since ${e.startedAt}; data ${e.dataDir}; log ${e.logFile}`);
  }
  return state;
}

/** A real round trip per running engine, through the clients the project uses. */
export async function check(names = []) {
  const state = readState();
  const todo = (names.length ? pick(names) : Object.keys(state.engines)).filter((n) => running(state.engines[n]));
  if (todo.length === 0) throw new Error('nothing running to check (engines.mjs up first)');
  for (const n of todo) {
    const e = state.engines[n];
    const t0 = Date.now();
    if (n === 'postgres') {
      const { stdout } = await run(join(postgres.BIN, 'psql'), [
        e.url,
        '-v',
        'ON_ERROR_STOP=1',
        '-Atc',
        'CREATE TEMP TABLE t(x int); INSERT INTO t VALUES (42); SELECT x FROM t;',
      ]);
      if (!stdout.includes('42')) throw new Error(`postgres: unexpected psql output ${stdout}`);
    } else if (n === 'kafka') {
      const kafkajs = await optionalImport('kafkajs');
      if (!kafkajs) throw new Error('kafka: kafkajs is not installed (npm install)');
      const { Kafka, logLevel } = kafkajs.default ?? kafkajs;
      const client = new Kafka({ clientId: 'engines-check', brokers: [e.url.replace('kafka://', '')], logLevel: logLevel.NOTHING });
      const topic = `engines-check-${Date.now()}`;
      const admin = client.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = client.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello' }] });
      await producer.disconnect();
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
      if (offsets[0]?.high !== '1') throw new Error(`kafka: expected 1 record, offsets ${JSON.stringify(offsets)}`);
    } else if (n === 'ferretdb') {
      const mongodb = await optionalImport('mongodb');
      if (!mongodb) throw new Error('ferretdb: the mongodb driver is not installed (npm install)');
      const client = new mongodb.MongoClient(e.url, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.connect();
        const col = client.db('engines_check').collection('docs');
        await col.insertOne({ _id: 'x', n: 1 });
        const doc = await col.findOne({ _id: 'x' });
        await client.db('engines_check').dropDatabase();
        if (doc?.n !== 1) throw new Error(`ferretdb: insert/find returned ${JSON.stringify(doc)}`);
      } finally {
        await client.close();
      }
    }
    log(`${n}: check ok in ${seconds(Date.now() - t0)}`);
  }
}

if (isMain(import.meta.url)) {
  const [cmd, ...args] = process.argv.slice(2);
  try {
    if (cmd === 'install') await install(args);
    else if (cmd === 'up') await up(args);
    else if (cmd === 'down') await down(args);
    else if (cmd === 'env') printEnv(readState());
    else if (cmd === 'status') status();
    else if (cmd === 'check') await check(args);
    else {
      process.stderr.write('usage: node infra/local/engines.mjs install|up|env|status|check|down [postgres|kafka|ferretdb ...]\n');
      process.exitCode = 2;
    }
  } catch (err) {
    log(`error: ${err.message}`);
    process.exitCode = 1;
  }
}
