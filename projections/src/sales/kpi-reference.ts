/**
 * Test-only: the sales KPIs computed straight from deal documents' own fields (status,
 * stage, currency, owner, close date, amount), without the derived KPI fields or any
 * pipeline. Tests compare it with what `SALES_KPIS` answers, which proves both the derived
 * fields and the pipelines.
 */
import { compareKeys, winRate, type PipelineKpi, type RevenueKpi, type SalesKpis, type WinRateKpi } from './kpis.ts';

/** Groups items under a key of several parts, in the KPIs' order of those parts. */
function tally<T>(
  items: readonly Record<string, unknown>[],
  keyOf: (item: Record<string, unknown>) => string[] | undefined,
  zero: () => T,
  add: (total: T, item: Record<string, unknown>) => void,
): Array<[string[], T]> {
  const groups = new Map<string, [string[], T]>();
  for (const item of items) {
    const key = keyOf(item);
    if (!key) continue;
    const id = JSON.stringify(key);
    const entry = groups.get(id) ?? [key, zero()];
    add(entry[1], item);
    groups.set(id, entry);
  }
  return [...groups.values()].sort(([a], [b]) => compareKeys(a, b));
}

const text = (value: unknown) => String(value);
const amount = (deal: Record<string, unknown>) => deal.amountMinor as number;
const closedOn = (deal: Record<string, unknown>) => (deal.status === 'won' ? text(deal.wonOn) : deal.status === 'lost' ? text(deal.lostOn) : undefined);

export function referenceKpis(deals: readonly Record<string, unknown>[]): SalesKpis {
  const pipeline: PipelineKpi[] = tally(
    deals,
    (d) => (d.status === 'open' ? [text(d.stage), text(d.currency)] : undefined),
    () => ({ count: 0, valueMinor: 0 }),
    (t, d) => {
      t.count += 1;
      t.valueMinor += amount(d);
    },
  ).map(([[stage = '', currency = ''], t]) => ({ stage, currency, ...t }));

  const revenue: RevenueKpi[] = tally(
    deals,
    (d) => (d.status === 'won' ? [text(d.wonOn).slice(0, 7), text(d.ownerId), text(d.currency)] : undefined),
    () => ({ revenueMinor: 0, won: 0 }),
    (t, d) => {
      t.revenueMinor += amount(d);
      t.won += 1;
    },
  ).map(([[month = '', ownerId = '', currency = ''], t]) => ({ month, ownerId, currency, ...t }));

  const winRates: WinRateKpi[] = tally(
    deals,
    (d) => {
      const on = closedOn(d);
      return on === undefined ? undefined : [on.slice(0, 7), text(d.ownerId)];
    },
    () => ({ won: 0, lost: 0 }),
    (t, d) => {
      if (d.status === 'won') t.won += 1;
      else t.lost += 1;
    },
  ).map(([[month = '', ownerId = ''], t]) => ({ month, ownerId, ...t, winRate: winRate(t.won, t.lost) }));

  return { pipeline, revenue, winRate: winRates };
}
