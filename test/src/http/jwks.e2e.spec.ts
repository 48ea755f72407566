import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { type CrmUnderTest, startCrmUnderTest, TEST_JWT_SECRET } from '../support/crm-under-test.ts';
import { hireEmployee } from '../support/valid-commands.ts';

describe('production authentication with a JWKS URL', () => {
  let jwks: Server;
  let crm: CrmUnderTest;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    crm = await startCrmUnderTest({ CRM_JWT_SECRET: '', CRM_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, CRM_JWT_ISSUER: 'https://idp.test' });
  });
  after(async () => {
    await crm.dispose();
    jwks.close();
  });

  const post = (token: string) =>
    fetch(`${crm.url}/v1/commands/HireEmployee`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(hireEmployee('Jwks')),
    });
  const sign = (claims: { iss?: string }) =>
    new SignJWT({ roles: ['hr'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('hr-service')
      .setIssuer(claims.iss ?? 'https://idp.test')
      .setExpirationTime('5m')
      .sign(privateKey);

  test('a token signed by a key from the JWKS, with the configured issuer, is accepted', async () => {
    assert.equal((await post(await sign({}))).status, 200);
  });

  test('a token from another issuer is refused with 401', async () => {
    assert.equal((await post(await sign({ iss: 'https://evil.test' }))).status, 401);
  });

  test('an HS256 token is refused when the CRM verifies with a JWKS', async () => {
    const hs = await new SignJWT({ roles: ['hr'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('https://idp.test')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    assert.equal((await post(hs)).status, 401);
  });
});
