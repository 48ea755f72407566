/**
 * Sales KPIs for management: the open pipeline, revenue won and the win rate. Each spans
 * many deals, that is many streams, so by the one-stream rule (see ../view.ts) no document
 * keeps them as counters. Each `sales/deals` document instead carries the non-personal KPI
 * fields below, derived from its own state, and the KPIs are aggregation pipelines over the
 * deals, run by the query side at request time.
 *
 * The read stores group by one field path only, so the fields a KPI groups by are joined
 * into one string key (`<part>|<part>`); `shape` splits it again. No part can contain the
 * separator: stages and months are fixed vocabularies, currencies ISO 4217 codes, owners UUIDs.
 */
import type { Pipeline } from '@crm/core';
import { monthOf, num, str } from '../view.ts';
import { SALES_COLLECTIONS } from './collections.ts';

const SEPARATOR = '|';
const joinKey = (...parts: string[]) => parts.join(SEPARATOR);
const splitKey = (key: unknown, parts: number): string[] | undefined => {
  const split = typeof key === 'string' ? key.split(SEPARATOR) : [];
  return split.length === parts ? split : undefined;
};

/** What a deal document holds for the KPIs; readable by management only. */
export interface DealKpiFields {
  /** 'YYYY-MM' of `wonOn` or `lostOn`; null while open. */
  closedMonth: string | null;
  won: 0 | 1;
  lost: 0 | 1;
  closed: 0 | 1;
  /** `<stage>|<currency>` while open, else null. */
  pipelineKey: string | null;
  /** `<closedMonth>|<ownerId>|<currency>` when won, else null. */
  revenueKey: string | null;
  /** `<closedMonth>|<ownerId>` when won or lost, else null. */
  winRateKey: string | null;
}

export const DEAL_KPI_FIELDS = ['closedMonth', 'won', 'lost', 'closed', 'pipelineKey', 'revenueKey', 'winRateKey'] as const satisfies ReadonlyArray<
  keyof DealKpiFields
>;

/** The KPI fields of a deal document, derived from its status, stage, currency, owner and close date. */
export function dealKpiFields(deal: Record<string, unknown>): DealKpiFields {
  const status = str(deal.status);
  const currency = str(deal.currency) ?? '';
  const ownerId = str(deal.ownerId) ?? '';
  const closedOn = status === 'won' ? str(deal.wonOn) : status === 'lost' ? str(deal.lostOn) : undefined;
  const closedMonth = closedOn === undefined ? null : monthOf(closedOn);
  const won = status === 'won' ? 1 : 0;
  const lost = status === 'lost' ? 1 : 0;
  return {
    closedMonth,
    won,
    lost,
    closed: closedMonth === null ? 0 : 1,
    pipelineKey: status === 'open' ? joinKey(str(deal.stage) ?? '', currency) : null,
    revenueKey: won && closedMonth ? joinKey(closedMonth, ownerId, currency) : null,
    winRateKey: closedMonth ? joinKey(closedMonth, ownerId) : null,
  };
}

export type KpiName = 'pipeline' | 'revenue' | 'winRate';

/** One KPI as the query side runs it: `pipeline` over the logical `collection`, then `shape` on the rows. */
export interface KpiQuery<Name extends KpiName = KpiName, Answer = unknown> {
  name: Name;
  /** Logical collection name, e.g. 'sales/deals'. */
  collection: string;
  /** Only `$match`, `$group` (`_id` one `'$path'` or null; `$sum`, `$avg`), `$sort`, `$count`: what every read store runs. */
  pipeline: Pipeline;
  /** Turns the raw aggregate rows into the answer. */
  shape(rows: Record<string, unknown>[]): Answer;
}

/** Open deals by stage and currency: how many, and their total value in minor units. */
export interface PipelineKpi {
  stage: string;
  currency: string;
  count: number;
  valueMinor: number;
}

/** Won deals per month of winning, owner and currency. */
export interface RevenueKpi {
  month: string;
  ownerId: string;
  currency: string;
  revenueMinor: number;
  won: number;
}

/** Closed deals per month of closing and owner; `winRate` = won / (won + lost), null without closed deals. */
export interface WinRateKpi {
  month: string;
  ownerId: string;
  won: number;
  lost: number;
  winRate: number | null;
}

export interface SalesKpis {
  pipeline: PipelineKpi[];
  revenue: RevenueKpi[];
  winRate: WinRateKpi[];
}

/**
 * Rows keyed by a joined group key become answers sorted by their key parts (so the order
 * does not depend on a store's collation). A row whose key does not split into the expected
 * parts belongs to no group of the KPI and is left out.
 */
function byKey<T>(rows: Record<string, unknown>[], parts: number, toAnswer: (key: string[], row: Record<string, unknown>) => T): T[] {
  return rows
    .flatMap((row) => {
      const key = splitKey(row._id, parts);
      return key ? [{ key, answer: toAnswer(key, row) }] : [];
    })
    .sort((a, b) => compareKeys(a.key, b.key))
    .map(({ answer }) => answer);
}

export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export const winRate = (won: number, lost: number): number | null => (won + lost === 0 ? null : won / (won + lost));

export const pipelineKpi: KpiQuery<'pipeline', PipelineKpi[]> = {
  name: 'pipeline',
  collection: SALES_COLLECTIONS.deals,
  pipeline: [
    { $match: { status: 'open' } },
    { $group: { _id: '$pipelineKey', count: { $sum: 1 }, valueMinor: { $sum: '$amountMinor' } } },
  ],
  shape: (rows) => byKey(rows, 2, ([stage = '', currency = ''], row) => ({ stage, currency, count: num(row.count), valueMinor: num(row.valueMinor) })),
};

export const revenueKpi: KpiQuery<'revenue', RevenueKpi[]> = {
  name: 'revenue',
  collection: SALES_COLLECTIONS.deals,
  pipeline: [
    { $match: { won: 1 } },
    { $group: { _id: '$revenueKey', revenueMinor: { $sum: '$amountMinor' }, won: { $sum: 1 } } },
  ],
  shape: (rows) =>
    byKey(rows, 3, ([month = '', ownerId = '', currency = ''], row) => ({
      month,
      ownerId,
      currency,
      revenueMinor: num(row.revenueMinor),
      won: num(row.won),
    })),
};

export const winRateKpi: KpiQuery<'winRate', WinRateKpi[]> = {
  name: 'winRate',
  collection: SALES_COLLECTIONS.deals,
  pipeline: [
    { $match: { closed: 1 } },
    { $group: { _id: '$winRateKey', won: { $sum: '$won' }, lost: { $sum: '$lost' } } },
  ],
  shape: (rows) =>
    byKey(rows, 2, ([month = '', ownerId = ''], row) => {
      const won = num(row.won);
      const lost = num(row.lost);
      return { month, ownerId, won, lost, winRate: winRate(won, lost) };
    }),
};

/** Every sales KPI the query side serves. */
export const SALES_KPIS = [pipelineKpi, revenueKpi, winRateKpi] as const satisfies readonly KpiQuery[];

/** The KPIs from the rows each query's pipeline returned. */
export function computeKpis(rowsByName: Readonly<Record<KpiName, Record<string, unknown>[]>>): SalesKpis {
  return {
    pipeline: pipelineKpi.shape(rowsByName.pipeline),
    revenue: revenueKpi.shape(rowsByName.revenue),
    winRate: winRateKpi.shape(rowsByName.winRate),
  };
}
