/** What every workload provides to main.ts, and what one run of it yields. */
import type { EngineName } from './engines.ts';

export interface BenchOptions {
  quick: boolean;
  /** How many times each workload is run; figures are the median over runs. */
  runs: number;
  /** store-append: successful appends measured per scenario (overrides the default). */
  appends?: number;
  /** store-append: stop each scenario after this many seconds even if `appends` is not reached. */
  storeSeconds?: number;
  /** http-commands: seconds of measured load per scenario (overrides the default). */
  httpSeconds?: number;
  /** kafka-relay: events pre-filled into the store and relayed (overrides the default). */
  relayEvents?: number;
  /** kafka-relay: seconds of offered load in the latency scenario (overrides the default). */
  latencySeconds?: number;
  /** kafka-relay: offered load of the latency scenario, events/s (overrides the default 1,000). */
  rate?: number;
  /** pg-store-append, diagnosis only: ANALYZE the tables after the warm-up. */
  pgAnalyze?: boolean;
  /** Write CPU profiles of each measured phase (store: this process; HTTP: the server child) into this folder. */
  cpuProfDir?: string;
  log(line: string): void;
}

/** One scenario's figures from one run, e.g. `{ 'events/s': 9000, 'p99 ms': 12 }`. */
export interface Measurement {
  scenario: string;
  metrics: Record<string, number>;
  /** Anything worth keeping in the results file that is not a figure (e.g. status codes). */
  notes?: Record<string, unknown>;
}

export interface MetricSpec {
  key: string;
  /** Decimal places when printed. */
  digits: number;
  /**
   * Marks a ratio metric, listed in the results' summary "Ratios" table:
   * - `limit`: ours ÷ an engine's own limit doing the same work bare (raw INSERT, bare HTTP, raw upserts);
   * - `peer`: ours ÷ another product doing the same work (Emmett);
   * - `feature`: ours with a feature ÷ ours without it (sealed ÷ plaintext: what the feature costs).
   */
  ratio?: RatioKind;
}

export type RatioKind = 'limit' | 'peer' | 'feature';

/** A target checked against the median over runs of one scenario's metric. */
export interface Goal {
  label: string;
  scenario: string;
  metric: string;
  op: '>=' | '<=';
  target: number;
  /** Which run statistic is checked: the median (default) or the worst run's max. */
  over?: 'median' | 'max';
}

export interface Workload {
  name: string;
  title: string;
  /** The parameters a run uses under these options, recorded with the results. */
  parameters(options: BenchOptions): Record<string, unknown>;
  metrics: MetricSpec[];
  goals: Goal[];
  /**
   * Real engines the workload needs (their URLs in CRM_PG_URL / CRM_KAFKA_URL). main.ts
   * brings up those whose variable is unset before the workload runs, and stops at the end
   * only what it started.
   */
  engines?: EngineName[];
  run(options: BenchOptions, runIndex: number): Promise<Measurement[]>;
}
