#!/usr/bin/env node
// One test runner for the whole tree: node:test over every *.spec.ts outside node_modules.
// Usage: node scripts/run-tests.mjs [path-substring ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CRM_LOG_LEVEL: process.env.CRM_LOG_LEVEL ?? 'silent' } },
);
process.exit(result.status ?? 1);
