/**
 * Access and portability (GDPR Art. 15 and 20): everything held on one data subject,
 * decrypted, as one JSON document with a documented schema (`SubjectExportDocument` in
 * @crm/contracts; docs/subject-export.md).
 *
 * The document is produced as a stream of text chunks: the subject's events are read
 * through the event store's subject index a page at a time and written as they are read,
 * so a history of any length goes out in memory bounded by a page, the fold of current
 * values (one entry per record) and the processing catalogue (one entry per kind of field).
 *
 * What is in it, and what is not:
 * - `records`: every event naming the subject, in global order — also the ones whose values
 *   were later rectified, so the history is visible — with the subject's own personal values
 *   (opened with their key alone) and, when the event is about them, its non-personal
 *   facts. An event is about the subject when it sits in one of their own streams (their
 *   customer or personnel file, a service case or deal opened for them) or names them as
 *   `subjectId`, `customerId` or `employeeId`. An event that only names them (an
 *   organisation listing its contact persons, a note they wrote as an agent, an account they
 *   own) gives only their own values and where they are named.
 * - Nothing of anyone else: another person's values, and the ids linking to other people
 *   (an account owner, an agent, a fellow contact person), are left out.
 * - `relatedEvents`: events of the subject's own cases and deals that name no data subject
 *   (a case resolved, a deal won), read from those streams after the records; their
 *   non-personal facts only. Reading a record's stream loads it from its first such event
 *   on, so memory there is bounded by the longest of the subject's cases or deals.
 * - An erased subject: the document says so (with the tombstone's time) and holds no values.
 */
import {
  SUBJECT_EXPORT_FORMAT,
  SUBJECT_EXPORT_FORMAT_VERSION,
  SUBJECT_KIND_BY_CREATING_EVENT,
  type SubjectExport,
  type SubjectKind,
  subjectIdsAt,
  eventContract,
  UnknownSubject,
} from '@crm/contracts';
import type { EventStore, KeyStore, Keyring, RecordedEvent, SubjectKey } from '@crm/core';
import { customerStream, employeeStream } from '@crm/domain';
import type { ViewDefinition } from '@crm/projections';
import { CurrentValues } from './export-current.ts';
import { readSubjectEvent, type SubjectEvent } from './export-event.ts';
import { declaredRetention, ProcessingCatalogue, type RetentionHook } from './export-processing.ts';

export const EXPORT_PAGE_SIZE = 500;

/** Events that open a record of the subject's own in a stream of its own (a service case, a deal). */
const OPENS_RECORD: ReadonlySet<string> = new Set(['ServiceCaseOpened', 'DealOpened']);

export interface ExportSubjectOptions {
  eventStore: EventStore;
  keyring: Keyring;
  /** For the tombstone of an erased subject (when and by which request); without it the time reads null. */
  keyStore?: Pick<KeyStore, 'find'>;
  /** The views the CRM runs: recipients and purposes of each field come from them. Default: none (then only the event history is named). */
  views?: readonly ViewDefinition[];
  /** Bus topics every event is published to: the Kafka events topic when the bus is Kafka. */
  topics?: readonly string[];
  /** Retention rules of an item; default: the rules declared in @crm/contracts. */
  retention?: RetentionHook;
  subjectId: string;
  /** Events read per page of the subject index. Default 500. */
  pageSize?: number;
  now?: () => Date;
}

const json = (value: unknown) => JSON.stringify(value);

/**
 * The export document as JSON text, chunk by chunk. Throws UnknownSubject (before the first
 * chunk) when the subject has neither a key nor any event, so a caller can still answer 404.
 */
export async function* exportSubject(options: ExportSubjectOptions): AsyncGenerator<string, void, undefined> {
  const { eventStore, keyring, subjectId } = options;
  const pageSize = options.pageSize ?? EXPORT_PAGE_SIZE;
  const exportedAt = (options.now?.() ?? new Date()).toISOString();
  // Events appended while the export runs are left to the next one: the document is as of this position.
  const asOfPosition = await eventStore.headPosition();
  const readPage = async (after: number) =>
    (await eventStore.readBySubject(subjectId, { after, limit: pageSize })).filter((e) => e.globalPosition <= asOfPosition);

  const found = await keyring.lookup(subjectId);
  let page = await readPage(0);
  if (found.state === 'unknown' && page.length === 0) throw new UnknownSubject();
  const kinds = kindsOf(page[0], subjectId);
  let erased: SubjectExport['subject']['erased'] = null;
  if (found.state === 'destroyed') {
    const record = await options.keyStore?.find(subjectId);
    const tombstone = record?.state === 'destroyed' ? record.tombstone : undefined;
    erased = { erasedAt: tombstone?.destroyedAt ?? null, requestId: tombstone?.requestId ?? null };
  }
  const subject: SubjectExport['subject'] = { subjectId, kinds, exportedAt, asOfPosition, erased };
  yield `{"format":${json(SUBJECT_EXPORT_FORMAT)},"formatVersion":${SUBJECT_EXPORT_FORMAT_VERSION},"subject":${json(subject)},\n"records":[`;
  if (found.state === 'destroyed') {
    // Nothing of theirs opens any more: no values, not even the shape of their history.
    const summary: SubjectExport['summary'] = { records: 0, relatedEvents: 0, firstPosition: null, lastPosition: null };
    yield `],\n"relatedEvents":[],\n"current":[],\n"processing":{},\n"summary":${json(summary)}}\n`;
    return;
  }

  // Events but no key in this key store (never reached it): the facts without the values.
  const key = found.state === 'active' ? found.key : undefined;
  const ownStreams = new Set([customerStream(subjectId), employeeStream(subjectId)]);
  const records = new RecordStreams();
  const current = new CurrentValues();
  const processing = new ProcessingCatalogue({
    views: options.views ?? [],
    topics: options.topics ?? [],
    retention: options.retention ?? declaredRetention,
    kinds,
  });
  const take = (event: SubjectEvent) => {
    processing.note(event);
    current.fold(event);
  };

  let count = 0;
  let firstPosition: number | null = null;
  let lastPosition: number | null = null;
  while (page.length > 0) {
    let chunk = '';
    for (const recorded of page) {
      const read = readOwnEvent(recorded, subjectId, key, ownStreams, records);
      take(read);
      chunk += `${count === 0 ? '' : ','}\n${json(read.entry)}`;
      count++;
      firstPosition ??= recorded.globalPosition;
      lastPosition = recorded.globalPosition;
    }
    yield chunk;
    if (page.length < pageSize) break;
    page = await readPage(page.at(-1)!.globalPosition);
  }

  yield '\n],\n"relatedEvents":[';
  let related = 0;
  for (const stream of records.withUnnamedEvents()) {
    let chunk = '';
    for (const recorded of await eventStore.readStream(stream.streamId, { afterVersion: stream.from - 1 })) {
      if (recorded.globalPosition > asOfPosition || !stream.isGap(recorded.streamVersion)) continue;
      const read = readSubjectEvent(recorded, { subjectId, key, inOwnStream: true });
      take(read);
      chunk += `${related === 0 ? '' : ','}\n${json(read.entry)}`;
      related++;
    }
    if (chunk) yield chunk;
  }

  const summary: SubjectExport['summary'] = { records: count, relatedEvents: related, firstPosition, lastPosition };
  yield `\n],\n"current":${json(current)},\n"processing":${json(processing)},\n"summary":${json(summary)}}\n`;
}

/** The whole document in memory, parsed: for tests, small subjects and the CLI. Streams are for HTTP. */
export async function collectSubjectExport(options: ExportSubjectOptions): Promise<SubjectExport> {
  let text = '';
  for await (const chunk of exportSubject(options)) text += chunk;
  return JSON.parse(text) as SubjectExport;
}

/**
 * The kinds of record the subject has, from the event that created them: a subject's key is
 * made by the event that creates it, so that event is the first to name them.
 */
function kindsOf(first: RecordedEvent | undefined, subjectId: string): SubjectKind[] {
  if (!first) return [];
  const kind = SUBJECT_KIND_BY_CREATING_EVENT[first.type];
  const contract = eventContract(first.type);
  if (!kind || !contract) return [];
  // The ids of the subjects it creates are in clear (only personal values are sealed).
  return subjectIdsAt(plainOf(first), contract.creates).includes(subjectId) ? [kind] : [];
}

/** The clear part of a stored event's data: ids and non-personal facts. */
const plainOf = (recorded: RecordedEvent): Record<string, unknown> =>
  ((recorded.data as { plain?: Record<string, unknown> } | null)?.plain ?? recorded.data ?? {}) as Record<string, unknown>;

function readOwnEvent(recorded: RecordedEvent, subjectId: string, key: SubjectKey | undefined, ownStreams: Set<string>, records: RecordStreams): SubjectEvent {
  if (OPENS_RECORD.has(recorded.type) && plainOf(recorded).subjectId === subjectId) {
    // A case or deal opened for the subject: its stream is theirs, and so are its facts.
    records.open(recorded.streamId, recorded.streamVersion);
  } else {
    records.seen(recorded.streamId, recorded.streamVersion);
  }
  const inOwnStream = ownStreams.has(recorded.streamId) || records.has(recorded.streamId);
  return readSubjectEvent(recorded, { subjectId, key, inOwnStream });
}

/** The subject's cases and deals, and which of their versions did not name the subject (so were not read). */
class RecordStreams {
  private readonly streams = new Map<string, { last: number; gaps: [number, number][] }>();

  has(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  open(streamId: string, version: number): void {
    this.streams.set(streamId, { last: version, gaps: version > 1 ? [[1, version - 1]] : [] });
  }

  seen(streamId: string, version: number): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (version > stream.last + 1) stream.gaps.push([stream.last + 1, version - 1]);
    stream.last = Math.max(stream.last, version);
  }

  /** Each stream from its first unread version on: the gaps, and whatever follows the last event read. */
  *withUnnamedEvents(): Iterable<{ streamId: string; from: number; isGap(version: number): boolean }> {
    for (const [streamId, { last, gaps }] of this.streams) {
      const ranges: [number, number][] = [...gaps, [last + 1, Number.MAX_SAFE_INTEGER]];
      yield {
        streamId,
        from: ranges[0]![0],
        isGap: (version) => ranges.some(([from, to]) => version >= from && version <= to),
      };
    }
  }
}
