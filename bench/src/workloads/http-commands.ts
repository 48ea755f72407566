/**
 * HTTP end to end: the CRM (embedded default, durable) in a child process, driven by
 * autocannon in this process with a command that writes personal data to existing streams
 * (ChangeCustomerDetails, rotating over pre-registered customers) and one that creates a
 * subject key each time (RegisterCustomer); against it, a bare Express 5 handler that only
 * parses the same JSON body, run and driven the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintDevToken } from '@crm/api';
import { type ChildServer, serverScript, startChildServer } from '../http/child-server.ts';
import { driveLoad, type LoadResult, type LoadSpec } from '../http/load.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';

export interface HttpConfig {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  customers: number;
}

export function httpConfig(options: BenchOptions): HttpConfig {
  return {
    connections: 50,
    seconds: options.httpSeconds ?? (options.quick ? 3 : 10),
    warmupSeconds: options.quick ? 2 : 3,
    customers: 1000,
  };
}

const BARE = 'bare express 5 (parse only)';
const CHANGE = 'ChangeCustomerDetails';
const REGISTER = 'RegisterCustomer';

export function changeCustomerDetailsBody(customerId: string, n: number): string {
  return JSON.stringify({
    customerId,
    name: `Bench Renamed ${n}`,
    email: `renamed.${n}@example.org`,
    phone: '+49 30 7654321',
    address: { street: `Benchmarkweg ${(n % 200) + 1}`, postalCode: '20095', city: 'Hamburg', country: 'DE' },
  });
}

/** The shape of `registerCustomer` in test/src/support/valid-commands.ts. */
export function registerCustomerBody(n: number): string {
  return JSON.stringify({
    name: `Bench Customer ${n}`,
    email: `bench.customer.${n}@example.org`,
    phone: '+49 30 7654321',
    address: { street: `Bench Road ${(n % 200) + 1}`, postalCode: '20095', city: 'Hamburg', country: 'DE' },
    dateOfBirth: '1985-05-05',
    segment: 'consumer',
  });
}

function rotating(ids: readonly string[]): () => string {
  let n = 0;
  return () => {
    const i = n++;
    return changeCustomerDetailsBody(ids[i % ids.length]!, i);
  };
}

/** Registers `count` customers through the API (`concurrency` at a time); returns their ids. */
async function registerCustomers(url: string, authorization: string, count: number, concurrency: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const response = await fetch(`${url}/v1/commands/RegisterCustomer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: registerCustomerBody(n),
      });
      const body = (await response.json()) as { subjectId?: string };
      if (response.status !== 200 || !body.subjectId) throw new Error(`RegisterCustomer answered ${response.status}: ${JSON.stringify(body)}`);
      ids.push(body.subjectId);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

function measurement(scenario: string, r: LoadResult): Measurement {
  return {
    scenario,
    metrics: {
      'req/s': r.rate,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'max ms': r.max,
      'non-2xx': r.non2xx,
      errors: r.errors,
      'server cpu %': r.serverCpuPercent,
      'loadgen cpu %': r.loadgenCpuPercent,
    },
    notes: { responses: r.responses, seconds: r.seconds, statusCounts: r.statusCounts, ...(r.failureSamples.length ? { failureSamples: r.failureSamples } : {}) },
  };
}

function shout(options: BenchOptions, scenario: string, r: LoadResult): void {
  if (r.non2xx === 0 && r.errors === 0) return;
  const bar = '!'.repeat(78);
  options.log(bar);
  options.log(`!!! ${scenario}: ${r.non2xx} NON-2XX RESPONSES and ${r.errors} errors/timeouts — the figures are not valid`);
  options.log(`!!! status counts: ${JSON.stringify(r.statusCounts)}`);
  for (const sample of r.failureSamples) options.log(`!!! ${sample}`);
  options.log(bar);
}

function report(options: BenchOptions, scenario: string, r: LoadResult): void {
  options.log(
    `    ${scenario}: ${r.rate.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ` +
      `max ${r.max.toFixed(1)} ms, non-2xx ${r.non2xx}, errors ${r.errors}, ` +
      `CPU server ${r.serverCpuPercent.toFixed(0)}% / autocannon ${r.loadgenCpuPercent.toFixed(0)}%`,
  );
  shout(options, scenario, r);
}

export const httpCommands: Workload = {
  name: 'http-commands',
  title: 'HTTP end to end: commands against the CRM (durable, child process) vs a bare Express 5 handler',
  parameters(options) {
    return {
      ...httpConfig(options),
      pipelining: 1,
      server: 'child process: node --import tsx bench/src/servers/*.ts; autocannon in the parent',
      durable: true,
      bodyBytes: { [CHANGE]: changeCustomerDetailsBody(randomUUID(), 500).length, [REGISTER]: registerCustomerBody(500).length },
    };
  },
  metrics: [
    { key: 'req/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'max ms', digits: 1 },
    { key: 'non-2xx', digits: 0 },
    { key: 'errors', digits: 0 },
    { key: 'server cpu %', digits: 0 },
    { key: 'loadgen cpu %', digits: 0 },
    { key: 'ours/bare', digits: 3, ratio: 'limit' },
  ],
  goals: [
    { label: `${CHANGE} ≥ 60% of bare throughput`, scenario: `${CHANGE} ÷ bare`, metric: 'ours/bare', op: '>=', target: 0.6 },
    { label: `${CHANGE} p99 ≤ 25 ms`, scenario: CHANGE, metric: 'p99 ms', op: '<=', target: 25 },
    { label: `${REGISTER} ≥ 60% of bare throughput`, scenario: `${REGISTER} ÷ bare`, metric: 'ours/bare', op: '>=', target: 0.6 },
    { label: `${REGISTER} p99 ≤ 25 ms`, scenario: REGISTER, metric: 'p99 ms', op: '<=', target: 25 },
    { label: `${CHANGE}: no non-2xx in any run`, scenario: CHANGE, metric: 'non-2xx', op: '<=', target: 0, over: 'max' },
    { label: `${REGISTER}: no non-2xx in any run`, scenario: REGISTER, metric: 'non-2xx', op: '<=', target: 0, over: 'max' },
  ],
  async run(options, runIndex) {
    const config = httpConfig(options);
    const secret = randomBytes(32).toString('base64url');
    const authorization = `Bearer ${await mintDevToken(secret, { subject: 'bench', roles: ['sales-rep'], ttlSeconds: 3600 })}`;
    const headers = { 'content-type': 'application/json', authorization };
    const load = (server: ChildServer, path: string, body: () => string, scenario: string): LoadSpec => ({
      url: server.url,
      server,
      ...(options.cpuProfDir ? { profileFile: join(options.cpuProfDir, `${scenario.split(' ')[0]}-run${runIndex + 1}.cpuprofile`) } : {}),
      path,
      body,
      headers,
      connections: config.connections,
      seconds: config.seconds,
      warmupSeconds: config.warmupSeconds,
    });
    const measurements: Measurement[] = [];

    // Baseline: same path, headers and body shape; ids are random (the handler ignores them).
    options.log(`  ${BARE}: ${config.connections} connections, ${config.warmupSeconds} s warm-up + ${config.seconds} s...`);
    const bareServer = await startChildServer(serverScript('bare-server'));
    let bare: LoadResult;
    try {
      const fakeIds = Array.from({ length: config.customers }, () => randomUUID());
      bare = await driveLoad(load(bareServer, `/v1/commands/${CHANGE}`, rotating(fakeIds), 'bare'));
    } finally {
      await bareServer.stop();
    }
    report(options, BARE, bare);
    measurements.push(measurement(BARE, bare));

    const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-http-'));
    try {
      const crm = await startChildServer(serverScript('crm-server'), { env: { BENCH_DATA_DIR: dataDir, BENCH_JWT_SECRET: secret } });
      try {
        options.log(`  registering ${config.customers} customers...`);
        const customers = await registerCustomers(crm.url, authorization, config.customers, config.connections);

        options.log(`  ${CHANGE}: rotating over ${customers.length} customers...`);
        const change = await driveLoad(load(crm, `/v1/commands/${CHANGE}`, rotating(customers), CHANGE));
        report(options, CHANGE, change);
        measurements.push(measurement(CHANGE, change), { scenario: `${CHANGE} ÷ bare`, metrics: { 'ours/bare': change.rate / bare.rate } });

        options.log(`  ${REGISTER}: a new customer (and subject key) per request...`);
        let n = config.customers;
        const register = await driveLoad(load(crm, `/v1/commands/${REGISTER}`, () => registerCustomerBody(n++), REGISTER));
        report(options, REGISTER, register);
        measurements.push(measurement(REGISTER, register), { scenario: `${REGISTER} ÷ bare`, metrics: { 'ours/bare': register.rate / bare.rate } });
      } catch (error) {
        options.log(`  crm-server output:\n${crm.output()}`);
        throw error;
      } finally {
        await crm.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    return measurements;
  },
};
