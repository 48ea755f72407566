/** Generalisations for the analytics view: only these coarse values are stored, never the raw personal value. */

/** Age in whole years on `on` (ISO dates), or null. */
export function ageOn(dateOfBirth: string | null | undefined, on: string): number | null {
  if (!dateOfBirth) return null;
  const [by, bm, bd] = dateOfBirth.slice(0, 10).split('-').map(Number);
  const [y, m, d] = on.slice(0, 10).split('-').map(Number);
  if (by === undefined || bm === undefined || bd === undefined || y === undefined || m === undefined || d === undefined) return null;
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** Ten-year bands ("30-39"); minors together ("0-17"), the oldest together ("80+"). */
export function ageBand(dateOfBirth: string | null | undefined, on: string): string | null {
  const age = ageOn(dateOfBirth, on);
  if (age === null || age < 0) return null;
  if (age < 18) return '0-17';
  if (age >= 80) return '80+';
  if (age < 20) return '18-19';
  const low = Math.floor(age / 10) * 10;
  return `${low}-${low + 9}`;
}

/**
 * Region: the country plus the first character of the postal code when it is a digit (a
 * large postal area in DE, FR, US…, ~a tenth of the country); the country alone otherwise.
 */
export function region(address: { country: string; postalCode: string } | null | undefined): string | null {
  if (!address) return null;
  const first = address.postalCode.trim().charAt(0);
  return /[0-9]/.test(first) ? `${address.country}-${first}` : address.country;
}

/** Tenure bands in whole years between two ISO dates. */
export function tenureBand(startDate: string, endDate: string): string | null {
  const years = ageOn(startDate, endDate);
  if (years === null || years < 0) return null;
  if (years < 1) return '<1';
  if (years < 3) return '1-2';
  if (years < 5) return '3-4';
  if (years < 10) return '5-9';
  return '10+';
}
