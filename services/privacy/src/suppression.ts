/**
 * Suppression (PRIVACY.md, "an erased person must not come back by accident"): before a
 * subject's key is destroyed, a keyed HMAC of each of their normalised email addresses and
 * phone numbers is recorded (`SuppressionRecorded`); a later registration carrying one of
 * them is refused or flagged. The values themselves are never kept.
 */
import { locate, SubjectRestricted, SubjectSuppressed } from '@crm/contracts';
import { type CommandScreen, type Keyring, openValue, type RecordedEvent, type SealedEventData } from '@crm/core';
import type { PrivacyIndex } from './privacy-index.ts';

export const CONTACT_FIELDS = ['email', 'phone'] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];

/**
 * The keyed hash of a contact value: HMAC-SHA-256 of the normalised value under a key of its
 * own per field (see `suppressionHasher` in @crm/runtime, which derives it from
 * CRM_SUPPRESSION_KEY with the view keys' HKDF).
 */
export type SuppressionHasher = (field: ContactField, value: string) => string;

/** Refuse (409 subject-suppressed) or accept with `flags: ["previously-erased"]`. */
export type SuppressionMode = 'refuse' | 'flag';
export const PREVIOUSLY_ERASED_FLAG = 'previously-erased';

/** The commands that bring a new person in, and where their contact values are. */
const SCREENED_PATHS: Readonly<Record<string, readonly string[]>> = {
  RegisterCustomer: ['email', 'phone'],
  HireEmployee: ['email', 'phone'],
  AddContactPerson: ['email', 'phone'],
  RegisterOrganisation: ['contacts[].email', 'contacts[].phone'],
};

const leaf = (path: string): string => path.split('.').at(-1)!.replace('[]', '');
const isContactField = (name: string): name is ContactField => (CONTACT_FIELDS as readonly string[]).includes(name);

/** The contact values of a command that brings a new person in, with a JSON pointer each (for the problem, never the value). */
export function contactValuesOfCommand(type: string, command: Record<string, unknown>): Array<{ field: ContactField; value: string; pointer: string }> {
  const found = [];
  for (const path of SCREENED_PATHS[type] ?? []) {
    const field = leaf(path);
    if (!isContactField(field)) continue;
    for (const { path: at, value } of locate(command, path)) {
      if (typeof value === 'string' && value.trim() !== '') found.push({ field, value, pointer: `/${at.replace(/\./g, '/')}` });
    }
  }
  return found;
}

/**
 * Every email address and phone number the subject's own sealed values hold, in any of
 * their events — older, rectified values too: a person who asked to be forgotten is
 * recognised by any address they gave. Opened with the subject's key, before it is destroyed.
 */
export async function contactValuesOfSubject(keyring: Keyring, subjectId: string, events: readonly RecordedEvent[]): Promise<Array<{ field: ContactField; value: string }>> {
  const lookup = await keyring.lookup(subjectId);
  if (lookup.state !== 'active') return [];
  const seen = new Map<string, { field: ContactField; value: string }>();
  for (const recorded of events) {
    const data = recorded.data as SealedEventData;
    for (const sealed of data.sealed ?? []) {
      if (sealed.subjectId !== subjectId || !sealed.paths.some((p) => isContactField(leaf(p)))) continue;
      const opened = openValue(lookup.key, recorded.eventId, sealed);
      if (!opened) continue;
      const values = JSON.parse(opened.toString('utf8')) as Record<string, unknown>;
      for (const path of sealed.paths) {
        const field = leaf(path);
        const value = values[path];
        if (isContactField(field) && typeof value === 'string' && value.trim() !== '') seen.set(`${field}\u0000${value}`, { field, value });
      }
    }
  }
  return [...seen.values()];
}

/**
 * The command screen of the privacy rules: a command naming a restricted subject is refused
 * (409 subject-restricted) unless the privacy service itself sends it to carry out a request;
 * a command bringing in a person whose email matches a suppression entry is refused (409
 * subject-suppressed) or flagged, per `mode`. A phone number alone only ever flags: numbers are
 * shared (a switchboard, a household), so a match does not tell that it is the same person.
 */
export function createPrivacyScreen(options: { index: PrivacyIndex; hash: SuppressionHasher; mode: SuppressionMode }): CommandScreen {
  const { index, hash, mode } = options;
  return async ({ type, command, subjectIds, privacyRequestId }) => {
    await index.start();
    if (!privacyRequestId) for (const subjectId of subjectIds) if (index.isRestricted(subjectId)) throw new SubjectRestricted(subjectId);
    const matches = contactValuesOfCommand(type, command).filter(({ field, value }) => index.isSuppressed(hash(field, value)));
    if (matches.length === 0) return [];
    if (mode === 'refuse' && matches.some((m) => m.field === 'email')) throw new SubjectSuppressed(matches.map((m) => m.pointer));
    return [PREVIOUSLY_ERASED_FLAG];
  };
}
