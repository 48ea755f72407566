import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptHandler, errorKindOf } from './handler-attempts.ts';

describe('attemptHandler', () => {
  const policy = { maxAttempts: 3, retryDelayMs: 1, signal: new AbortController().signal };

  test('succeeds on a later attempt', async () => {
    let calls = 0;
    const outcome = await attemptHandler(async () => {
      if (++calls < 2) throw new Error('transient');
    }, policy);
    assert.deepEqual(outcome, { kind: 'handled', attempts: 2 });
  });

  test('gives up after maxAttempts and keeps only the error name', async () => {
    class ProjectionRefused extends Error {
      override name = 'ProjectionRefused';
    }
    let calls = 0;
    const outcome = await attemptHandler(async () => {
      calls++;
      throw new ProjectionRefused('Erika Mustermann <erika@example.org>');
    }, policy);
    assert.equal(calls, 3);
    assert.deepEqual(outcome, { kind: 'failed', attempts: 3, errorKind: 'ProjectionRefused' });
  });

  test('an abort between attempts stops without a verdict', async () => {
    const controller = new AbortController();
    let calls = 0;
    const outcome = await attemptHandler(
      async () => {
        calls++;
        controller.abort();
        throw new Error('x');
      },
      { maxAttempts: 5, retryDelayMs: 10_000, signal: controller.signal },
    );
    assert.equal(calls, 1);
    assert.deepEqual(outcome, { kind: 'stopped' });
  });

  test('error kinds: names that are identifiers, nothing else', () => {
    assert.equal(errorKindOf(new TypeError('secret text')), 'TypeError');
    const odd = new Error('x');
    odd.name = 'Erika Mustermann erika@example.org';
    assert.equal(errorKindOf(odd), 'Error');
    assert.equal(errorKindOf('Erika'), 'thrown-string');
  });
});
