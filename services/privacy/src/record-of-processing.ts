/**
 * The record of processing activities (GDPR Art. 30(1)), generated from what the code
 * declares: the event contracts (personal fields and whose they are), the views (declared
 * purpose, fields with role allow-lists, personal and blind-indexed fields, links to
 * subjects, erasure rules), the retention rules, and the deployment's configuration (the
 * controller, the bus). One activity for the command side (every event stored), one per view.
 * Nothing here is written by hand per field: a personal field added to a contract or a view
 * appears in the record the next time it is asked for.
 */
import {
  CONSENT_PURPOSES,
  type CommandContract,
  commandContracts,
  type EventContract,
  eventContracts,
  LEGAL_BASES,
  type PersonalDataCategory,
  PERSONAL_DATA_CATEGORIES,
  personalDataCategoryOf,
  PRIVACY_ROLES,
  RETENTION_RULES,
  type RetentionRule,
  retentionStatement,
  UNCATEGORISED,
} from '@crm/contracts';

export const RECORD_OF_PROCESSING_FORMAT = 'crm-record-of-processing';
export const RECORD_OF_PROCESSING_VERSION = 1;

/** What the record reads of a view (a `ViewDefinition` of @crm/projections fits). */
export interface RecordView {
  name: string;
  version: number;
  purpose: string;
  collections: Record<
    string,
    {
      name: string;
      fields: Record<string, { roles: readonly string[]; personal?: { subjectField: string } | undefined; blindIndex?: boolean | undefined }>;
      erasure?: { links: readonly string[]; own: 'delete' | 'scrub' } | undefined;
      pseudonymousLinks?: readonly string[] | undefined;
    }
  >;
  pseudonymise?: unknown;
}

export interface RecordOfProcessingInput {
  controller: { name: string; contact: string; dpoContact: string };
  views: readonly RecordView[];
  bus: { kind: 'memory' } | { kind: 'kafka'; topic: string };
  keyStore: { kind: string };
  masterKey: 'environment' | 'file' | string;
  keyCacheTtlMs: number;
  generatedAt?: string;
  /** Default: the contracts catalogue. */
  events?: ReadonlyMap<string, EventContract>;
  commands?: ReadonlyMap<string, CommandContract>;
  rules?: readonly RetentionRule[];
}

export interface DataCategoryEntry {
  category: string;
  name: string;
  description: string;
  special: boolean;
  /** Qualified field names: `EventType.path` (command side) or `view/collection.field` (views). */
  fields: string[];
}

export interface RecipientEntry {
  /** What receives the data: a view collection, a role, a bus topic, downstream systems. */
  recipient: string;
  kind: 'view' | 'roles' | 'topic' | 'downstream' | 'dpo';
  description: string;
  roles?: string[];
}

export interface RetentionEntry {
  ruleId: string;
  period: string;
  from: string;
  then: string;
  legalBasis: string;
}

export interface ProcessingActivity {
  id: string;
  name: string;
  purpose: string;
  legalBases: Array<{ source: string; text: string }>;
  dataSubjects: string[];
  personalData: DataCategoryEntry[];
  /** Pseudonymised processing (Art. 4(5)): no direct identifier, per-view pseudonyms. */
  pseudonymised: boolean;
  recipients: RecipientEntry[];
  retention: RetentionEntry[];
  technicalMeasures: string[];
  thirdCountryTransfers: 'none';
}

export interface RecordOfProcessing {
  format: typeof RECORD_OF_PROCESSING_FORMAT;
  version: typeof RECORD_OF_PROCESSING_VERSION;
  generatedAt: string;
  controller: { name: string; contact: string; dataProtectionOfficer: string };
  activities: ProcessingActivity[];
  technicalMeasures: string[];
  thirdCountryTransfers: { transfers: 'none'; note: string };
}

const SUBJECT_KIND_WORDS: Record<string, string> = {
  customer: 'customers who are natural persons',
  'contact-person': 'contact persons of organisation customers',
  employee: 'employees',
};
const INTERNAL_FIELDS = new Set(['_id', '_position']);
const EMPLOYEE_LINK = /owner|agent/i;

function grouped(fields: Iterable<string>): DataCategoryEntry[] {
  const byCategory = new Map<string, { category: PersonalDataCategory; fields: Set<string> }>();
  for (const field of fields) {
    const category = personalDataCategoryOf(field);
    const entry = byCategory.get(category.id) ?? { category, fields: new Set<string>() };
    entry.fields.add(field);
    byCategory.set(category.id, entry);
  }
  const order = [...PERSONAL_DATA_CATEGORIES, UNCATEGORISED].map((c) => c.id);
  return [...byCategory.values()]
    .sort((a, b) => order.indexOf(a.category.id) - order.indexOf(b.category.id))
    .map(({ category, fields }) => ({ category: category.id, name: category.name, description: category.description, special: category.special ?? false, fields: [...fields].sort() }));
}

const retentionEntries = (rules: readonly RetentionRule[]): RetentionEntry[] =>
  rules.map((rule) => {
    const s = retentionStatement(rule);
    return { ruleId: rule.id, period: s.period, from: s.from, then: s.then, legalBasis: s.legalBasis };
  });

function subjectsOf(rules: readonly RetentionRule[]): string[] {
  const kinds = new Set(rules.flatMap((r) => r.subjectKinds));
  return [...kinds].map((k) => SUBJECT_KIND_WORDS[k] ?? k);
}

function ruleBases(rules: readonly RetentionRule[]): Array<{ source: string; text: string }> {
  return rules.map((r) => ({ source: `retention rule ${r.id}`, text: r.legalBasis }));
}

const consentBasis = (rules: readonly RetentionRule[]) =>
  rules.some((r) => r.id === 'consent-proof')
    ? [
        {
          source: 'consent records',
          text: `Art. 6(1)(a) and 7 GDPR for the consent purposes ${CONSENT_PURPOSES.join(', ')}: each consent records its own legal basis (${LEGAL_BASES.join(', ')}), source and text version; a withdrawal or an objection (Art. 21(3)) ends it.`,
        },
      ]
    : [];

export function recordOfProcessing(input: RecordOfProcessingInput): RecordOfProcessing {
  const events = input.events ?? eventContracts;
  const commands = input.commands ?? commandContracts;
  const rules = input.rules ?? (RETENTION_RULES as readonly RetentionRule[]);
  const topic = input.bus.kind === 'kafka' ? input.bus.topic : undefined;

  const blindIndexed = input.views.flatMap((v) =>
    Object.values(v.collections).flatMap((c) => Object.entries(c.fields).filter(([, p]) => p.blindIndex).map(([f]) => `${c.name}.${f}`)),
  );
  const technicalMeasures = [
    'Every personal field is sealed with AES-256-GCM under its data subject’s own key before it is first written anywhere (event store, bus, read store); a fresh random 96-bit nonce per value, bound to the event id, the subject id and the field set.',
    `Each subject’s data key is wrapped by a master key (from ${input.masterKey === 'environment' ? 'CRM_MASTER_KEY' : 'a key file in the data directory: development only'}) and kept in a key store separate from the events (${input.keyStore.kind}); rotating the master key rewraps keys and never rewrites events.`,
    `Erasure destroys the subject’s key (crypto-shredding, NIST SP 800-88 cryptographic erase): every copy of their data, backups included, becomes unreadable; the views scrub them on SubjectForgotten; a receipt proves it. A running process may hold an unwrapped key for at most ${input.keyCacheTtlMs} ms.`,
    `Exact lookups on personal fields use keyed HMAC blind indexes, never the value: ${blindIndexed.length > 0 ? blindIndexed.join(', ') : 'none'}.`,
    'Role-based access as allow-lists: each command names the roles that may send it; each view field the roles that may read it; a filter, sort or aggregation on a field the caller may not read is refused.',
    'Every answer that shows personal data, and every privacy action, is recorded in the audit log before it is sent: who, which subject ids, which view, for what purpose; never the data.',
    'The analytics view holds no direct identifier: per-view keyed pseudonyms, generalised attributes (region, age and tenure bands).',
    'Logs take flat fields only; values that look like email addresses or phone numbers are masked; error messages name fields, never values.',
    'An erased person is recognised again only by a keyed HMAC of their normalised email and phone (suppression entry), never the values.',
  ];
  const transferNote = 'No transfer to a third country or an international organisation is part of this core; declare any that the deployment adds (a hosted engine, a processor outside the EU/EEA) in this record.';

  // ── the command side: every event stored ──
  const eventFields = [...events.values()].flatMap((c) => c.personal.flatMap((g) => g.fields.map((f) => `${c.type}.${f}`)));
  const aggregates = new Map<string, Set<string>>();
  for (const c of commands.values()) {
    const roles = aggregates.get(c.aggregate) ?? new Set<string>();
    for (const r of c.roles) roles.add(r);
    aggregates.set(c.aggregate, roles);
  }
  const commandSide: ProcessingActivity = {
    id: 'command-side',
    name: 'Recording business events (command side)',
    purpose: `Record every change to ${[...aggregates.keys()].join(', ')} records as an event that is never overwritten: the source of every view, of exports (Art. 15, 20) and of the proof of what was done (Art. 5(2)).`,
    legalBases: [...ruleBases(rules), ...consentBasis(rules)],
    dataSubjects: subjectsOf(rules),
    personalData: grouped(eventFields),
    pseudonymised: false,
    recipients: [
      ...[...aggregates].map(([aggregate, roles]): RecipientEntry => ({
        recipient: `${aggregate} commands`,
        kind: 'roles',
        description: `staff in these roles record ${aggregate} events`,
        roles: [...roles].sort(),
      })),
      ...input.views.map((v): RecipientEntry => ({ recipient: `view ${v.name}`, kind: 'view', description: v.purpose })),
      topic
        ? { recipient: `Kafka topic ${topic} (and ${topic}.dlq)`, kind: 'topic', description: 'every committed event, sealed as stored: consumers without the subject’s key read no personal value' }
        : { recipient: 'in-process bus', kind: 'topic', description: 'the view projectors in the same deployment read committed events from the event store' },
      {
        recipient: 'downstream systems',
        kind: 'downstream',
        description: `told of every erasure by the SubjectForgotten event${topic ? ` on ${topic}` : ''} (Art. 17(2)), of every restriction by ProcessingRestricted / RestrictionLifted (Art. 19)`,
      },
      { recipient: 'data protection officer', kind: 'dpo', description: 'data-subject requests, exports, receipts, retention', roles: [...PRIVACY_ROLES] },
    ],
    retention: retentionEntries(rules),
    technicalMeasures: [
      'events are appended, never changed; every personal field sealed under its subject’s key before the append',
      'an erased subject’s events stay, unreadable: their key is gone; commands naming them are refused',
      'the measures of the whole core: below (Art. 32)',
    ],
    thirdCountryTransfers: 'none',
  };

  // ── one activity per view ──
  const viewActivities = input.views.map((view): ProcessingActivity => {
    const viewRules = rules.filter((r) => r.views.includes(view.name));
    const collections = Object.values(view.collections);
    const personalFields = collections.flatMap((c) => Object.entries(c.fields).filter(([, p]) => p.personal).map(([f]) => `${c.name}.${f}`));
    const pseudonymised = personalFields.length === 0 && view.pseudonymise !== undefined;
    const links = collections.flatMap((c) => (c.erasure?.links ?? []).map((l) => `${c.name}.${l}`));
    const employeeLinks = links.filter((l) => EMPLOYEE_LINK.test(l.split('.').at(-1)!));
    const personalData = grouped(personalFields);
    if (links.length > 0) {
      personalData.push({
        category: 'subject-ids',
        name: 'Identifiers of data subjects',
        description: 'random UUIDs (never derived from personal data) linking a document to a person',
        special: false,
        fields: [...new Set(links)].sort(),
      });
    }
    if (pseudonymised) {
      personalData.push({
        category: 'pseudonymised',
        name: 'Pseudonymised, generalised attributes',
        description: 'keyed per-view pseudonyms and generalised attributes only; no direct identifier',
        special: false,
        fields: collections.flatMap((c) => Object.keys(c.fields).filter((f) => !INTERNAL_FIELDS.has(f)).map((f) => `${c.name}.${f}`)).sort(),
      });
    }
    const subjects = subjectsOf(viewRules);
    if (employeeLinks.length > 0 && !subjects.includes(SUBJECT_KIND_WORDS.employee!)) subjects.push('employees, by subject id only (as account owners, deal owners or case agents)');
    return {
      id: `view:${view.name}`,
      name: `View ${view.name} (version ${view.version})`,
      purpose: view.purpose,
      legalBases: [{ source: `view ${view.name} purpose`, text: view.purpose }, ...ruleBases(viewRules), ...consentBasis(viewRules)],
      dataSubjects: subjects,
      personalData,
      pseudonymised,
      recipients: collections.map((c): RecipientEntry => {
        const readers = new Set(Object.values(c.fields).flatMap((p) => p.roles));
        const personalReaders = new Set(Object.values(c.fields).filter((p) => p.personal).flatMap((p) => p.roles));
        return {
          recipient: c.name,
          kind: 'view',
          description:
            personalReaders.size > 0
              ? `personal fields opened for ${[...personalReaders].sort().join(', ')} only; every such read audited`
              : 'no personal field: non-personal and linked facts only',
          roles: [...readers].sort(),
        };
      }),
      retention: retentionEntries(viewRules),
      technicalMeasures: [
        'personal fields stored sealed under the subject’s key, opened per request for allowed roles only',
        ...collections.flatMap((c) => (c.erasure ? [`${c.name}: on erasure the person's documents are ${c.erasure.own === 'delete' ? 'deleted' : 'scrubbed (non-personal facts kept, links removed)'}`] : [])),
        ...(pseudonymised ? ['keyed pseudonyms of this view only: they cannot be joined with other views'] : []),
      ],
      thirdCountryTransfers: 'none',
    };
  });

  return {
    format: RECORD_OF_PROCESSING_FORMAT,
    version: RECORD_OF_PROCESSING_VERSION,
    generatedAt: input.generatedAt ?? new Date().toISOString(),
    controller: { name: input.controller.name, contact: input.controller.contact, dataProtectionOfficer: input.controller.dpoContact },
    activities: [commandSide, ...viewActivities],
    technicalMeasures,
    thirdCountryTransfers: { transfers: 'none', note: transferNote },
  };
}

const bullet = (text: string) => `- ${text.replace(/\n/g, ' ')}`;
const code = (text: string) => `\`${text}\``;

/** The record as Markdown, for people (and for printing). */
export function recordOfProcessingMarkdown(record: RecordOfProcessing): string {
  const lines: string[] = [
    '# Record of processing activities (GDPR Art. 30(1))',
    '',
    `Generated ${record.generatedAt} from the contracts, the views and the retention rules of this deployment.`,
    '',
    '## Controller',
    '',
    bullet(`Controller: ${record.controller.name}`),
    bullet(`Contact: ${record.controller.contact}`),
    bullet(`Data protection officer: ${record.controller.dataProtectionOfficer}`),
    '',
  ];
  for (const activity of record.activities) {
    lines.push(`## ${activity.name}`, '', `**Purpose.** ${activity.purpose}`, '', '**Legal bases.**', '');
    for (const basis of activity.legalBases) lines.push(bullet(`${basis.source}: ${basis.text}`));
    lines.push('', '**Categories of data subjects.**', '');
    for (const subject of activity.dataSubjects) lines.push(bullet(subject));
    lines.push('', `**Categories of personal data.**${activity.pseudonymised ? ' Pseudonymised (Art. 4(5)).' : ''}`, '');
    for (const entry of activity.personalData) {
      lines.push(bullet(`${entry.name}${entry.special ? ' — special category' : ''} (${entry.description}): ${entry.fields.map(code).join(', ')}`));
    }
    lines.push('', '**Recipients.**', '');
    for (const r of activity.recipients) lines.push(bullet(`${r.recipient}${r.roles ? ` (roles: ${r.roles.join(', ') || 'none'})` : ''}: ${r.description}`));
    lines.push('', '**Retention (time limits for erasure).**', '');
    for (const r of activity.retention) lines.push(bullet(`${code(r.ruleId)}: ${r.period} from ${r.from}, then ${r.then}. ${r.legalBasis}`));
    if (activity.retention.length === 0) lines.push(bullet('no retention rule declared for this activity'));
    lines.push('', '**Technical and organisational measures.**', '');
    for (const m of activity.technicalMeasures) lines.push(bullet(m));
    lines.push('', `**Transfers to third countries.** ${activity.thirdCountryTransfers}`, '');
  }
  lines.push('## Technical and organisational measures (Art. 32)', '');
  for (const m of record.technicalMeasures) lines.push(bullet(m));
  lines.push('', '## Transfers to third countries', '', `None. ${record.thirdCountryTransfers.note}`, '');
  return lines.join('\n');
}
