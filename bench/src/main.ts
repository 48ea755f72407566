/**
 * Runs the benchmarks: all workloads, or the ones named.
 *   npm run bench                               all, full size (3 runs each)
 *   npm run bench -- store-append --quick       one workload, small size (1 run)
 * Options: --quick, --runs N, --appends N, --store-seconds N, --http-seconds N,
 *          --relay-events N, --latency-seconds N, --rate N, --pg-analyze (diagnosis),
 *          --cpu-prof (CPU profile of every measured phase into bench/profiles/), --no-write.
 * Workloads that need PostgreSQL or Kafka use CRM_PG_URL / CRM_KAFKA_URL; when unset, the
 * engines are brought up with infra/local/engines.mjs, and stopped at the end if this run started them.
 * Prints a table per workload and writes bench/results/<timestamp>.{json,md} and latest.md.
 * Exits 1 only when a run is invalid (non-2xx answers or errors), never because of a figure.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureEngines, stopStartedEngines } from './engines.ts';
import { attributeEnginesTo, describeMachine, engineVersions, noteEnginesFromEnv, systemLoad } from './machine.ts';
import { aggregate, type BenchReport, consoleTable, writeResults, type WorkloadResult } from './results.ts';
import type { BenchOptions, Measurement, Workload } from './workload.ts';
import { forgetMe } from './workloads/forget-me.ts';
import { httpCommands } from './workloads/http-commands.ts';
import { kafkaRelay } from './workloads/kafka-relay.ts';
import { peerEmmett } from './workloads/peer-emmett.ts';
import { peerEmmettSqlite } from './workloads/peer-emmett-sqlite.ts';
import { rssSampler } from './workloads/rss.ts';
import { pgStoreAppend } from './workloads/pg-store-append.ts';
import { rebuildMillion } from './workloads/rebuild-million.ts';
import { storeAppend } from './workloads/store-append.ts';
import { subjectExport } from './workloads/subject-export.ts';
import { viewFreshness } from './workloads/view-freshness.ts';
import { viewQuery } from './workloads/view-query.ts';
import { viewRebuild } from './workloads/view-rebuild.ts';

const WORKLOADS: Workload[] = [storeAppend, httpCommands, pgStoreAppend, kafkaRelay, viewRebuild, rebuildMillion, viewFreshness, viewQuery, subjectExport, forgetMe, peerEmmett, peerEmmettSqlite];
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
const PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.url));

function positiveNumber(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      appends: { type: 'string' },
      'store-seconds': { type: 'string' },
      'http-seconds': { type: 'string' },
      'relay-events': { type: 'string' },
      'latency-seconds': { type: 'string' },
      rate: { type: 'string' },
      'pg-analyze': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench -- [${WORKLOADS.map((w) => w.name).join('|')} ...] [--quick] [--runs N] [--appends N] [--store-seconds N] [--http-seconds N] [--relay-events N] [--latency-seconds N] [--rate N] [--pg-analyze] [--cpu-prof] [--no-write]`);
    return 0;
  }
  const unknown = positionals.filter((p) => !WORKLOADS.some((w) => w.name === p));
  if (unknown.length) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  const selected = positionals.length ? WORKLOADS.filter((w) => positionals.includes(w.name)) : WORKLOADS;

  const startedAt = new Date().toISOString();
  const cpuProfDir = values['cpu-prof'] ? `${PROFILES_DIR}${startedAt.replace(/:/g, '-')}` : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const appends = positiveNumber(values.appends, 'appends');
  const storeSeconds = positiveNumber(values['store-seconds'], 'store-seconds');
  const httpSeconds = positiveNumber(values['http-seconds'], 'http-seconds');
  const relayEvents = positiveNumber(values['relay-events'], 'relay-events');
  const latencySeconds = positiveNumber(values['latency-seconds'], 'latency-seconds');
  const rate = positiveNumber(values.rate, 'rate');
  const options: BenchOptions = {
    quick: values.quick,
    runs: Math.round(positiveNumber(values.runs, 'runs') ?? (values.quick ? 1 : 3)),
    ...(appends ? { appends: Math.round(appends) } : {}),
    ...(storeSeconds ? { storeSeconds } : {}),
    ...(httpSeconds ? { httpSeconds } : {}),
    ...(relayEvents ? { relayEvents: Math.round(relayEvents) } : {}),
    ...(latencySeconds ? { latencySeconds } : {}),
    ...(rate ? { rate } : {}),
    ...(values['pg-analyze'] ? { pgAnalyze: true } : {}),
    ...(cpuProfDir ? { cpuProfDir } : {}),
    log: (line) => console.log(line),
  };

  const machine = describeMachine();
  console.log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `SQLite ${machine.sqlite}, temp stores on ${machine.tmpdirFileSystem}`,
  );
  const results: WorkloadResult[] = [];
  for (const workload of selected) {
    attributeEnginesTo(workload.name);
    if (workload.engines?.length) {
      await ensureEngines(workload.engines, options.log);
      await noteEnginesFromEnv(workload.engines); // while they are up: engines are per workload
    }
    const parameters = workload.parameters(options);
    console.log(`\n== ${workload.name}: ${workload.title}\n   ${JSON.stringify(parameters)}`);
    const before = systemLoad();
    // The 1-min load average still holds the previous workload (about 1): warn only beyond that.
    if (before.loadAverage1m > machine.cores) {
      console.log(`   WARNING: the machine is busy (load average ${before.loadAverage1m} on ${machine.cores} cores): figures will be noisy`);
    }
    const runs: Measurement[][] = [];
    const rss = rssSampler();
    for (let run = 0; run < options.runs; run++) {
      console.log(` run ${run + 1}/${options.runs}`);
      runs.push(await workload.run(options, run));
    }
    const result = { ...aggregate(workload, parameters, runs), load: { before, after: systemLoad() }, peakRssMiB: rss.stop() };
    results.push(result);
    console.log(`\n${consoleTable(result)}`);
  }

  const engines = engineVersions();
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    options: { quick: options.quick, runs: options.runs },
    machine: { ...machine, engines },
    workloads: results,
  };
  console.log(`\nengines: ${Object.entries(engines).map(([name, e]) => `${name} ${e.version}`).join(', ')}`);
  console.log('\n== summary');
  for (const result of results) console.log(`\n${consoleTable(result)}`);
  if (!values['no-write']) {
    console.log('\nwrote:');
    for (const path of writeResults(report, RESULTS_DIR)) console.log(`  ${path}`);
  }
  if (cpuProfDir) console.log(`CPU profiles: ${cpuProfDir} (summarise with: node --import tsx bench/src/tools/cpuprofile-top.ts <file>)`);

  const invalid = results.flatMap((r) => r.figures).filter((f) => (f.metric === 'non-2xx' || f.metric === 'errors') && f.max > 0);
  if (invalid.length) {
    console.log(`\n!!! INVALID RUN: ${invalid.map((f) => `${f.scenario} ${f.metric} ${f.max}`).join('; ')}`);
    return 1;
  }
  return 0;
}

// Ctrl-C: still stop the engines this run started (never anyone else's).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping`);
    stopStartedEngines((line) => console.log(line)).finally(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    console.error(error);
    return 1;
  })
  .then(async (code) => {
    try {
      await stopStartedEngines((line) => console.log(line));
    } catch (error) {
      console.error(error);
    }
    process.exit(code);
  });
