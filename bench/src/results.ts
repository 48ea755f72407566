/** Aggregates runs into figures (median, min, max), checks goals, prints tables and writes result files. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineName } from './engines.ts';
import type { MachineInfo, SystemLoad } from './machine.ts';
import { type Spread, spread } from './stats.ts';
import type { Goal, Measurement, MetricSpec, RatioKind, Workload } from './workload.ts';

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
  const out: string[] = [
    `# Benchmark results ${report.startedAt}`,
    '',
    `\`${report.command}\` — ${report.options.quick ? 'quick size' : 'full size'}, ${report.options.runs} run(s) per workload; ` +
      'each cell is the median over runs, with (min–max) when runs differ.',
    '',
    ...machineTable(report.machine),
    '',
    ...summary(report),
  ];
  for (const w of report.workloads) {
    const [header, ...rows] = tableRows(w);
    out.push(`## ${w.name}`, '', w.title, '', `Parameters: \`${JSON.stringify(w.parameters)}\``, '');
    if (w.peakRssMiB !== undefined) out.push(`Peak RSS of the bench process over the workload: ${w.peakRssMiB.toFixed(0)} MiB (sampled every 100 ms; where the CRM runs in a child process — http-commands — this is the load generator's).`, '');
    if (chartMetric(w)) out.push(`![${w.name}](${chartFile(report, w)})`, '');
    if (w.load) out.push(`Machine load (1-min load average / CPU pressure avg10 %): before ${loadText(w.load.before)}, after ${loadText(w.load.after)}.`, '');
    out.push(`| ${header!.join(' | ')} |`, `|${header!.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
    for (const r of rows) out.push(`| ${r.join(' | ')} |`);
    out.push('', '| goal | value | target | |', '|---|--:|--:|---|');
    for (const g of w.goals) out.push(`| ${goalCells(g).join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

/** A goal's label, value, target and verdict: the same cells in the workload's table and in the summary. */
function goalCells(g: GoalResult): string[] {
  return [g.label, `${format(g.value, 3)}${g.over === 'max' ? ' (worst run)' : ''}`, `${g.op} ${g.target}`, g.met ? 'met' : '**MISSED**'];
}

const ENGINE_LABEL: Record<EngineName, string> = { postgres: 'PostgreSQL', kafka: 'Kafka', ferretdb: 'FerretDB' };

function machineTable(m: MachineInfo): string[] {
  const rows: [string, string][] = [
    ['CPU', `${m.cpuModel}, ${m.cores} cores`],
    ['memory', `${m.memoryGiB} GiB`],
    ['OS', `${m.platform} ${m.kernel} ${m.arch}`],
    ['Node', m.node],
    ['SQLite', `${m.sqlite} (better-sqlite3 ${m.betterSqlite3})`],
    ...engineRows(m),
    // Older result files have no libraries: the row is left out rather than made up.
    ...(m.libraries ? [['libraries', Object.entries(m.libraries).map(([name, version]) => `${name} ${version}`).join(', ')] as [string, string]] : []),
    ['temp stores', `${m.tmpdir} on ${m.tmpdirFileSystem}`],
    ['git', m.git ? `${m.git.commit.slice(0, 12)}${m.git.dirty ? ' (uncommitted changes)' : ''}` : 'unknown'],
  ];
  return ['| machine | |', '|---|---|', ...rows.map(([name, value]) => `| ${name} | ${mdCell(value)} |`)];
}

function engineRows(m: MachineInfo): [string, string][] {
  if (!m.engines) return [['engines', 'not recorded (result written before engine versions were)']];
  return (Object.keys(ENGINE_LABEL) as EngineName[]).map((name) => {
    const e = m.engines![name];
    if (!e || e.usedBy.length === 0) return [ENGINE_LABEL[name], e?.version ?? 'not recorded'];
    const how = [e.source && `from ${e.source}`, `used by ${e.usedBy.join(', ')}`].filter(Boolean).join('; ');
    return [ENGINE_LABEL[name], `${e.version} — ${how}`];
  });
}

/** What a ratio compares, in the summary's words. */
const RATIO_LABEL: Record<RatioKind, string> = { limit: 'ours ÷ limit', peer: 'ours ÷ peer', feature: 'with ÷ without a feature' };

/**
 * The summary up front: every goal of every workload, every ratio figure (metrics marked
 * `ratio` in the workloads' specs), and links to the charts.
 */
function summary(report: BenchReport): string[] {
  return ['## Summary', '', ...goalsSummary(report.workloads), ...ratiosSummary(report), ...chartsLine(report)];
}

function goalsSummary(workloads: WorkloadResult[]): string[] {
  const goals = workloads.flatMap((w) => w.goals.map((g) => ({ w, g })));
  if (goals.length === 0) return ['### Goals', '', 'No workload of this run has goals.', ''];
  const met = goals.filter(({ g }) => g.met).length;
  return [
    '### Goals',
    '',
    `${met} of ${goals.length} goals met (each as checked in its workload's section).`,
    '',
    '| workload | goal | value | target | |',
    '|---|---|--:|--:|---|',
    ...goals.map(({ w, g }) => `| ${sectionLink(w)} | ${goalCells(g).map(mdCell).join(' | ')} |`),
    '',
  ];
}

function ratiosSummary(report: BenchReport): string[] {
  const rows = report.workloads.flatMap((w) =>
    w.figures.flatMap((f) => {
      const spec = w.metrics.find((m) => m.key === f.metric);
      if (!spec?.ratio) return [];
      const goals = w.goals.filter((g) => g.scenario === f.scenario && g.metric === f.metric);
      const goal = goals.map((g) => `${g.op} ${g.target} ${g.met ? 'met' : '**MISSED**'}`).join('; ');
      const chart = chartMetric(w) ? `[${chartMetric(w)}](${chartFile(report, w)})` : '';
      return [[sectionLink(w), f.scenario, `${RATIO_LABEL[spec.ratio]} (\`${f.metric}\`)`, cell(f, spec.digits), goal, chart]];
    }),
  );
  if (rows.length === 0) return ['### Ratios', '', 'No workload of this run measures a ratio.', ''];
  return [
    '### Ratios',
    '',
    "*ours ÷ limit*: ours against the engine's own limit doing the same work bare (raw INSERT, bare HTTP, raw upserts); " +
      '*ours ÷ peer*: against another product (Emmett); *with ÷ without a feature*: what a feature of ours costs (sealed ÷ plaintext). ' +
      "Median over runs (min–max); the chart is the workload's, with the metric it draws.",
    '',
    '| workload | scenario | ratio | median (min–max) | goal | chart |',
    '|---|---|---|--:|---|---|',
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
    '',
  ];
}

/** Every chart of the run, also those of workloads without ratios. */
function chartsLine(report: BenchReport): string[] {
  const links = report.workloads.filter((w) => chartMetric(w)).map((w) => `[${w.name}](${chartFile(report, w)})`);
  return links.length ? [`Charts: ${links.join(' · ')}`, ''] : [];
}

/** A link to the workload's section (GitHub's heading anchor: the name, which is already lower-case with dashes). */
function sectionLink(w: WorkloadResult): string {
  return `[${w.name}](#${w.name})`;
}

function chartFile(report: BenchReport, w: WorkloadResult): string {
  return `${stampOf(report)}/${w.name}.svg`;
}

/** A pipe would end a Markdown table cell early. */
function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|');
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
