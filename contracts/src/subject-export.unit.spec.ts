import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { commandContracts, eventContract } from './catalogue.ts';
import {
  DATA_SOURCE_BY_COMMAND,
  SUBJECT_KIND_BY_CREATING_EVENT,
  SubjectExportDocument,
  subjectExportJsonSchema,
} from './subject-export.ts';

describe('subject export schema', () => {
  test('docs/subject-export.schema.json is the JSON Schema generated from the contract (regenerate it when this fails)', () => {
    const published = JSON.parse(readFileSync(new URL('../../docs/subject-export.schema.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(published, subjectExportJsonSchema());
  });

  test('the example in docs/subject-export.md is a valid document', () => {
    const markdown = readFileSync(new URL('../../docs/subject-export.md', import.meta.url), 'utf8');
    const example = /## Example[^\n]*\n+```json\n([\s\S]*?)\n```/.exec(markdown)?.[1];
    assert.ok(example, 'the example is there');
    const parsed = SubjectExportDocument.safeParse(JSON.parse(example));
    assert.ok(parsed.success, parsed.error?.message);
  });

  test('every command that records personal data says where that data comes from', () => {
    for (const contract of commandContracts.values()) {
      if (contract.personal.length === 0) continue;
      assert.ok(DATA_SOURCE_BY_COMMAND[contract.type], `${contract.type} carries personal fields but names no source`);
    }
    for (const type of Object.keys(DATA_SOURCE_BY_COMMAND)) assert.ok(commandContracts.has(type), `${type} is no command`);
  });

  test('each kind of subject comes from an event that creates subjects', () => {
    for (const type of Object.keys(SUBJECT_KIND_BY_CREATING_EVENT)) {
      assert.ok((eventContract(type)?.creates.length ?? 0) > 0, `${type} creates no subject`);
    }
  });

  test('the schema accepts an erased subject’s document and refuses one without its summary', () => {
    const erased = {
      format: 'crm-subject-export',
      formatVersion: 1,
      subject: {
        subjectId: '0190a000-0000-7000-8000-000000000001',
        kinds: ['customer'],
        exportedAt: '2026-01-01T00:00:00.000Z',
        asOfPosition: 10,
        erased: { erasedAt: '2025-12-01T00:00:00.000Z', requestId: 'r-1' },
      },
      records: [],
      relatedEvents: [],
      current: [],
      processing: {},
      summary: { records: 0, relatedEvents: 0, firstPosition: null, lastPosition: null },
    };
    assert.ok(SubjectExportDocument.safeParse(erased).success);
    const { summary: _summary, ...cut } = erased;
    assert.equal(SubjectExportDocument.safeParse(cut).success, false);
  });
});
