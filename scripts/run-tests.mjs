#!/usr/bin/env node
// One test runner for the whole tree: node:test over every *.spec.ts outside node_modules.
//
// Usage: node scripts/run-tests.mjs [path-substring ...]
//
// Suites that need a real engine (PostgreSQL, Kafka, FerretDB) read CRM_PG_URL,
// CRM_KAFKA_URL and CRM_MONGO_URL. When none is set, this script brings all three up on
// loopback through infra/local/engines.mjs before the run and down after it.
// Engines that were already running are used and left running. CRM_TEST_ENGINES=none runs
// without them: those suites then say by name that they did not run.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readState } from '../infra/local/engines.mjs';

const root = new URL('..', import.meta.url).pathname;
const skip = new Set(['node_modules', '.git', '.turbo', 'data', '.cache']);

function* specs(dir) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* specs(path);
    else if (name.endsWith('.spec.ts')) yield relative(root, path);
  }
}

const filters = process.argv.slice(2);
const files = [...specs(root)].filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const env = { ...process.env, CRM_LOG_LEVEL: process.env.CRM_LOG_LEVEL ?? 'silent' };
const engineVars = ['CRM_PG_URL', 'CRM_KAFKA_URL', 'CRM_MONGO_URL'];
const startEngines = process.env.CRM_TEST_ENGINES !== 'none' && engineVars.every((name) => !process.env[name]);
const engines = (command, names = []) =>
  spawnSync(process.execPath, ['infra/local/engines.mjs', command, ...names], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

// Engines someone else brought up (a developer's `npm run engines:up`) are used, and left running.
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const runningBefore = new Set(
  Object.entries(readState().engines)
    .filter(([, engine]) => alive(engine.pid))
    .map(([name]) => name),
);
let startedHere = [];

if (startEngines) {
  const up = engines('up');
  startedHere = Object.keys(readState().engines).filter((name) => !runningBefore.has(name));
  if (up.status !== 0) {
    console.error('could not bring the test engines up (see above); CRM_TEST_ENGINES=none runs without them');
    process.exit(1);
  }
  for (const match of up.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[match[1]] = match[2].replace(/^'(.*)'$/, '$1');
}

let status = 1;
try {
  const result = spawnSync(
    process.execPath,
    // --test-force-exit: a spec file whose tests are done ends, even if a client it used (a Kafka consumer,
    // a pool) left a handle open: the suite must never hang on a leak.
    ['--import', 'tsx', '--test', '--test-force-exit', '--test-reporter=spec', '--test-concurrency=2', ...files],
    { cwd: root, stdio: 'inherit', env },
  );
  status = result.status ?? 1;
} finally {
  if (startedHere.length > 0) engines('down', startedHere);
}
process.exit(status);
