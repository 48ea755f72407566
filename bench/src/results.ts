/** Aggregates runs into figures (median, min, max), checks goals, prints tables and writes result files. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo, SystemLoad } from './machine.ts';
import { type Spread, spread } from './stats.ts';
import type { Goal, Measurement, MetricSpec, Workload } from './workload.ts';

export interface Figure extends Spread {
  scenario: string;
  metric: string;
  /** One value per run, in run order. */
  values: number[];
}

export interface GoalResult extends Goal {
  value: number;
  met: boolean;
}

export interface WorkloadResult {
  name: string;
  title: string;
  parameters: Record<string, unknown>;
  metrics: MetricSpec[];
  figures: Figure[];
  goals: GoalResult[];
  runs: Measurement[][];
  /** Machine load before and after the workload: high values mean noisy figures. */
  load?: { before: SystemLoad; after: SystemLoad };
  /** Peak RSS of the bench process over all runs of the workload (sampled every 100 ms), MiB. */
  peakRssMiB?: number;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  command: string;
  options: { quick: boolean; runs: number };
  machine: MachineInfo;
  workloads: WorkloadResult[];
}

export function aggregate(workload: Workload, parameters: Record<string, unknown>, runs: Measurement[][]): WorkloadResult {
  const figures: Figure[] = [];
  const scenarios = [...new Set(runs.flat().map((m) => m.scenario))];
  for (const scenario of scenarios) {
    for (const { key } of workload.metrics) {
      const values = runs.map((run) => run.find((m) => m.scenario === scenario)?.metrics[key]).filter((v): v is number => v !== undefined);
      if (values.length > 0) figures.push({ scenario, metric: key, values, ...spread(values) });
    }
  }
  const goals = workload.goals.map((goal): GoalResult => {
    const figure = figures.find((f) => f.scenario === goal.scenario && f.metric === goal.metric);
    const value = figure ? (goal.over === 'max' ? figure.max : figure.median) : Number.NaN;
    const met = Number.isFinite(value) && (goal.op === '>=' ? value >= goal.target : value <= goal.target);
    return { ...goal, value, met };
  });
  return { name: workload.name, title: workload.title, parameters, metrics: workload.metrics, figures, goals, runs };
}

function format(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function cell(figure: Figure | undefined, digits: number): string {
  if (!figure) return '';
  if (figure.values.length < 2 || figure.min === figure.max) return format(figure.median, digits);
  return `${format(figure.median, digits)} (${format(figure.min, digits)}–${format(figure.max, digits)})`;
}

/** Rows: scenarios; columns: the metrics any scenario has. */
function tableRows(result: WorkloadResult): string[][] {
  const scenarios = [...new Set(result.figures.map((f) => f.scenario))];
  const metrics = result.metrics.filter((m) => result.figures.some((f) => f.metric === m.key));
  const header = ['scenario', ...metrics.map((m) => m.key)];
  const rows = scenarios.map((scenario) => [
    scenario,
    ...metrics.map((m) => cell(result.figures.find((f) => f.scenario === scenario && f.metric === m.key), m.digits)),
  ]);
  return [header, ...rows];
}

function goalLine(goal: GoalResult): string {
  const stat = goal.over === 'max' ? 'worst run' : 'median';
  return `${goal.met ? 'MET   ' : 'MISSED'}  ${goal.label}: ${stat} ${format(goal.value, 3)} (goal ${goal.op} ${goal.target})`;
}

export function consoleTable(result: WorkloadResult): string {
  const rows = tableRows(result);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const runs = result.runs.length;
  return [
    `${result.title} — median of ${runs} run${runs === 1 ? '' : 's'} (min–max)`,
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    ...result.goals.map(goalLine),
  ].join('\n');
}

export function markdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    `# Benchmark results ${report.startedAt}`,
    '',
    `\`${report.command}\` — ${report.options.quick ? 'quick size' : 'full size'}, ${report.options.runs} run(s) per workload; ` +
      'each cell is the median over runs, with (min–max) when runs differ.',
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${m.cpuModel}, ${m.cores} cores |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.platform} ${m.kernel} ${m.arch} |`,
    `| Node | ${m.node} |`,
    `| SQLite | ${m.sqlite} (better-sqlite3 ${m.betterSqlite3}) |`,
    `| temp stores | ${m.tmpdir} on ${m.tmpdirFileSystem} |`,
    `| git | ${m.git ? `${m.git.commit.slice(0, 12)}${m.git.dirty ? ' (uncommitted changes)' : ''}` : 'unknown'} |`,
    '',
  ];
  for (const w of report.workloads) {
    const [header, ...rows] = tableRows(w);
    out.push(`## ${w.name}`, '', w.title, '', `Parameters: \`${JSON.stringify(w.parameters)}\``, '');
    if (w.peakRssMiB !== undefined) out.push(`Peak RSS of the bench process over the workload: ${w.peakRssMiB.toFixed(0)} MiB (sampled every 100 ms; where the CRM runs in a child process — http-commands — this is the load generator's).`, '');
    if (chartSvg(w)) out.push(`![${w.name}](${stampOf(report)}/${w.name}.svg)`, '');
    if (w.load) out.push(`Machine load (1-min load average / CPU pressure avg10 %): before ${loadText(w.load.before)}, after ${loadText(w.load.after)}.`, '');
    out.push(`| ${header!.join(' | ')} |`, `|${header!.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
    for (const r of rows) out.push(`| ${r.join(' | ')} |`);
    out.push('', '| goal | value | target | |', '|---|--:|--:|---|');
    for (const g of w.goals) {
      out.push(`| ${g.label} | ${format(g.value, 3)}${g.over === 'max' ? ' (worst run)' : ''} | ${g.op} ${g.target} | ${g.met ? 'met' : '**MISSED**'} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function loadText(load: SystemLoad): string {
  return `${load.loadAverage1m} / ${load.cpuPressureAvg10 ?? '?'}`;
}

/** Writes `<stamp>.json`, `<stamp>.md` and `latest.md` into `dir`; returns the paths. */
function stampOf(report: BenchReport): string {
  return report.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
}

export function writeResults(report: BenchReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = stampOf(report);
  const charts: string[] = [];
  for (const w of report.workloads) {
    const svg = chartSvg(w);
    if (!svg) continue;
    mkdirSync(join(dir, stamp), { recursive: true });
    const file = join(dir, stamp, `${w.name}.svg`);
    writeFileSync(file, svg);
    charts.push(file);
  }
  const json = join(dir, `${stamp}.json`);
  const md = join(dir, `${stamp}.md`);
  const latest = join(dir, 'latest.md');
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(md, markdown(report));
  copyFileSync(md, latest);
  return [json, md, latest, ...charts];
}

const THROUGHPUT_METRICS = ['events/s', 'rows/s', 'req/s', 'rebuild ev/s', 'ops/s', 'MiB/s'];

/** The metric a workload's chart shows: its first throughput metric that at least two scenarios have. */
function chartMetric(result: WorkloadResult): string | undefined {
  const count = (metric: string) => result.figures.filter((f) => f.metric === metric).length;
  return [...THROUGHPUT_METRICS, ...result.metrics.map((m) => m.key)].find((m) => count(m) >= 2);
}

function barColor(scenario: string): string {
  if (/emmett|peer/i.test(scenario)) return '#dd6b20';
  if (/raw|limit|bare|node:crypto|better-sqlite3/i.test(scenario)) return '#718096';
  return '#2b6cb0';
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A self-contained SVG: one horizontal bar per scenario (median over runs, a whisker from min
 * to max), blue for ours, orange for the peer (Emmett), grey for an engine's own limit.
 * Undefined when the workload has no metric that two scenarios share.
 */
export function chartSvg(result: WorkloadResult): string | undefined {
  const metric = chartMetric(result);
  if (!metric) return undefined;
  const figures = result.figures.filter((f) => f.metric === metric && Number.isFinite(f.median));
  const max = Math.max(...figures.map((f) => f.max), 0) || 1;
  const labelWidth = 360;
  const barWidth = 420;
  const rowHeight = 24;
  const top = 48;
  const height = top + figures.length * rowHeight + 40;
  const width = labelWidth + barWidth + 110;
  const digits = result.metrics.find((m) => m.key === metric)?.digits ?? 0;
  const rows = figures.map((f, i) => {
    const y = top + i * rowHeight;
    const w = (f.median / max) * barWidth;
    const whisker =
      f.min !== f.max
        ? `<line x1="${labelWidth + (f.min / max) * barWidth}" x2="${labelWidth + (f.max / max) * barWidth}" y1="${y + 9}" y2="${y + 9}" stroke="#1a202c" stroke-width="1.5"/>`
        : '';
    return (
      `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${escapeXml(f.scenario)}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${barColor(f.scenario)}"/>${whisker}` +
      `<text x="${labelWidth + w + 6}" y="${y + 13}">${format(f.median, digits)}</text>`
    );
  });
  const legendY = height - 16;
  const legend = [
    ['#2b6cb0', 'ours'],
    ['#dd6b20', 'peer (Emmett)'],
    ['#718096', "engine's own limit"],
  ]
    .map(([color, label], i) => `<rect x="${labelWidth + i * 150}" y="${legendY - 10}" width="12" height="12" fill="${color}"/><text x="${labelWidth + i * 150 + 18}" y="${legendY}">${label}</text>`)
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="bold">${escapeXml(result.name)}: ${escapeXml(metric)} (median over ${result.runs.length} run(s); whisker min–max)</text>`,
    `<line x1="${labelWidth}" x2="${labelWidth}" y1="${top - 6}" y2="${top + figures.length * rowHeight}" stroke="#a0aec0"/>`,
    ...rows,
    legend,
    '</svg>',
    '',
  ].join('\n');
}
