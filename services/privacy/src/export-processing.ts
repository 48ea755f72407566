/**
 * The `processing` part of a subject export: for each kind of field the export holds
 * (`<EventType>.<declared path>`), why it is processed, who receives it and how long it is
 * kept (Art. 15(1)(a)–(d)). Worked out once per field kind per export, from the first event
 * that carries it: recipients by running the views on that event (`fieldRecipients`).
 */
import { type ProcessingEntry, type RetentionStatement, retentionRulesFor, retentionStatement, type SubjectKind } from '@crm/contracts';
import { fieldRecipients, type ViewDefinition } from '@crm/projections';
import type { SubjectEvent } from './export-event.ts';

/** What the retention hook is asked about. */
export interface RetentionQuestion {
  eventType: string;
  /** Declared path, e.g. `contacts[].email`. */
  field: string;
  personal: boolean;
  kinds: readonly SubjectKind[];
}

/** The retention rules that can govern an item; default: the rules declared in the contracts (`RETENTION_RULES`). */
export type RetentionHook = (question: RetentionQuestion) => RetentionStatement[];

export const declaredRetention: RetentionHook = ({ eventType, kinds }) =>
  retentionRulesFor(eventType)
    .filter((rule) => rule.subjectKinds.some((kind) => kinds.includes(kind)))
    .map(retentionStatement);

/** Held only in the event history: what an item no view receives is kept for. */
export const EVENT_HISTORY_PURPOSE =
  'The record of what was recorded about you and when (the event history every view is built from; Art. 5(2) accountability).';

export interface ProcessingCatalogueOptions {
  views: readonly ViewDefinition[];
  /** Bus topics every event is published to (the Kafka events topic), none on the in-process bus. */
  topics: readonly string[];
  retention: RetentionHook;
  kinds: readonly SubjectKind[];
}

export class ProcessingCatalogue {
  private readonly entries = new Map<string, ProcessingEntry>();

  constructor(private readonly options: ProcessingCatalogueOptions) {}

  /** Adds the field kinds of this event that are not catalogued yet. */
  note(event: SubjectEvent): void {
    const fresh = event.entry.fields.filter((f) => !this.entries.has(f.field));
    if (fresh.length === 0) return;
    const { entry, data } = event;
    const projected = { type: entry.type, data, globalPosition: entry.position, streamVersion: entry.streamVersion, recordedAt: entry.recordedAt };
    const reached = fieldRecipients(this.options.views, projected, fresh.map((f) => f.path));
    for (const field of fresh) {
      if (this.entries.has(field.field)) continue;
      const declared = field.field.slice(entry.type.length + 1);
      const views = reached.get(field.path) ?? [];
      const viewNames = [...new Set(views.map((v) => v.view))];
      const purposes = viewNames.map((name) => ({ view: name, purpose: this.options.views.find((v) => v.name === name)?.purpose ?? '' }));
      this.entries.set(field.field, {
        eventType: entry.type,
        field: declared,
        personal: field.personal,
        purposes: purposes.length > 0 ? purposes : [{ purpose: EVENT_HISTORY_PURPOSE }],
        recipients: { views, topics: [...this.options.topics] },
        retention: this.options.retention({ eventType: entry.type, field: declared, personal: field.personal, kinds: this.options.kinds }),
      });
    }
  }

  toJSON(): Record<string, ProcessingEntry> {
    return Object.fromEntries([...this.entries].sort(([a], [b]) => a.localeCompare(b)));
  }
}
