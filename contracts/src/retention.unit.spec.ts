import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventContract, eventContracts } from './catalogue.ts';
import { PRIVACY_EVENT_TYPES } from './privacy.ts';
import {
  addIsoDuration,
  parseIsoDuration,
  RETENTION_EVENT_TYPES,
  RETENTION_RULES,
  type RetentionRule,
  retentionDueOn,
  retentionRulesFor,
} from './retention.ts';

const rules: readonly RetentionRule[] = RETENTION_RULES;

describe('retention rules', () => {
  test('ids are unique, periods and lead times are ISO 8601 durations, and each lead time is shorter than its period', () => {
    assert.equal(new Set(rules.map((r) => r.id)).size, rules.length);
    for (const rule of rules) {
      const start = '2030-01-01';
      assert.ok(addIsoDuration(start, rule.reminderLeadTime) < addIsoDuration(start, rule.period), rule.id);
      assert.ok(rule.legalBasis.length > 20 && rule.purpose.length > 10, rule.id);
    }
  });

  test('every event a rule names exists in the catalogue', () => {
    for (const rule of rules) for (const type of [...rule.records, ...rule.trigger.events]) assert.ok(eventContract(type), `${rule.id}: ${type}`);
  });

  test('every event type that carries personal data of the business records is governed by a rule', () => {
    for (const contract of eventContracts.values()) {
      if (contract.personal.length === 0 || PRIVACY_EVENT_TYPES.has(contract.type)) continue;
      assert.ok(retentionRulesFor(contract.type).length > 0, `${contract.type} has personal fields but no retention rule`);
    }
  });

  test('the scheduler’s events are in the catalogue and carry no personal field', () => {
    for (const type of RETENTION_EVENT_TYPES) {
      const contract = eventContract(type);
      assert.ok(contract, type);
      assert.deepEqual(contract.personal, []);
      assert.deepEqual(contract.subjects, ['subjectId']);
    }
  });
});

describe('calendar arithmetic', () => {
  test('durations: years, months, weeks and days; a time part or an empty duration is refused', () => {
    assert.deepEqual(parseIsoDuration('P5Y'), { years: 5, months: 0, days: 0 });
    assert.deepEqual(parseIsoDuration('P1Y2M3W4D'), { years: 1, months: 2, days: 25 });
    assert.throws(() => parseIsoDuration('P'), RangeError);
    assert.throws(() => parseIsoDuration('PT1H'), RangeError);
    assert.throws(() => parseIsoDuration('5Y'), RangeError);
  });

  test('adding and subtracting clamps to the end of a shorter month', () => {
    assert.equal(addIsoDuration('2028-02-29', 'P1Y'), '2029-02-28');
    assert.equal(addIsoDuration('2026-01-31', 'P1M'), '2026-02-28');
    assert.equal(addIsoDuration('2026-12-15', 'P30D'), '2027-01-14');
    assert.equal(addIsoDuration('2027-01-14', 'P30D', -1), '2026-12-15');
    assert.equal(addIsoDuration('2026-03-31', 'P1M', -1), '2026-02-28');
  });

  test('a period counted from the end of the calendar year starts on 1 January of the next', () => {
    assert.equal(retentionDueOn({ clockStarts: 'end-of-calendar-year', period: 'P10Y' }, '2026-03-04T10:00:00.000Z'), '2037-01-01');
    assert.equal(retentionDueOn({ clockStarts: 'end-of-calendar-year', period: 'P3Y' }, '2026-12-31'), '2030-01-01');
    assert.equal(retentionDueOn({ clockStarts: 'on-trigger', period: 'P2Y' }, '2026-03-04T23:59:59.000Z'), '2028-03-04');
  });
});

describe('retention in the OpenAPI document', () => {
  test('the retention and record-of-processing endpoints are described, for dpo and admin', async () => {
    const { openApiDocument } = await import('./openapi.ts');
    const paths = (openApiDocument() as { paths: Record<string, Record<string, { 'x-roles': string[] }>> }).paths;
    for (const [path, method] of [
      ['/v1/privacy/retention/due', 'get'],
      ['/v1/privacy/retention/run', 'post'],
      ['/v1/privacy/retention/reminders', 'get'],
      ['/v1/privacy/record-of-processing', 'get'],
      ['/v1/privacy/record-of-processing.md', 'get'],
    ] as const) {
      assert.deepEqual(paths[path]?.[method]?.['x-roles'], ['dpo', 'admin'], path);
    }
  });
});
