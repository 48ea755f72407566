/**
 * Drives one POST endpoint with autocannon (programmatic API) and measures it precisely:
 * autocannon's own histogram keeps whole milliseconds, so latencies are taken from its
 * per-response event instead (hrtime-based, fractional ms).
 */
import autocannon from 'autocannon';
import { summarizeLatencies } from '../stats.ts';
import type { ChildServer } from './child-server.ts';

export interface LoadSpec {
  url: string;
  path: string;
  connections: number;
  seconds: number;
  /** Unmeasured load before the measured one (same connections). */
  warmupSeconds: number;
  headers: Record<string, string>;
  /** A fresh body per request. */
  body(): string;
  /** The server, to read its CPU usage (and profile it) over the measured phase. */
  server?: ChildServer;
  /** When set, the server's CPU profile of the measured phase is written here. */
  profileFile?: string;
}

export interface LoadResult {
  /** Completed responses per second over the measured phase. */
  rate: number;
  responses: number;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCounts: Record<string, number>;
  /** Up to three bodies of non-2xx answers, for the report. */
  failureSamples: string[];
  /** CPU used over the measured phase, in % of one core: the server, and this process (autocannon). */
  serverCpuPercent: number;
  loadgenCpuPercent: number;
}

export async function driveLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSeconds > 0) await once(spec, spec.warmupSeconds);
  if (spec.profileFile) await spec.server?.startProfile();
  const serverBefore = await spec.server?.cpuUsage();
  const loadgenBefore = process.cpuUsage();
  const started = performance.now();
  const result = await once(spec, spec.seconds);
  const elapsedUs = (performance.now() - started) * 1000;
  const loadgen = process.cpuUsage(loadgenBefore);
  const serverAfter = await spec.server?.cpuUsage();
  if (spec.profileFile) await spec.server?.stopProfile(spec.profileFile);
  const percent = (usage: NodeJS.CpuUsage) => (100 * (usage.user + usage.system)) / elapsedUs;
  return {
    ...result,
    loadgenCpuPercent: percent(loadgen),
    serverCpuPercent:
      serverBefore && serverAfter
        ? percent({ user: serverAfter.user - serverBefore.user, system: serverAfter.system - serverBefore.system })
        : Number.NaN,
  };
}

type Measured = Omit<LoadResult, 'serverCpuPercent' | 'loadgenCpuPercent'>;

function once(spec: LoadSpec, seconds: number): Promise<Measured> {
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const failureSamples: string[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: spec.path,
            headers: spec.headers,
            setupRequest: (request) => ({ ...request, body: spec.body() }),
            onResponse: (status, body) => {
              if ((status < 200 || status > 299) && failureSamples.length < 3) failureSamples.push(`${status} ${body.slice(0, 500)}`);
            },
          },
        ],
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const summary = summarizeLatencies(latencies);
        resolve({
          rate: latencies.length / result.duration,
          responses: latencies.length,
          p50: summary.p50,
          p99: summary.p99,
          max: summary.max,
          seconds: result.duration,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          statusCounts,
          failureSamples,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    });
  });
}
