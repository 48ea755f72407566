import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '@crm/contracts';
import { mintDevToken } from '@crm/api';
import { type CrmProcess, startCrmProcess } from '../support/crm-process.ts';
import { leakForms, scanBytes, scanFiles } from '../support/raw-scan.ts';

const SECRET = 'marker-test-secret-long-enough-for-hs256';

describe('personal data is never written in plaintext', () => {
  // Letters and digits only, so the marker is valid inside names, emails and free text.
  const marker = `Mk${randomBytes(6).toString('hex')}`;
  const phoneDigits = String(randomInt(1_000_000_000, 9_999_999_999));
  const birthDate = '1917-03-29';
  // Personal enum values: their literal must not appear either.
  const sealedLiterals = ['sick-leave', 'mutual-agreement'];
  const needles = [marker, phoneDigits, birthDate, ...sealedLiterals];
  const address = { street: `${marker} Allee 5`, postalCode: '10115', city: `${marker}stadt`, country: 'DE' };

  let dataDir: string;
  let crm: CrmProcess;
  const tokens = new Map<Role, string>();
  const post = async (type: string, body: unknown, role: Role, expected = 200) => {
    const response = await fetch(`${crm.url}/v1/commands/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(role)}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, expected, `${type}: ${JSON.stringify(answer)}`);
    return answer;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'crm-marker-'));
    crm = await startCrmProcess({ CRM_DATA_DIR: dataDir, CRM_JWT_SECRET: SECRET, CRM_LOG_LEVEL: 'debug' });
    for (const role of ['hr', 'sales-rep', 'service-agent'] as const) tokens.set(role, await mintDevToken(SECRET, { subject: `marker-${role}`, roles: [role] }));

    const person = { name: `${marker} Person`, email: `${marker}@example.org`, phone: `+49 ${phoneDigits}`, address, dateOfBirth: birthDate };
    const employeeId = (await post('HireEmployee', { ...person, position: 'Agent', department: 'Service', salaryBand: 'B3', startDate: '2020-01-01' }, 'hr')).subjectId;
    await post('ChangeEmployeePosition', { employeeId, salaryBand: 'B7', effectiveDate: '2021-01-01' }, 'hr');
    await post('RecordAbsence', { employeeId, kind: 'sick-leave', from: '2021-02-01', to: '2021-02-02' }, 'hr');
    const customerId = (await post('RegisterCustomer', { ...person, segment: 'consumer', accountOwnerId: employeeId }, 'sales-rep')).subjectId;
    await post('ChangeCustomerDetails', { customerId, name: `${marker} Renamed`, email: `${marker}.new@example.org`, phone: `+49 ${phoneDigits}`, address, dateOfBirth: birthDate }, 'sales-rep');
    const org = await post(
      'RegisterOrganisation',
      { organisationName: 'Org AG', segment: 'enterprise', contacts: [{ name: `${marker} Contact`, email: `${marker}.c@example.org`, phone: `+49 ${phoneDigits}`, jobTitle: `${marker} Buyer` }] },
      'sales-rep',
    );
    await post('AddContactPerson', { customerId: org.customerId, name: `${marker} Second`, email: `${marker}.s@example.org`, jobTitle: `${marker} CFO` }, 'sales-rep');
    const caseId = (await post('OpenServiceCase', { customerId, channel: 'chat', summary: `${marker} cannot log in` }, 'service-agent')).caseId;
    await post('AddCaseNote', { caseId, text: `Called ${marker} back at +49 ${phoneDigits}\nresolved.` }, 'service-agent');
    await post('EndEmployment', { employeeId, endDate: '2030-01-01', reason: 'mutual-agreement' }, 'hr');
    // Refused requests carrying the marker exercise the error and log paths.
    await post('RegisterCustomer', { ...person, email: `${marker}-not-an-email`, segment: 'consumer' }, 'sales-rep', 400);
    await post('RegisterCustomer', { ...person, segment: 'consumer', [`${marker}`]: marker }, 'sales-rep', 400);
    await post('RegisterCustomer', `{"name": "${marker}", "email": `, 'sales-rep', 400);
    await post('AddCaseNote', { caseId: '01a21a3e-0000-7000-8000-000000000000', text: marker }, 'service-agent', 404);
  });

  after(async () => {
    await crm?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('the scan can see a leak: the forms of the marker are found in bytes that hold it', () => {
    const leaked = Buffer.concat([Buffer.from('xx'), Buffer.from(Buffer.from(`a${marker}b`).toString('base64'))]);
    assert.ok(scanBytes('probe', leaked, [marker]).length > 0);
    assert.ok(scanBytes('probe', Buffer.from(Buffer.from(marker).toString('hex')), [marker]).length > 0);
    assert.ok(leakForms(marker).length >= 5);
  });

  test('no file in the data directory (events, WAL, keys) holds a marker, while running', () => {
    assert.deepEqual(scanFiles(dataDir, needles), []);
  });

  test('the process log output holds no marker', () => {
    assert.ok(crm.output().includes('"level":"debug"'), 'debug logging was on, so every request was logged');
    assert.deepEqual(scanBytes('log output', Buffer.from(crm.output()), needles), []);
  });

  test('after a clean stop (WAL checkpointed into the main files) still no file holds a marker', async () => {
    await crm.stop();
    assert.deepEqual(scanFiles(dataDir, needles), []);
    assert.deepEqual(scanBytes('log output', Buffer.from(crm.output()), needles), []);
  });
});
