/**
 * The keyed hashes of the read side, derived from one view secret (`CRM_VIEW_KEY`):
 * blind indexes (an HMAC of a normalised personal value, for exact lookups on a field that
 * is stored sealed) and the analytics view's pseudonymous ids. Every use gets its own
 * HKDF-derived key, so a blind index of one view's field cannot be matched against another
 * view's, and pseudonyms cannot be joined with blind indexes.
 *
 * The secret is not the master key: rotating the master key rewraps data keys and must not
 * change every blind index and pseudonym. Changing the view secret means rebuilding the views.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { normaliseForBlindIndex } from '@crm/projections';

export interface ViewKeys {
  /** HMAC-SHA-256 (base64url) of the normalised value of a blind-indexed field. */
  blindIndex(view: string, field: string, value: string): string;
  /** A view's pseudonym for an id: HMAC-SHA-256, base64url, 22 characters (128 bits). */
  pseudonymise(view: string, id: string): string;
}

export function createViewKeys(secret: Uint8Array): ViewKeys {
  if (secret.length < 32) throw new Error('The view secret must hold at least 32 bytes');
  const derived = new Map<string, Buffer>();
  const key = (purpose: string): Buffer => {
    let found = derived.get(purpose);
    if (!found) {
      found = Buffer.from(hkdfSync('sha256', secret, 'crm-views', purpose, 32));
      derived.set(purpose, found);
    }
    return found;
  };
  const hmac = (purpose: string, value: string) => createHmac('sha256', key(purpose)).update(value, 'utf8').digest('base64url');
  return {
    blindIndex: (view, field, value) => hmac(`blind-index:${view}:${field}`, normaliseForBlindIndex(field, value)),
    pseudonymise: (view, id) => hmac(`pseudonym:${view}`, id).slice(0, 22),
  };
}
