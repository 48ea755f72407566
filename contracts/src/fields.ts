import { z } from 'zod';

/**
 * Field schemas shared by commands and events. Strings are bounded and refuse control
 * characters, so that nothing invisible or oversized reaches the event store.
 */

// C0 controls except tab and newline, DEL, C1 controls, and the Unicode line/paragraph separators.
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029]/;
const CONTROL_IN_LINE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/;

export const CONTROL_CHARACTERS_REASON = 'must not contain control characters';

/** A single line of text, 1 to `max` characters. */
export const line = (max = 200) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL_IN_LINE.test(s), CONTROL_CHARACTERS_REASON);

/** Free text that may span lines (tabs and newlines allowed), 1 to `max` characters. */
export const text = (max = 4000) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL_IN_TEXT.test(s), CONTROL_CHARACTERS_REASON);

export const email = () => z.email().max(254);

/** E.164-like: an optional plus, digits, spaces, dashes and parentheses. */
export const phone = () =>
  z
    .string()
    .trim()
    .regex(/^\+?[0-9][0-9 ()-]{3,22}[0-9]$/, 'must be a phone number of digits, spaces, dashes and parentheses');

export const id = () => z.uuid();
export const isoDate = () => z.iso.date();
export const countryCode = () => z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code');
export const currency = () => z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code');
/** Money in minor units (cents), so sums stay exact. */
export const amountMinor = () => z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const postalAddress = () =>
  z.strictObject({
    street: line(200),
    postalCode: line(20),
    city: line(100),
    country: countryCode(),
  });
