import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { seedWorld, validCommandBodies } from '../support/valid-commands.ts';
import { commandContracts } from '@crm/contracts';
const crm = await startCrmUnderTest();
try {
  const world = await seedWorld(crm);
  const bodies = validCommandBodies(world);
  for (const [type, c] of commandContracts) {
    const w = await seedWorld(crm);
    const b = validCommandBodies(w)[type];
    const r = await crm.command(type, b, [...c.roles]);
    console.log(type, c.roles.join(','), r.status, r.status !== 200 ? JSON.stringify(r.body) : '');
  }
  console.log(Object.keys(bodies).length, commandContracts.size);
  const r = await fetch(`${crm.url}/v1/commands/RegisterCustomer`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await crm.token(['sales-rep'])}` }, body: '{"name": "MARKERX' });
  console.log(r.status, r.headers.get('content-type'), await r.text());
  for (const body of ['[]', '"str"', JSON.stringify({ name: 'x', segment: 5 }), JSON.stringify({ segment: 'consumer' }), JSON.stringify({name:'a', segment:'consumer', nickname:'MARK1'}), '{"name":"a","segment":"consumer","__proto__":{"polluted":"MARK2"}}', '{"name":"a","segment":"consumer","address":{"street":"s","postalCode":"1","city":"c","country":"DE","__proto__":{"polluted":"MARK3"}}}', '{"name":"a","segment":"consumer","constructor":{"prototype":{"polluted":"x"}}}', JSON.stringify({name:'a',segment:'consumer',email:'MARK4-not-an-email'}), JSON.stringify({name:'a\u0000MARK5', segment:'consumer'}), JSON.stringify({name:'a\u2028MARK5', segment:'consumer'}), JSON.stringify({name:'MARK6'.repeat(2000), segment:'consumer'}), JSON.stringify({name:'a', segment:'MARK7'})]) {
    const r = await crm.command('RegisterCustomer', body, ['sales-rep']);
    console.log(r.status, r.contentType, JSON.stringify(r.body));
  }
  console.log(({} as any).polluted);
} finally { await crm.dispose(); }
