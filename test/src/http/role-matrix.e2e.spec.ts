import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, UnsecuredJWT } from 'jose';
import { commandContracts, type CommandContract, type Role, ROLES } from '@crm/contracts';
import { type CrmUnderTest, TEST_JWT_SECRET } from '../support/crm-under-test.ts';
import { seededCrmForSuite } from '../support/seeded-crm.ts';
import { seedWorld, validCommandBodies, type World } from '../support/valid-commands.ts';

/**
 * Authorisation over HTTP: every role against every command type (allow-lists, never
 * deny-lists), tokens with several roles, and every way a bearer token can be bad.
 * Neither a 401 nor a 403 may append anything.
 */

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function mayRoles(contract: CommandContract, roles: readonly Role[]): boolean {
  return roles.some((role) => contract.roles.includes(role));
}

/** Commands whose valid body only succeeds after another command: run that one first on the fresh world. */
const PREREQUISITES: Record<string, (crm: CrmUnderTest, world: World) => Promise<void>> = {
  ReopenServiceCase: async (crm, world) => {
    const resolved = await crm.command('ResolveServiceCase', { caseId: world.caseId, resolution: 'solved' }, ['service-agent']);
    assert.equal(resolved.status, 200, `resolving the case before reopening it: ${JSON.stringify(resolved.body)}`);
  },
};

describe('HTTP role matrix', { timeout: 120_000 }, () => {
  /** Its world serves the refusals: a refused command changes nothing, so they can share it. */
  const suite = seededCrmForSuite();

  const head = () => suite.crm.runtime.eventStore.headPosition();

  function bodyFor(world: World, type: string): Record<string, unknown> {
    const body = validCommandBodies(world)[type];
    assert.ok(body, `validCommandBodies has no body for ${type}`);
    return body;
  }

  /** Sends the command with a valid body on a freshly seeded world and asserts it is accepted and appended. */
  async function assertAccepted(type: string, roles: Role[]): Promise<void> {
    const world = await seedWorld(suite.crm);
    await PREREQUISITES[type]?.(suite.crm, world);
    const before = await head();
    const answer = await suite.crm.command(type, bodyFor(world, type), roles);
    assert.ok(answer.status >= 200 && answer.status < 300, `${type} as [${roles.join(', ')}] answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    assert.equal(typeof answer.body.streamId, 'string');
    assert.ok((await head()) > before, `${type} as [${roles.join(', ')}] was accepted but appended nothing`);
  }

  /** Sends the command with a valid body on the suite's world and asserts a 403 problem and no append. */
  async function assertForbidden(type: string, roles: Role[]): Promise<void> {
    const before = await head();
    const answer = await suite.crm.command(type, bodyFor(suite.world, type), roles);
    assert.equal(answer.status, 403, `${type} as [${roles.join(', ')}] answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    assert.match(answer.contentType ?? '', /^application\/problem\+json/);
    assert.equal(typeof answer.body.type, 'string');
    assert.ok(String(answer.body.type).endsWith('forbidden'), `problem type ${String(answer.body.type)}`);
    assert.equal(answer.body.status, 403);
    assert.equal(await head(), before, `a 403 for ${type} appended events`);
  }

  test('the support has a valid body for every command type, and every contract role is a known role', () => {
    const bodies = validCommandBodies(suite.world);
    assert.deepEqual(Object.keys(bodies).sort(), [...commandContracts.keys()].sort());
    for (const contract of commandContracts.values()) {
      assert.ok(contract.roles.length > 0, `${contract.type} allows no role`);
      for (const role of contract.roles) assert.ok((ROLES as readonly string[]).includes(role), `${contract.type} names unknown role ${role}`);
    }
  });

  for (const role of ROLES) {
    describe(`role ${role}`, () => {
      for (const contract of commandContracts.values()) {
        if (contract.roles.includes(role)) {
          test(`may send ${contract.type}: 2xx`, () => assertAccepted(contract.type, [role]));
        } else {
          test(`may not send ${contract.type}: 403 forbidden, nothing appended`, () => assertForbidden(contract.type, [role]));
        }
      }
    });
  }

  describe('a token with several roles gets the union of their permissions', () => {
    const roles: Role[] = ['hr', 'guest', 'service-agent'];
    for (const contract of commandContracts.values()) {
      if (mayRoles(contract, roles)) {
        test(`[${roles.join(', ')}] may send ${contract.type}`, () => assertAccepted(contract.type, roles));
      } else {
        test(`[${roles.join(', ')}] may not send ${contract.type}`, () => assertForbidden(contract.type, roles));
      }
    }

    test('the union is not empty and not everything (the cases above test both sides)', () => {
      const allowed = [...commandContracts.values()].filter((c) => mayRoles(c, roles));
      assert.ok(allowed.length > 0 && allowed.length < commandContracts.size);
    });

    test('a token with every role but the command-sending ones may send nothing', async () => {
      const roles = ROLES.filter((role) => ![...commandContracts.values()].some((c) => c.roles.includes(role)));
      assert.ok(roles.length > 0);
      for (const contract of commandContracts.values()) await assertForbidden(contract.type, roles);
    });

    test('a token with no roles at all may send nothing', async () => {
      for (const contract of commandContracts.values()) await assertForbidden(contract.type, []);
    });
  });

  describe('401 for a missing or bad bearer token', () => {
    const claims = { roles: ['sales-rep'] };

    /** POSTs a valid RegisterCustomer with the given Authorization header (or none). */
    async function sendWith(authorization: string | undefined) {
      const response = await fetch(`${suite.crm.url}/v1/commands/RegisterCustomer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
        body: JSON.stringify(bodyFor(suite.world, 'RegisterCustomer')),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    }

    async function assertUnauthenticated(authorization: string | undefined): Promise<void> {
      const before = await head();
      const answer = await sendWith(authorization);
      assert.equal(answer.status, 401, `answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer\b/);
      assert.ok(String(answer.body.type).endsWith('unauthenticated'), `problem type ${String(answer.body.type)}`);
      assert.equal(answer.body.status, 401);
      assert.equal(await head(), before, 'a 401 appended events');
    }

    test('control: the same request with a valid sales-rep token is accepted', async () => {
      const before = await head();
      const answer = await sendWith(`Bearer ${await suite.crm.token(['sales-rep'])}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(await head(), before + 1);
    });

    test('no Authorization header', () => assertUnauthenticated(undefined));

    test('a non-Bearer scheme (Basic), and a valid JWT under another scheme', async () => {
      await assertUnauthenticated(`Basic ${Buffer.from('sales:secret').toString('base64')}`);
      await assertUnauthenticated(`Token ${await suite.crm.token(['sales-rep'])}`);
    });

    test('an empty bearer token and a token that is not a JWT', async () => {
      await assertUnauthenticated('Bearer ');
      await assertUnauthenticated('Bearer not-a-jwt');
    });

    test('an expired token', async () => {
      const expired = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('test-expired')
        .setIssuedAt(nowSeconds() - 7200)
        .setExpirationTime(nowSeconds() - 3600)
        .sign(secret);
      await assertUnauthenticated(`Bearer ${expired}`);
    });

    test('a token signed with another secret (forged)', async () => {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('test-forger')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-that-is-also-long-enough'));
      await assertUnauthenticated(`Bearer ${forged}`);
    });

    test('an alg: none token, with and without a signature part', async () => {
      const unsigned = new UnsecuredJWT(claims).setSubject('test-none').setIssuedAt().setExpirationTime('1h').encode();
      assert.match(unsigned, /\.$/, 'an unsecured JWT ends with an empty signature');
      await assertUnauthenticated(`Bearer ${unsigned}`);
      // The same, with a signature copied from a genuine token, so that only the verifier can refuse it.
      const genuineSignature = (await suite.crm.token(['sales-rep'])).split('.')[2];
      await assertUnauthenticated(`Bearer ${unsigned}${genuineSignature}`);
    });

    test('a token whose payload was altered after signing (roles escalated)', async () => {
      const genuine = await suite.crm.token(['guest'], { subject: 'test-tamperer' });
      const [header, payload, signature] = genuine.split('.');
      assert.ok(header && payload && signature);
      const claimsSigned = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const altered = base64url({ ...claimsSigned, roles: ['sales-rep'] });
      assert.notEqual(altered, payload);
      await assertUnauthenticated(`Bearer ${header}.${altered}.${signature}`);
    });

    test('a token without sub', async () => {
      const anonymous = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('1h').sign(secret);
      await assertUnauthenticated(`Bearer ${anonymous}`);
    });
  });
});
