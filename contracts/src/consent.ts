import { z } from 'zod';
import { id, line } from './fields.ts';
import { defineCommand, defineEvent } from './messages.ts';

export const CONSENT_PURPOSES = ['marketing-email', 'phone-marketing', 'profiling'] as const;
/** Purposes that are direct marketing: an objection (Art. 21(3)) rules them out for good. */
export const DIRECT_MARKETING_PURPOSES: readonly ConsentPurpose[] = ['marketing-email', 'phone-marketing'];
export type ConsentPurpose = (typeof CONSENT_PURPOSES)[number];

export const LEGAL_BASES = ['consent', 'contract', 'legal-obligation', 'legitimate-interest'] as const;
export const CONSENT_SOURCES = ['web-form', 'email', 'phone-call', 'in-person', 'paper-form', 'import'] as const;

const purpose = () => z.enum(CONSENT_PURPOSES);
const source = () => z.enum(CONSENT_SOURCES);
const textVersion = () => line(64).describe('version of the consent text the person was shown');
/** Consent is a person's: a person customer's own subjectId, or an organisation's contact person. */
const whose = {
  customerId: id(),
  subjectId: id().optional().describe("defaults to the person customer's own subjectId; required for organisations"),
};

const SALES = ['sales-rep'] as const;
/** Recorded before consent text versions were kept; the text shown cannot be proven. */
export const UNRECORDED_TEXT_VERSION = 'unrecorded';

export const GiveConsent = defineCommand({
  type: 'GiveConsent',
  version: 2,
  aggregate: 'customer',
  description: 'Records consent for one purpose: who, when, how (source) and which text version (Art. 7(1)).',
  roles: SALES,
  schema: z.strictObject({ ...whose, purpose: purpose(), legalBasis: z.enum(LEGAL_BASES), source: source(), textVersion: textVersion() }),
  subjects: ['subjectId', 'customerId'],
  previousVersions: [
    {
      version: 1,
      schema: z.strictObject({ ...whose, purpose: purpose(), legalBasis: z.enum(LEGAL_BASES), source: source() }),
      upcast: (v1) => ({ ...v1, textVersion: UNRECORDED_TEXT_VERSION }),
    },
  ],
});

export const WithdrawConsent = defineCommand({
  type: 'WithdrawConsent',
  version: 1,
  aggregate: 'customer',
  description: 'Withdraws consent for one purpose (Art. 7(3)): as easy as giving it.',
  roles: SALES,
  schema: z.strictObject({ ...whose, purpose: purpose(), source: source() }),
  subjects: ['subjectId', 'customerId'],
});

export const ObjectToDirectMarketing = defineCommand({
  type: 'ObjectToDirectMarketing',
  version: 1,
  aggregate: 'customer',
  description: 'Records an objection to direct marketing (Art. 21(2)); it rules out marketing consent for good.',
  roles: SALES,
  schema: z.strictObject({ ...whose, source: source() }),
  subjects: ['subjectId', 'customerId'],
});

export const ConsentGiven = defineEvent({
  type: 'ConsentGiven',
  version: 2,
  description: 'A person gave consent for a purpose.',
  schema: z.object({
    customerId: id(),
    subjectId: id(),
    purpose: purpose(),
    legalBasis: z.enum(LEGAL_BASES),
    source: source(),
    textVersion: textVersion(),
  }),
  subjects: ['subjectId'],
  previousVersions: [
    {
      version: 1,
      schema: z.object({ customerId: id(), subjectId: id(), purpose: purpose(), legalBasis: z.enum(LEGAL_BASES), source: source() }),
      upcast: (v1) => ({ ...v1, textVersion: UNRECORDED_TEXT_VERSION }),
    },
  ],
});

export const ConsentWithdrawn = defineEvent({
  type: 'ConsentWithdrawn',
  version: 1,
  description: 'A person withdrew consent for a purpose.',
  schema: z.object({ customerId: id(), subjectId: id(), purpose: purpose(), source: source() }),
  subjects: ['subjectId'],
});

export const DirectMarketingObjected = defineEvent({
  type: 'DirectMarketingObjected',
  version: 1,
  description: 'A person objected to direct marketing; any direct-marketing consent ends with it.',
  schema: z.object({ customerId: id(), subjectId: id(), source: source() }),
  subjects: ['subjectId'],
});
