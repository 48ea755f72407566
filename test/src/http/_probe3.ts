import { SignJWT } from 'jose';
import { startCrmUnderTest, TEST_JWT_SECRET } from '../support/crm-under-test.ts';
const crm = await startCrmUnderTest();
try {
  for (const body of [{ name: 5, segment: 'consumer' }, { name: 'a', segment: 'consumer', contacts: 1 }, { name: 'a', segment: 'consumer', address: 'x' }, { name: null, segment: 'consumer' }]) {
    const r = await crm.command('RegisterCustomer', body, ['sales-rep']);
    console.log(r.status, JSON.stringify(r.body));
  }
  const key = new TextEncoder().encode(TEST_JWT_SECRET);
  const nosub = await new SignJWT({ roles: ['sales-rep'] }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h').sign(key);
  const expired = await new SignJWT({ roles: ['sales-rep'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuedAt(Math.floor(Date.now()/1000)-7200).setExpirationTime(Math.floor(Date.now()/1000)-3600).sign(key);
  for (const auth of [undefined, 'Basic abc', `Bearer ${nosub}`, `Bearer ${expired}`]) {
    const r = await fetch(`${crm.url}/v1/commands/RegisterCustomer`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: '{}' });
    console.log(r.status, r.headers.get('www-authenticate'), r.headers.get('content-type'), await r.text());
  }
} finally { await crm.dispose(); }
