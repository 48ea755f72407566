import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { v7 as uuidv7 } from 'uuid';
import { OrganisationRegistered } from '@crm/contracts';
import { generateMasterKey, Keyring, type KeyStore, masterKeys, openPersonalFields, SealBroken, type SealedEventData, sealPersonalFields } from '@crm/core';
import { openSqliteKeyStore } from '@crm/sqlite';

describe('sealing personal fields', () => {
  let dir: string;
  let keyStore: KeyStore;
  let keyring: Keyring;
  const [alice, bob] = [uuidv7(), uuidv7()];
  const event = () => ({
    customerId: uuidv7(),
    organisationName: 'ACME',
    segment: 'enterprise',
    lifecycleStage: 'lead',
    contacts: [
      { subjectId: alice, name: 'Alice Example', email: 'alice@example.org' },
      { subjectId: bob, name: 'Bob Example', phone: '+49 30 123456' },
    ],
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crm-seal-'));
    keyStore = openSqliteKeyStore({ path: join(dir, 'keys.sqlite') });
    keyring = new Keyring({ keyStore, masterKeys: masterKeys(generateMasterKey()), cacheTtlMs: 60_000 });
    await keyring.createSubjectKey(alice);
    await keyring.createSubjectKey(bob);
  });
  after(async () => {
    await keyStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one sealed value per subject; clear fields stay clear; personal ones are gone from the plain part', async () => {
    const eventId = uuidv7();
    const data = event();
    const sealed = await sealPersonalFields(keyring, eventId, OrganisationRegistered.personal, data);
    assert.equal(sealed.sealed.length, 2);
    assert.deepEqual(sealed.sealed.map((s) => s.subjectId).sort(), [alice, bob].sort());
    assert.equal(sealed.plain.organisationName, 'ACME');
    const text = JSON.stringify(sealed);
    for (const secret of ['Alice Example', 'alice@example.org', 'Bob Example', '+49 30 123456']) assert.ok(!text.includes(secret), secret);
    assert.deepEqual(sealed.sealed.find((s) => s.subjectId === alice)?.paths, ['contacts.0.email', 'contacts.0.name']);
    const opened = await openPersonalFields(keyring, eventId, sealed);
    assert.deepEqual(opened.data, data);
    assert.deepEqual(opened.replacedSubjects, []);
  });

  test('the value is self-describing: format version 1, key id = subject id, key version, then a nonce', async () => {
    const sealed = await sealPersonalFields(keyring, uuidv7(), OrganisationRegistered.personal, event());
    const value = sealed.sealed.find((s) => s.subjectId === alice)!;
    const bytes = Buffer.from(value.value, 'base64url');
    assert.equal(bytes[0], 1);
    assert.equal(bytes.subarray(1, 17).toString('hex'), alice.replace(/-/g, ''));
    assert.equal(bytes.readUInt32BE(17), 1);
    assert.ok(bytes.length >= 33 + 16);
  });

  test('sealing the same data twice gives different ciphertexts (fresh nonce per value)', async () => {
    const data = event();
    const eventId = uuidv7();
    const one = await sealPersonalFields(keyring, eventId, OrganisationRegistered.personal, data);
    const two = await sealPersonalFields(keyring, eventId, OrganisationRegistered.personal, data);
    assert.notEqual(one.sealed[0]!.value, two.sealed[0]!.value);
    assert.notEqual(one.sealed[0]!.value.slice(28, 44), two.sealed[0]!.value.slice(28, 44));
  });

  test('a sealed value is bound to its event id, subject and field set', async () => {
    const eventId = uuidv7();
    const sealed = await sealPersonalFields(keyring, eventId, OrganisationRegistered.personal, event());
    await assert.rejects(openPersonalFields(keyring, uuidv7(), sealed), SealBroken, 'moved to another event');
    const narrowed: SealedEventData = { ...sealed, sealed: sealed.sealed.map((s) => ({ ...s, paths: s.paths.slice(1) })) };
    await assert.rejects(openPersonalFields(keyring, eventId, narrowed), SealBroken, 'field set changed');
    const swapped: SealedEventData = { ...sealed, sealed: sealed.sealed.map((s, i) => ({ ...s, subjectId: sealed.sealed[1 - i]!.subjectId })) };
    await assert.rejects(openPersonalFields(keyring, eventId, swapped), () => true, 'claimed by another subject');
    const flipped = Buffer.from(sealed.sealed[0]!.value, 'base64url');
    flipped[flipped.length - 20]! ^= 1;
    const tampered: SealedEventData = { ...sealed, sealed: [{ ...sealed.sealed[0]!, value: flipped.toString('base64url') }, sealed.sealed[1]!] };
    await assert.rejects(openPersonalFields(keyring, eventId, tampered), SealBroken, 'ciphertext changed');
  });

  test('after one subject is erased, their values read as null and the other subject still opens', async () => {
    const carol = uuidv7();
    await keyring.createSubjectKey(carol);
    const data = { ...event(), contacts: [{ subjectId: carol, name: 'Carol', email: 'carol@example.org' }, event().contacts[1]!] };
    const eventId = uuidv7();
    const sealed = await sealPersonalFields(keyring, eventId, OrganisationRegistered.personal, data);
    await keyring.destroySubjectKey(carol, 'request-erase');
    const opened = await openPersonalFields(keyring, eventId, sealed);
    const contacts = opened.data.contacts as Record<string, unknown>[];
    assert.deepEqual(contacts[0], { subjectId: carol, name: null, email: null });
    assert.equal(contacts[1]!.name, 'Bob Example');
    assert.deepEqual(opened.replacedSubjects, [carol]);
  });
});
