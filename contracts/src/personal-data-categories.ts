/**
 * Categories of personal data (GDPR Art. 30(1)(c)): how the personal fields the contracts
 * declare group for the record of processing and for people reading it. A field is matched
 * by its qualified name first (`EventType.path` for an event, `view/collection.field` for a
 * view), then by the last segment of its path (`contacts[].email` → `email`). A personal
 * field no category names still shows up in the record, under `uncategorised`, so a new
 * personal field is never missing from it; a unit test asks for it to be categorised.
 */

export interface PersonalDataCategory {
  id: string;
  name: string;
  description: string;
  /** A special category of Art. 9 (health, …). */
  special?: boolean;
  /** Qualified names (`EventType.path`, `view/collection.field`) or leaf names. */
  fields: readonly string[];
}

export const PERSONAL_DATA_CATEGORIES: readonly PersonalDataCategory[] = [
  { id: 'identity', name: 'Identity', description: 'names and dates of birth', fields: ['name', 'dateOfBirth'] },
  { id: 'contact-details', name: 'Contact details', description: 'email addresses, phone numbers and postal addresses', fields: ['email', 'phone', 'address'] },
  { id: 'professional', name: 'Professional details', description: "a contact person's job title", fields: ['jobTitle'] },
  {
    id: 'employment',
    name: 'Employment and pay',
    description: "an employee's salary band and why the employment ended",
    fields: ['salaryBand', 'EmploymentEnded.reason', 'hr/employees.endReason'],
  },
  {
    id: 'health',
    name: 'Health data (Art. 9)',
    description: 'the kind of an absence, since sick leave is health data',
    special: true,
    fields: ['AbsenceRecorded.kind', 'hr/absences.kind'],
  },
  { id: 'service-content', name: 'Service case content', description: "case summaries and notes, free text about the person's concern", fields: ['summary', 'text'] },
  {
    id: 'privacy-correspondence',
    name: 'Data-subject requests and legal holds',
    description: 'the reasons given with privacy requests, deadline extensions, refusals and legal holds',
    fields: ['reason'],
  },
];

export const UNCATEGORISED: PersonalDataCategory = {
  id: 'uncategorised',
  name: 'Not yet categorised',
  description: 'personal fields no category names yet: add them to PERSONAL_DATA_CATEGORIES (contracts/src/personal-data-categories.ts)',
  fields: [],
};

/** The category of a personal field, by its qualified name (`EventType.path` or `view/collection.field`). */
export function personalDataCategoryOf(qualified: string): PersonalDataCategory {
  const dot = qualified.indexOf('.');
  const leaf = (qualified.split('.').at(-1) ?? qualified).replace(/\[\]$/, '');
  const owner = dot < 0 ? '' : qualified.slice(0, dot);
  return (
    PERSONAL_DATA_CATEGORIES.find((c) => c.fields.includes(qualified)) ??
    PERSONAL_DATA_CATEGORIES.find((c) => c.fields.includes(`${owner}.${leaf}`)) ??
    PERSONAL_DATA_CATEGORIES.find((c) => c.fields.includes(leaf)) ??
    UNCATEGORISED
  );
}
