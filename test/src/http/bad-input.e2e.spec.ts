import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MAX_COMMAND_BODY_BYTES, type Role } from '@crm/contracts';
import type { RecordedEvent } from '@crm/core';
import { customerStream } from '@crm/domain';
import { seededCrmForSuite } from '../support/seeded-crm.ts';
import { registerCustomer } from '../support/valid-commands.ts';

/**
 * Bad input over HTTP: each case answers a 4xx problem+json that names the field at fault,
 * never echoes the submitted value (in the answer or in the logs), changes nothing stored,
 * and leaves the process able to serve the next valid command.
 */

/** A unique string to hide inside a bad value; it must never come back, nor reach a log line. */
const newMarker = () => `Mk${randomUUID().replaceAll('-', '')}`;
/** A short one (8 characters, not hex), for where a parser would quote only a few characters of the input. */
const newShortMarker = () => `Mk${randomUUID().slice(0, 6)}`;

interface Sent {
  status: number;
  contentType: string;
  text: string;
  problem: Record<string, unknown>;
}

interface BadCase {
  /** Command type in the path. */
  type: string;
  /** A JSON value (serialised here) or raw body text (sent as is). */
  body: unknown;
  raw?: boolean;
  query?: string;
  headers?: Record<string, string>;
  status: number;
  /** The problem type's last segment. */
  problemType: string;
  /** A JSON pointer that `errors[]` must carry (and `detail` must name). */
  pointer?: string;
  /** Text `detail` must contain (for problems that name a field without `errors[]`). */
  names?: string;
  /** The `reason` of the pointer's issue must match. */
  reason?: RegExp;
  /** Secret text inside the bad value: must appear nowhere in the answer or the logs. */
  marker?: string;
}

describe('HTTP bad input', { timeout: 60_000 }, () => {
  const suite = seededCrmForSuite();
  let seededStream: string;
  const roles: Role[] = ['sales-rep'];

  before(() => {
    seededStream = customerStream(suite.world.customerId);
  });

  async function send(c: Pick<BadCase, 'type' | 'body' | 'raw' | 'query' | 'headers'>): Promise<Sent> {
    const response = await fetch(`${suite.crm.url}/v1/commands/${c.type}${c.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await suite.crm.token(roles)}`, ...c.headers },
      body: c.raw ? String(c.body) : JSON.stringify(c.body),
    });
    const text = await response.text();
    let problem: Record<string, unknown> = {};
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
    } catch {
      assert.fail(`the answer is not JSON: ${text.slice(0, 200)}`);
    }
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, problem };
  }

  const snapshot = async (): Promise<{ head: number; stream: RecordedEvent[] }> => ({
    head: await suite.crm.runtime.eventStore.headPosition(),
    stream: await suite.crm.runtime.eventStore.readStream(seededStream),
  });

  /** Sends the bad request and checks everything a bad request must (and must not) do. */
  async function assertRefused(c: BadCase): Promise<Sent> {
    const logsBefore = suite.crm.logs.length;
    const stored = await snapshot();
    assert.ok(stored.stream.length > 0, 'the seeded stream exists');

    const answer = await send(c);
    const { problem } = answer;
    assert.equal(answer.status, c.status, `answered ${answer.status}: ${answer.text.slice(0, 500)}`);
    assert.match(answer.contentType, /^application\/problem\+json/);
    assert.equal(problem.status, c.status);
    assert.equal(typeof problem.type, 'string');
    assert.ok(String(problem.type).endsWith(`:${c.problemType}`), `problem type ${String(problem.type)}, wanted ${c.problemType}`);
    assert.equal(typeof problem.detail, 'string');
    const detail = String(problem.detail);

    if (c.pointer !== undefined) {
      const errors = (Array.isArray(problem.errors) ? problem.errors : []) as Array<{ pointer?: unknown; reason?: unknown }>;
      const issue = errors.find((e) => e.pointer === c.pointer);
      assert.ok(issue, `errors[] names no ${c.pointer}: ${JSON.stringify(problem.errors)}`);
      assert.ok(detail.includes(c.pointer), `detail does not name ${c.pointer}: ${detail}`);
      if (c.reason) assert.match(String(issue.reason), c.reason);
    }
    if (c.names !== undefined) assert.ok(detail.includes(c.names), `detail does not name ${c.names}: ${detail}`);

    if (c.marker !== undefined) {
      assert.ok(!answer.text.includes(c.marker), `the answer echoes the submitted value: ${answer.text.slice(0, 500)}`);
    }

    const afterwards = await snapshot();
    assert.equal(afterwards.head, stored.head, 'a refused command appended events');
    assert.deepEqual(afterwards.stream, stored.stream, 'a refused command changed the seeded stream');

    const next = await send({ type: 'RegisterCustomer', body: registerCustomer('Next') });
    assert.equal(next.status, 200, `the next valid command failed: ${next.text}`);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);

    if (c.marker !== undefined) {
      // Scanned after the next command, so that the refused request's own log lines are written by now.
      const written = suite.crm.logs.slice(logsBefore);
      assert.ok(written.some((line) => line.includes(`"status":${c.status}`)), 'the refused request left no log line, so the scan below saw nothing');
      const leaked = written.filter((line) => line.includes(c.marker!));
      assert.deepEqual(leaked, [], 'a log line echoes the submitted value');
    }
    return answer;
  }

  const customerId = () => suite.world.customerId;
  const validAddress = { street: 'Main Street 1', postalCode: '10115', city: 'Berlin', country: 'DE' };

  describe('malformed bodies', () => {
    test('malformed JSON: 400 malformed-json, no echo', async () => {
      const marker = newMarker();
      await assertRefused({ type: 'RegisterCustomer', raw: true, body: `{"name": "${marker}", "segment": "consumer",`, status: 400, problemType: 'malformed-json', marker });
      // JSON.parse quotes the few characters after the error position: put a short marker exactly there.
      const short = newShortMarker();
      await assertRefused({ type: 'RegisterCustomer', raw: true, body: `{"name": ${short}, "segment": "consumer"}`, status: 400, problemType: 'malformed-json', marker: short });
      const trailing = newShortMarker();
      await assertRefused({ type: 'RegisterCustomer', raw: true, body: `{"name": "Ann", "segment": "consumer"}${trailing}`, status: 400, problemType: 'malformed-json', marker: trailing });
    });

    test('a JSON array as the body: 400 naming the body', async () => {
      const marker = newMarker();
      await assertRefused({ type: 'RegisterCustomer', body: [{ name: marker, segment: 'consumer' }], status: 400, problemType: 'validation-failed', pointer: '', marker });
    });

    test('a JSON string as the body: 400', async () => {
      const marker = newShortMarker();
      const answer = await assertRefused({ type: 'RegisterCustomer', body: `${marker} as a string`, status: 400, problemType: 'malformed-json', marker });
      assert.ok(Array.isArray(answer.problem.errors));
    });

    test('Content-Type text/plain: 415', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'RegisterCustomer',
        body: { name: marker, segment: 'consumer' },
        headers: { 'content-type': 'text/plain' },
        status: 415,
        problemType: 'unsupported-media-type',
        marker,
      });
    });

    test(`a body over ${MAX_COMMAND_BODY_BYTES / 1024} KiB: 413, no echo`, async () => {
      const marker = newMarker();
      const body = { customerId: customerId(), name: marker.repeat(Math.ceil((MAX_COMMAND_BODY_BYTES + 1024) / marker.length)) };
      assert.ok(JSON.stringify(body).length > MAX_COMMAND_BODY_BYTES);
      await assertRefused({ type: 'ChangeCustomerDetails', body, status: 413, problemType: 'payload-too-large', marker });
    });

    test('unknown command type: 404 unknown-command-type, no echo', async () => {
      const marker = newMarker();
      await assertRefused({ type: 'EraseEverything', body: { customerId: customerId(), name: marker }, status: 404, problemType: 'unknown-command-type', marker });
    });
  });

  describe('field validation', () => {
    test('wrong type for an enum: segment 5 names /segment', async () => {
      await assertRefused({ type: 'ReclassifyCustomer', body: { customerId: customerId(), segment: 5 }, status: 400, problemType: 'validation-failed', pointer: '/segment' });
    });

    test('wrong type for a string: name 5 names /name as a type error, not as missing', async () => {
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), name: 5 },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/name',
        reason: /must be of type string/,
      });
    });

    test('wrong type for an object: address as a string names /address, no echo', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), address: `${marker} Street 1` },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/address',
        reason: /must be of type object/,
        marker,
      });
    });

    test('missing required field: "is required"', async () => {
      const marker = newMarker();
      await assertRefused({ type: 'RegisterCustomer', body: { segment: 'consumer', phone: '+49 30 1234567', email: `${marker.toLowerCase()}@example.org` }, status: 400, problemType: 'validation-failed', pointer: '/name', reason: /^is required$/, marker: marker.toLowerCase() });
      await assertRefused({ type: 'ChangeCustomerDetails', body: { name: `${marker} Renamed` }, status: 400, problemType: 'validation-failed', pointer: '/customerId', reason: /^is required$/, marker });
    });

    test('unknown field: /nickname named, its value not echoed', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), name: 'Valid Name', nickname: marker },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/nickname',
        reason: /not a known field/,
        marker,
      });
    });

    test('unknown nested field in address: /address/flat named, its value not echoed', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), address: { ...validAddress, flat: marker } },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/address/flat',
        reason: /not a known field/,
        marker,
      });
    });

    test('a huge string: name of 10,000 characters names /name, no echo', async () => {
      const marker = newMarker();
      const name = `${marker} ${'x'.repeat(10_000)}`.slice(0, 10_000);
      assert.equal(name.length, 10_000);
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), name },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/name',
        reason: /at most 200/,
        marker,
      });
    });

    for (const [label, control] of [
      ['NUL (\\u0000)', '\u0000'],
      ['ESC (\\u001b)', '\u001b'],
      ['LINE SEPARATOR (\\u2028)', '\u2028'],
      ['newline in a single-line field', '\n'],
    ] as const) {
      test(`a control character in a single-line field: ${label} names the field, no echo`, async () => {
        const marker = newMarker();
        await assertRefused({
          type: 'ChangeCustomerDetails',
          body: { customerId: customerId(), name: `${marker}${control}Smith` },
          status: 400,
          problemType: 'validation-failed',
          pointer: '/name',
          reason: /control characters/,
          marker,
        });
        await assertRefused({
          type: 'ChangeCustomerDetails',
          body: { customerId: customerId(), address: { ...validAddress, street: `${marker}${control}Road 1` } },
          status: 400,
          problemType: 'validation-failed',
          pointer: '/address/street',
          reason: /control characters/,
          marker,
        });
      });
    }

    test('invalid email names /email, no echo', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), email: `${marker}-at-example.org` },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/email',
        reason: /email/,
        marker,
      });
    });

    test('invalid enum value names /segment, no echo', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ReclassifyCustomer',
        body: { customerId: customerId(), segment: marker },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/segment',
        reason: /must be one of/,
        marker,
      });
    });
  });

  describe('prototype keys', () => {
    test('__proto__ at the top level is an unknown field, and Object.prototype is not polluted', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ChangeCustomerDetails',
        raw: true,
        body: `{"customerId":"${customerId()}","name":"Valid Name","__proto__":{"polluted":"${marker}","isAdmin":true}}`,
        status: 400,
        problemType: 'validation-failed',
        pointer: '/__proto__',
        reason: /not a known field/,
        marker,
      });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    });

    test('__proto__ nested in address is an unknown field, and Object.prototype is not polluted', async () => {
      const marker = newMarker();
      const address = JSON.stringify(validAddress).slice(0, -1);
      await assertRefused({
        type: 'ChangeCustomerDetails',
        raw: true,
        body: `{"customerId":"${customerId()}","address":${address},"__proto__":{"polluted":"${marker}"}}}`,
        status: 400,
        problemType: 'validation-failed',
        pointer: '/address/__proto__',
        reason: /not a known field/,
        marker,
      });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    test('constructor and prototype keys are unknown fields, and Object.prototype is not polluted', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), name: 'Valid Name', constructor: { prototype: { polluted: marker } } },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/constructor',
        reason: /not a known field/,
        marker,
      });
      await assertRefused({
        type: 'ChangeCustomerDetails',
        body: { customerId: customerId(), name: 'Valid Name', prototype: { polluted: marker } },
        status: 400,
        problemType: 'validation-failed',
        pointer: '/prototype',
        reason: /not a known field/,
        marker,
      });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.prototype.constructor, Object);
    });
  });

  describe('query and headers', () => {
    const body = () => ({ customerId: customerId(), lifecycleStage: 'customer' });

    test('?version=abc: 400 naming version', async () => {
      await assertRefused({ type: 'ReclassifyCustomer', body: body(), query: '?version=abc', status: 400, problemType: 'validation-failed', pointer: '?version' });
    });

    test('?version=9 (no such version): 400 unsupported-version naming version', async () => {
      await assertRefused({ type: 'ReclassifyCustomer', body: body(), query: '?version=9', status: 400, problemType: 'unsupported-version', names: 'version' });
    });

    test('an Idempotency-Key with a space, and one too long: 400 naming the header, no echo', async () => {
      const marker = newMarker();
      await assertRefused({
        type: 'ReclassifyCustomer',
        body: body(),
        headers: { 'idempotency-key': `key ${marker}` },
        status: 400,
        problemType: 'validation-failed',
        names: 'Idempotency-Key',
        marker,
      });
      await assertRefused({
        type: 'ReclassifyCustomer',
        body: body(),
        headers: { 'idempotency-key': `${marker}${'k'.repeat(200)}` },
        status: 400,
        problemType: 'validation-failed',
        names: 'Idempotency-Key',
        marker,
      });
    });
  });

  test('control: the valid version of the bodies used above is accepted (so the refusals above are about the bad parts)', async () => {
    for (const [type, body] of [
      ['ChangeCustomerDetails', { customerId: customerId(), name: 'Valid Name', address: validAddress, email: 'valid@example.org' }],
      ['ReclassifyCustomer', { customerId: customerId(), segment: 'enterprise' }],
    ] as const) {
      const answer = await send({ type, body, query: '?version=1', headers: { 'idempotency-key': `ok-${randomUUID()}` } });
      assert.equal(answer.status, 200, answer.text);
    }
  });
});
