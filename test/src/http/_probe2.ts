import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { seedWorld } from '../support/valid-commands.ts';
const crm = await startCrmUnderTest();
try {
  const w = await seedWorld(crm);
  for (const [type, body, role] of [
    ['ChangeCustomerDetails', { customerId: w.customerId }, 'sales-rep'],
    ['ReclassifyCustomer', { customerId: w.customerId }, 'sales-rep'],
    ['RecordAbsence', { employeeId: w.employeeId, kind: 'vacation', from: '2021-02-05', to: '2021-02-01' }, 'hr'],
    ['ChangeEmployeePosition', { employeeId: w.employeeId, effectiveDate: '2021-02-05' }, 'hr'],
    ['RegisterCustomer', { name: 'MARKZZ', segment: 'consumer', accountOwnerId: '01900000-0000-7000-8000-000000000001' }, 'sales-rep'],
    ['RegisterCustomer', { name: 'a', segment: 'consumer', dateOfBirth: 'MARKDOB' }, 'sales-rep'],
    ['RegisterCustomer', { name: 'a', segment: 'consumer', phone: 'MARKPH' }, 'sales-rep'],
    ['RegisterCustomer', { name: 'a', segment: 'consumer', address: {street:'s', postalCode:'1', city:'c', country:'MARKC'} }, 'sales-rep'],
    ['RegisterCustomer', { name: 'a', segment: 'consumer', expectedVersion: 'MARKEV' }, 'sales-rep'],
    ['RegisterCustomer', { name: 'a', segment: 'consumer', commandId: 'MARKCID' }, 'sales-rep'],
    ['RegisterCustomer', { name: 'a', segment: 'consumer', 'bad key MARKK': 1 }, 'sales-rep'],
    ['RegisterOrganisation', { organisationName: 'o', segment: 'consumer', contacts: 'MARKARR' }, 'sales-rep'],
  ] as const) {
    const r = await crm.command(type, body, [role]);
    console.log(type, r.status, JSON.stringify(r.body));
  }
  const big = JSON.stringify({ name: 'a', segment: 'consumer', nickname: 'MARKBIG'.repeat(10000) });
  const r = await crm.command('RegisterCustomer', big, ['sales-rep']);
  console.log(r.status, JSON.stringify(r.body));
  const r2 = await crm.command('RegisterCustomer', {name:'a', segment:'consumer'}, ['sales-rep'], {'content-type':'text/plain'});
  console.log(r2.status, JSON.stringify(r2.body));
  for (const q of ['?version=abc', '?version=9', '?version=0', '?version=1&version=1']) {
    const r3 = await fetch(`${crm.url}/v1/commands/RegisterCustomer${q}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await crm.token(['sales-rep'])}` }, body: JSON.stringify({name:'a', segment:'consumer'}) });
    console.log(q, r3.status, await r3.text());
  }
  const r4 = await crm.command('RegisterCustomer', {name:'a', segment:'consumer'}, ['sales-rep'], {'idempotency-key':'bad key MARKIK'});
  console.log(r4.status, JSON.stringify(r4.body));
  const r5 = await crm.command('NoSuchThing', {name:'a'}, ['sales-rep']);
  console.log(r5.status, JSON.stringify(r5.body));
  const o = await (await fetch(`${crm.url}/openapi.json`)).json() as any;
  console.log(JSON.stringify(o.components.schemas.RegisterCustomer.properties.email), JSON.stringify(o.components.schemas.ChangeCustomerDetails).slice(0,300));
  console.log(crm.logs.slice(-5).join('\n'));
} finally { await crm.dispose(); }
