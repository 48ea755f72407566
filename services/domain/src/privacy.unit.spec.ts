import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LegalHoldStands, type PrivacyReceipt } from '@crm/contracts';
import { fold } from './decider.ts';
import { decisionSpec } from './decider-spec.ts';
import { addMonths, privacyRequestDecider, type PrivacyRequestEvent, privacyRequestHandlers } from './privacy-request.ts';
import { privacySubjectDecider, type PrivacySubjectEvent, privacySubjectHandlers, standingHolds } from './privacy-subject.ts';

// decisionSpec decides at 2026-05-04T10:00:00.000Z.
const NOW = '2026-05-04T10:00:00.000Z';
const requestId = '00000000-0000-7000-8000-00000000000a';
const subjectId = '00000000-0000-7000-8000-00000000000b';
const holdId = '00000000-0000-7000-8000-00000000000c';

const received: PrivacyRequestEvent = {
  type: 'PrivacyRequestReceived',
  data: { requestId, kind: 'erasure', subjectId, reason: 'by letter', receivedAt: '2026-01-31T09:00:00.000Z', dueBy: '2026-02-28T09:00:00.000Z' },
};
const started: PrivacyRequestEvent = { type: 'PrivacyRequestStarted', data: { requestId, subjectId } };
const receipt: PrivacyReceipt = {
  kind: 'rectification',
  requestId,
  subjectId,
  completedAt: NOW,
  commands: ['ChangeCustomerDetails'],
  note: 'through the business commands',
};
const completed: PrivacyRequestEvent = { type: 'PrivacyRequestCompleted', data: { requestId, subjectId, receipt } };

describe('privacy request decider', () => {
  test('a request is due one calendar month after receipt, clamped to the end of a shorter month', () => {
    assert.equal(addMonths('2026-01-31T09:00:00.000Z', 1), '2026-02-28T09:00:00.000Z');
    assert.equal(addMonths('2028-01-31T09:00:00.000Z', 1), '2028-02-29T09:00:00.000Z');
    assert.equal(addMonths('2026-05-04T10:00:00.000Z', 1), '2026-06-04T10:00:00.000Z');
    assert.equal(addMonths('2026-12-15T00:00:00.000Z', 2), '2027-02-15T00:00:00.000Z');
    decisionSpec(privacyRequestHandlers.ReceivePrivacyRequest)([])
      .when({ requestId, kind: 'access', subjectId, reason: 'by email' })
      .then([{ type: 'PrivacyRequestReceived', data: { requestId, kind: 'access', subjectId, reason: 'by email', receivedAt: NOW, dueBy: '2026-06-04T10:00:00.000Z' } }]);
  });

  test('received → in-progress → done', () => {
    decisionSpec(privacyRequestHandlers.StartPrivacyRequest)([received]).when({ requestId }).then([started]);
    decisionSpec(privacyRequestHandlers.CompletePrivacyRequest)([received, started]).when({ requestId, receipt }).then([completed]);
    assert.equal(fold(privacyRequestDecider, [received, started, completed]).status, 'done');
  });

  test('starting a request in progress resumes it without a second event', () => {
    decisionSpec(privacyRequestHandlers.StartPrivacyRequest)([received, started]).when({ requestId }).then([]);
  });

  test('a request is completed only once started, and closed requests stay closed', () => {
    decisionSpec(privacyRequestHandlers.CompletePrivacyRequest)([received]).when({ requestId, receipt }).thenRefused('request-not-started');
    decisionSpec(privacyRequestHandlers.StartPrivacyRequest)([received, started, completed]).when({ requestId }).thenRefused('request-closed');
    decisionSpec(privacyRequestHandlers.RefusePrivacyRequest)([received, started, completed]).when({ requestId, rule: 'refused-by-dpo', reason: 'x' }).thenRefused('request-closed');
    decisionSpec(privacyRequestHandlers.ExtendPrivacyRequestDeadline)([received, started, completed]).when({ requestId, months: 1, reason: 'x' }).thenRefused('request-closed');
  });

  test('a refusal keeps its rule and the holds that stood', () => {
    decisionSpec(privacyRequestHandlers.RefusePrivacyRequest)([received, started])
      .when({ requestId, rule: 'legal-hold', holdIds: [holdId], reason: 'hold' })
      .then([{ type: 'PrivacyRequestRefused', data: { requestId, subjectId, rule: 'legal-hold', holdIds: [holdId], reason: 'hold' } }]);
  });

  test('the deadline extends from receipt by at most two months in total (Art. 12(3))', () => {
    const extendOne: PrivacyRequestEvent = {
      type: 'PrivacyRequestDeadlineExtended',
      data: { requestId, subjectId, months: 1, reason: 'complex', dueBy: '2026-03-31T09:00:00.000Z' },
    };
    decisionSpec(privacyRequestHandlers.ExtendPrivacyRequestDeadline)([received]).when({ requestId, months: 1, reason: 'complex' }).then([extendOne]);
    decisionSpec(privacyRequestHandlers.ExtendPrivacyRequestDeadline)([received, extendOne])
      .when({ requestId, months: 1, reason: 'more' })
      .then([{ type: 'PrivacyRequestDeadlineExtended', data: { requestId, subjectId, months: 1, reason: 'more', dueBy: '2026-04-30T09:00:00.000Z' } }]);
    decisionSpec(privacyRequestHandlers.ExtendPrivacyRequestDeadline)([received, extendOne]).when({ requestId, months: 2, reason: 'too much' }).thenRefused('deadline-extension-limit');
    decisionSpec(privacyRequestHandlers.ExtendPrivacyRequestDeadline)([received]).when({ requestId, months: 3, reason: 'too much' }).thenRefused('deadline-extension-limit');
    const state = fold(privacyRequestDecider, [received, extendOne]);
    assert.ok(state.status === 'received' && state.extendedMonths === 1 && state.dueBy === '2026-03-31T09:00:00.000Z');
  });

  test('an erased reason (null) folds to the same state', () => {
    const erased: PrivacyRequestEvent = { type: 'PrivacyRequestReceived', data: { ...received.data, reason: null } };
    assert.deepEqual(fold(privacyRequestDecider, [erased, started]), fold(privacyRequestDecider, [received, started]));
  });
});

describe('privacy subject decider', () => {
  const placed: PrivacySubjectEvent = {
    type: 'LegalHoldPlaced',
    data: { holdId, subjectId, legalBasis: 'HGB §257', until: '2026-05-04', reason: 'tax records' },
  };
  const released: PrivacySubjectEvent = { type: 'LegalHoldReleased', data: { holdId, subjectId, reason: 'settled' } };
  const forget = decisionSpec(privacySubjectHandlers.ForgetSubject);
  const forgotten: PrivacySubjectEvent = { type: 'SubjectForgotten', data: { subjectId, requestId, forgottenAt: NOW } };

  test('a hold stands through its last day, and not after it or once released', () => {
    const held = fold(privacySubjectDecider, [placed]);
    assert.equal(standingHolds(held, '2026-05-04T23:59:59.999Z').length, 1);
    assert.equal(standingHolds(held, '2026-05-05T00:00:00.000Z').length, 0);
    assert.equal(standingHolds(fold(privacySubjectDecider, [placed, released]), NOW).length, 0);
  });

  test('erasure is refused while a hold stands, naming its legal basis and end date (Art. 17(3))', () => {
    forget([placed]).when({ subjectId, requestId }).thenRefused('legal-hold');
    assert.throws(
      () => privacySubjectHandlers.ForgetSubject.decide({ subjectId, requestId }, fold(privacySubjectDecider, [placed]), { now: NOW, newId: () => 'x', aggregateId: subjectId, related: {} }),
      (error: unknown) => error instanceof LegalHoldStands && /HGB §257 until 2026-05-04/.test(error.message),
    );
  });

  test('after the hold is released the subject is forgotten, once', () => {
    forget([placed, released]).when({ subjectId, requestId }).then([forgotten]);
    forget([placed, released, forgotten]).when({ subjectId, requestId: holdId }).then([]);
  });

  test('a key destroyed already is recorded as forgotten whatever holds stand', () => {
    forget([placed]).when({ subjectId, requestId, keyDestroyed: true }).then([forgotten]);
  });

  test('a hold must end today or later, and cannot be released twice or be unknown', () => {
    decisionSpec(privacySubjectHandlers.PlaceLegalHold)([]).when({ ...placed.data, until: '2026-05-03' } as never).thenRefused('hold-ends-in-the-past');
    decisionSpec(privacySubjectHandlers.ReleaseLegalHold)([placed, released]).when({ holdId, subjectId, reason: 'again' }).thenRefused('hold-already-released');
    decisionSpec(privacySubjectHandlers.ReleaseLegalHold)([]).when({ holdId, subjectId, reason: 'none' }).thenRefused('unknown-hold');
    decisionSpec(privacySubjectHandlers.PlaceLegalHold)([forgotten]).when(placed.data as never).thenRefused('subject-forgotten');
  });

  test('restriction and its lifting are recorded only when they change something', () => {
    const restricted: PrivacySubjectEvent = { type: 'ProcessingRestricted', data: { subjectId, requestId } };
    decisionSpec(privacySubjectHandlers.RestrictProcessing)([]).when({ subjectId, requestId }).then([restricted]);
    decisionSpec(privacySubjectHandlers.RestrictProcessing)([restricted]).when({ subjectId, requestId }).then([]);
    decisionSpec(privacySubjectHandlers.LiftRestriction)([]).when({ subjectId, requestId }).then([]);
    decisionSpec(privacySubjectHandlers.LiftRestriction)([restricted]).when({ subjectId, requestId }).then([{ type: 'RestrictionLifted', data: { subjectId, requestId } }]);
    assert.equal(fold(privacySubjectDecider, [restricted, { type: 'RestrictionLifted', data: { subjectId, requestId } }]).restricted, false);
  });

  test('suppression hashes are recorded deduplicated and sorted, and not after the erasure', () => {
    decisionSpec(privacySubjectHandlers.RecordSuppression)([])
      .when({ subjectId, hashes: ['bbbbbbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbb'] })
      .then([{ type: 'SuppressionRecorded', data: { subjectId, hashes: ['aaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbb'] } }]);
    decisionSpec(privacySubjectHandlers.RecordSuppression)([]).when({ subjectId, hashes: [] }).then([]);
    decisionSpec(privacySubjectHandlers.RecordSuppression)([forgotten]).when({ subjectId, hashes: ['aaaaaaaaaaaaaaaaaaaa'] }).then([]);
  });
});
