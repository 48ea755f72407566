import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WrongExpectedVersion } from '../index.ts';
test('errors carry their problem type', () => {
  assert.equal(new WrongExpectedVersion('s', 1, 2).problemType, 'version-conflict');
});
