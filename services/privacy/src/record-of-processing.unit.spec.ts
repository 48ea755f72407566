import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { defineEvent, eventContracts, id, PERSONAL_DATA_CATEGORIES, personalDataCategoryOf, RETENTION_RULES } from '@crm/contracts';
import { createAnalyticsView, hrView, salesView, serviceView } from '@crm/projections';
import { type RecordOfProcessingInput, recordOfProcessing, recordOfProcessingMarkdown } from './record-of-processing.ts';

const views = [serviceView, salesView, hrView, createAnalyticsView({ pseudonymise: (value) => `p-${value}` })];
const input: RecordOfProcessingInput = {
  controller: { name: 'Muster GmbH', contact: 'Musterstraße 1, Berlin', dpoContact: 'dpo@muster.example' },
  views,
  bus: { kind: 'memory' },
  keyStore: { kind: 'sqlite' },
  masterKey: 'environment',
  keyCacheTtlMs: 60_000,
  generatedAt: '2026-11-27T10:00:00.000Z',
};
const personalEventFields = () => [...eventContracts.values()].flatMap((c) => c.personal.flatMap((g) => g.fields.map((f) => `${c.type}.${f}`)));
const personalViewFields = (view: (typeof views)[number]) =>
  Object.values(view.collections).flatMap((c) => Object.entries(c.fields).filter(([, p]) => p.personal).map(([f]) => `${c.name}.${f}`));

describe('record of processing (Art. 30)', () => {
  const record = recordOfProcessing(input);

  test('one activity for the command side and one per view, each with what Art. 30(1) asks for', () => {
    assert.equal(record.format, 'crm-record-of-processing');
    assert.deepEqual(record.controller, { name: 'Muster GmbH', contact: 'Musterstraße 1, Berlin', dataProtectionOfficer: 'dpo@muster.example' });
    assert.deepEqual(record.activities.map((a) => a.id), ['command-side', 'view:service', 'view:sales', 'view:hr', 'view:analytics']);
    for (const view of views) assert.equal(record.activities.find((a) => a.id === `view:${view.name}`)?.purpose, view.purpose);
    for (const activity of record.activities) {
      for (const key of ['legalBases', 'dataSubjects', 'personalData', 'recipients', 'retention', 'technicalMeasures'] as const) assert.ok(activity[key].length > 0, `${activity.id}.${key}`);
      assert.equal(activity.thirdCountryTransfers, 'none');
    }
    assert.deepEqual(record.activities.find((a) => a.id === 'view:hr')?.dataSubjects, ['employees']);
    assert.deepEqual(record.activities.find((a) => a.id === 'view:hr')?.retention.map((r) => r.ruleId), ['personnel-file']);
    assert.deepEqual(record.activities[0]?.retention.map((r) => r.ruleId), RETENTION_RULES.map((r) => r.id));
    assert.equal(record.activities.find((a) => a.id === 'view:analytics')?.pseudonymised, true);
    assert.equal(record.thirdCountryTransfers.transfers, 'none');
    assert.match(record.technicalMeasures.join(' '), /AES-256-GCM/);
    assert.match(record.technicalMeasures.join(' '), /service\/customers\.email/, 'blind indexes named');
  });

  test('every personal field of every contract, and of every view, is in the record under its category', () => {
    const commandSide = record.activities[0]!;
    const listed = new Map(commandSide.personalData.flatMap((c) => c.fields.map((f) => [f, c.category] as const)));
    for (const field of personalEventFields()) assert.equal(listed.get(field), personalDataCategoryOf(field).id, field);
    for (const view of views) {
      const activity = record.activities.find((a) => a.id === `view:${view.name}`)!;
      const inView = new Set(activity.personalData.flatMap((c) => c.fields));
      for (const field of personalViewFields(view)) assert.ok(inView.has(field), field);
    }
    assert.ok(listed.get('AbsenceRecorded.kind') === 'health' && commandSide.personalData.find((c) => c.category === 'health')?.special);
  });

  test('recipients: the roles reading each collection, the bus topic on Kafka, downstream via SubjectForgotten', () => {
    const hr = record.activities.find((a) => a.id === 'view:hr')!;
    assert.deepEqual(hr.recipients.find((r) => r.recipient === 'hr/employees')?.roles, ['hr', 'management']);
    const onKafka = recordOfProcessing({ ...input, bus: { kind: 'kafka', topic: 'crm.events' } });
    const recipients = onKafka.activities[0]!.recipients;
    assert.ok(recipients.some((r) => r.kind === 'topic' && r.recipient.includes('crm.events')));
    assert.match(recipients.find((r) => r.kind === 'downstream')!.description, /SubjectForgotten event on crm\.events/);
  });

  test('Markdown holds every view purpose, every category of personal data and every personal field', () => {
    const markdown = recordOfProcessingMarkdown(record);
    for (const view of views) assert.ok(markdown.includes(view.purpose), view.name);
    for (const category of PERSONAL_DATA_CATEGORIES) assert.ok(markdown.includes(category.name), category.id);
    for (const field of personalEventFields()) assert.ok(markdown.includes(`\`${field}\``), field);
    assert.match(markdown, /^# Record of processing activities/);
    assert.match(markdown, /Muster GmbH/);
  });

  test('a personal field added to a contract shows up, generated, even before anyone categorises it', () => {
    const ShoeSizeRecorded = defineEvent({
      type: 'ShoeSizeRecorded',
      version: 1,
      description: 'test only',
      schema: z.object({ subjectId: id(), shoeSize: z.string() }),
      personal: [{ subject: 'subjectId', fields: ['shoeSize'] }],
      subjects: ['subjectId'],
    });
    const events = new Map([...eventContracts, [ShoeSizeRecorded.type, ShoeSizeRecorded]]);
    const grown = recordOfProcessing({ ...input, events });
    const uncategorised = grown.activities[0]!.personalData.find((c) => c.category === 'uncategorised');
    assert.deepEqual(uncategorised?.fields, ['ShoeSizeRecorded.shoeSize']);
    assert.ok(recordOfProcessingMarkdown(grown).includes('`ShoeSizeRecorded.shoeSize`'));
    assert.equal(record.activities[0]!.personalData.find((c) => c.category === 'uncategorised'), undefined);
  });
});
