/**
 * One recorded event as a subject export shows it: only the subject's own values, opened
 * with their key alone (no one else's key is ever fetched), and the non-personal facts of
 * the event when it is about them. Everything of anyone else — their personal values and
 * the ids that link to them — is left out.
 */
import {
  ConsentGiven,
  ConsentWithdrawn,
  DATA_SOURCE_BY_COMMAND,
  DATA_SOURCE_DESCRIPTIONS,
  deletePath,
  DirectMarketingObjected,
  eventContract,
  type EventContract,
  type ExportDataSource,
  type ExportedEvent,
  type ExportedField,
  LEGAL_BASES,
  locate,
  personalFieldsBySubject,
  readPath,
  SealBroken,
  upcastToCurrent,
  writePath,
} from '@crm/contracts';
import { isSealedEventData, openValue, type RecordedEvent, type SubjectKey } from '@crm/core';

/** Consent records name the channel the person used (`source`): that is where their data came from. */
const CONSENT_RECORDS: ReadonlySet<string> = new Set([ConsentGiven.type, ConsentWithdrawn.type, DirectMarketingObjected.type]);

/** Top-level fields that say whom a record is about (never a mere link such as an account owner or an agent). */
const PRINCIPAL_FIELDS = ['subjectId', 'customerId', 'employeeId'] as const;

/** The event as the export read it: the entry, and what the processing catalogue and the fold need. */
export interface SubjectEvent {
  entry: ExportedEvent;
  /** The event's data, upcast, with the subject's values in place and everyone else's personal values null. */
  data: Record<string, unknown>;
  /** Each exported field's path relative to the record it describes (`contacts.1.email` → `email`). */
  relative: Map<string, string>;
  contract: EventContract | undefined;
}

/** `contacts.1.email` → `contacts[].email`: the path as the contracts declare it. */
export function declaredPath(concrete: string): string {
  return concrete.replace(/\.(\d+)(?=\.|$)/g, '[]');
}

/** A personal field's path relative to its subject's place in the event: `contacts[].email` → `email`, `contact.email` → `email`. */
function relativeToSubject(contract: EventContract | undefined, declared: string): string {
  for (const group of contract?.personal ?? []) {
    if (!group.fields.includes(declared)) continue;
    const parent = group.subject.includes('.') ? group.subject.slice(0, group.subject.lastIndexOf('.')) : '';
    return parent && declared.startsWith(`${parent}.`) ? declared.slice(parent.length + 1) : declared;
  }
  return declared;
}

/** Every path whose value is `subjectId`, e.g. `customerId`, `contacts.1.subjectId`. */
function pathsHolding(node: unknown, subjectId: string, at = ''): string[] {
  if (node === subjectId) return [at];
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, child]) => pathsHolding(child, subjectId, at ? `${at}.${key}` : key));
}

function sourceOf(recorded: RecordedEvent, data: Record<string, unknown>, isConsentRecord: boolean): ExportDataSource {
  const command = recorded.metadata.commandType;
  const withCommand = command ? { command } : {};
  if (isConsentRecord && typeof data.source === 'string') {
    return { kind: 'consent-record', description: DATA_SOURCE_DESCRIPTIONS['consent-record'], channel: data.source, ...withCommand };
  }
  const kind = command ? DATA_SOURCE_BY_COMMAND[command] : undefined;
  return kind ? { kind, description: DATA_SOURCE_DESCRIPTIONS[kind], ...withCommand } : { kind: 'unknown', description: DATA_SOURCE_DESCRIPTIONS.unknown, ...withCommand };
}

export interface ReadEventOptions {
  subjectId: string;
  /** The subject's key; undefined when it is gone (nothing of theirs can be opened then). */
  key: SubjectKey | undefined;
  /** True when the event sits in one of the subject's own streams (their customer or employee file, their cases and deals). */
  inOwnStream: boolean;
}

/** The export entry of one event for one subject. Throws SealBroken when the subject's key fails to open their value. */
export function readSubjectEvent(recorded: RecordedEvent, options: ReadEventOptions): SubjectEvent {
  const { subjectId, key } = options;
  const contract = eventContract(recorded.type);
  const sealed = isSealedEventData(recorded.data) ? recorded.data : undefined;
  const raw = (sealed ? sealed.plain : recorded.data) as Record<string, unknown> | null;
  let data: Record<string, unknown> = structuredClone(raw && typeof raw === 'object' ? raw : {});

  // Whose personal values sit where; the subject's own opened with their key, everyone else's nulled.
  const own = new Map<string, unknown>();
  const personalPaths: string[] = [];
  if (sealed) {
    for (const value of sealed.sealed) {
      personalPaths.push(...value.paths);
      if (value.subjectId !== subjectId) {
        for (const path of value.paths) writePath(data, path, null);
        continue;
      }
      const opened = key ? openValue(key, recorded.eventId, value) : undefined;
      if (key && !opened) throw new SealBroken(`A sealed value of event ${recorded.eventId} failed authentication`);
      const values = opened ? (JSON.parse(opened.toString('utf8')) as Record<string, unknown>) : {};
      for (const path of value.paths) {
        writePath(data, path, opened ? values[path] : null);
        if (opened) own.set(path, values[path]);
      }
    }
  } else if (contract) {
    // An event stored in clear (a test or an import): the contracts still say whose each value is.
    for (const group of personalFieldsBySubject(data, contract.personal)) {
      personalPaths.push(...group.paths);
      for (const path of group.paths) {
        if (group.subjectId === subjectId && key) own.set(path, readPath(data, path));
        else writePath(data, path, null);
      }
    }
  }
  if (contract) data = upcastToCurrent(contract, recorded.schemaVersion, data);

  const about = options.inOwnStream || PRINCIPAL_FIELDS.some((field) => data[field] === subjectId);
  const fields: ExportedField[] = [];
  const relative = new Map<string, string>();
  for (const [path, value] of [...own].sort(([a], [b]) => a.localeCompare(b))) {
    const declared = declaredPath(path);
    fields.push({ path, field: `${recorded.type}.${declared}`, personal: true, value });
    relative.set(path, relativeToSubject(contract, declared));
  }
  if (about && contract) {
    // Non-personal facts, without anything that names someone else.
    const excluded = new Set(personalPaths);
    for (const path of [...contract.subjects, ...contract.personal.map((g) => g.subject)]) {
      for (const found of locate(data, path)) if (found.value !== subjectId) excluded.add(found.path);
    }
    for (const [field, value] of Object.entries(data)) {
      if (excluded.has(field) || value === undefined) continue;
      let kept = value;
      const nested = [...excluded].filter((p) => p.startsWith(`${field}.`));
      if (nested.length > 0) {
        kept = structuredClone(value);
        for (const path of nested) deletePath({ [field]: kept }, path);
      }
      fields.push({ path: field, field: `${recorded.type}.${field}`, personal: false, value: kept });
      relative.set(field, field);
    }
  }

  const legalBasis = LEGAL_BASES.find((basis) => basis === data.legalBasis);
  const entry: ExportedEvent = {
    eventId: recorded.eventId,
    type: recorded.type,
    streamId: recorded.streamId,
    streamVersion: recorded.streamVersion,
    position: recorded.globalPosition,
    recordedAt: recorded.recordedAt,
    about,
    namedAt: pathsHolding(data, subjectId),
    source: sourceOf(recorded, data, CONSENT_RECORDS.has(recorded.type)),
    ...(legalBasis ? { legalBasis } : {}),
    fields,
  };
  return { entry, data, relative, contract };
}
