import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { salesView, SALES_COLLECTIONS as S } from './view.ts';
import { computeKpis, SALES_KPIS, winRateKpi, pipelineKpi, type KpiName, type SalesKpis } from './kpis.ts';
import { referenceKpis } from './kpi-reference.ts';
import { evaluatePipeline } from '../evaluate-pipeline.ts';
import { history, ids } from '../fixtures.ts';
import { docs, project } from '../testing.ts';
import type { StreamEvent } from '../testing.ts';

/** What the query side does: each KPI's pipeline over its collection, then the shapes. */
function kpisOver(events: readonly StreamEvent[]): { answer: SalesKpis; deals: Record<string, unknown>[] } {
  const store = project(salesView, events);
  const rows = Object.fromEntries(SALES_KPIS.map((q) => [q.name, evaluatePipeline(docs(store, q.collection), q.pipeline)])) as Record<KpiName, Record<string, unknown>[]>;
  return { answer: computeKpis(rows), deals: docs(store, S.deals) };
}

/** The document fields a pipeline reads: keys of its `$match` filters and `"$path"` operands of its `$group` stages (top-level names). */
function fieldsRead(pipeline: readonly Record<string, unknown>[]): Set<string> {
  const read = new Set<string>();
  const top = (path: string) => read.add(path.split('.')[0]!);
  const filterKeys = (filter: unknown): void => {
    for (const [key, condition] of Object.entries(filter as Record<string, unknown>)) {
      if (key === '$and' || key === '$or') for (const f of condition as unknown[]) filterKeys(f);
      else top(key);
    }
  };
  const references = (value: unknown): void => {
    if (typeof value === 'string' && value.startsWith('$')) top(value.slice(1));
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach(references);
  };
  for (const stage of pipeline) {
    if ('$match' in stage) filterKeys(stage.$match);
    if ('$group' in stage) references(stage.$group);
  }
  return read;
}

describe('sales KPIs at query time', () => {
  test('on the fixture: the pipeline, revenue and win rate per month, owner and currency', () => {
    const { answer } = kpisOver(history());
    assert.deepEqual(answer, {
      pipeline: [
        { stage: 'negotiation', currency: 'USD', count: 1, valueMinor: 70000 },
        { stage: 'qualification', currency: 'EUR', count: 2, valueMinor: 6500 },
      ],
      revenue: [
        { month: '2025-03', ownerId: ids.rep, currency: 'EUR', revenueMinor: 12000, won: 1 },
        { month: '2025-04', ownerId: ids.rep2, currency: 'USD', revenueMinor: 30000, won: 1 },
      ],
      winRate: [
        { month: '2025-03', ownerId: ids.rep, won: 1, lost: 1, winRate: 0.5 },
        { month: '2025-04', ownerId: ids.rep, won: 0, lost: 1, winRate: 0 },
        { month: '2025-04', ownerId: ids.rep2, won: 1, lost: 0, winRate: 1 },
      ],
    });
  });
  test('pipelines and shapes equal the reference computed from the deals, after every event', () => {
    for (const erased of [false, true]) {
      const events = history(erased);
      for (let n = 0; n <= events.length; n++) {
        const { answer, deals } = kpisOver(events.slice(0, n));
        assert.deepEqual(answer, referenceKpis(deals), `${erased ? 'erased, ' : ''}after ${n} events`);
      }
    }
  });
  test('shapes: win rate null without closed deals, rows of no group left out, answers in key order', () => {
    assert.deepEqual(winRateKpi.shape([{ _id: `2025-05|${ids.rep}`, won: 0, lost: 0 }]), [{ month: '2025-05', ownerId: ids.rep, won: 0, lost: 0, winRate: null }]);
    assert.deepEqual(
      pipelineKpi.shape([
        { _id: 'qualification|USD', count: 1, valueMinor: 5 },
        { _id: null, count: 3, valueMinor: 9 },
        { _id: 'proposal|EUR', count: 2, valueMinor: 7 },
      ]),
      [
        { stage: 'proposal', currency: 'EUR', count: 2, valueMinor: 7 },
        { stage: 'qualification', currency: 'USD', count: 1, valueMinor: 5 },
      ],
    );
  });
  test('each KPI reads only declared deal fields that management may read', () => {
    assert.deepEqual(SALES_KPIS.map((q) => q.name), ['pipeline', 'revenue', 'winRate']);
    const deals = salesView.collections.deals!;
    for (const query of SALES_KPIS) {
      assert.equal(query.collection, S.deals, query.name);
      for (const field of fieldsRead(query.pipeline)) assert.ok(deals.fields[field]?.roles.includes('management'), `${query.name} reads ${field}`);
    }
  });
});
