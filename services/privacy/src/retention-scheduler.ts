/**
 * The retention scheduler (GDPR Art. 5(1)(e), 17(1)(a)): lists what falls due, reminds the
 * DPO ahead of time (Wiedervorlage), and on the due date erases or anonymises the subject
 * through the privacy service's erasure — unless a legal hold stands (Art. 17(3)) or their
 * processing is restricted (Art. 18), in which case it records why not, and the subject
 * comes up again on the first run after the hold or restriction ended.
 *
 * Everything it records goes on the subject's privacy stream (`privacy-subject-<id>`), ids,
 * dates and codes only, each at most once: reminders per subject, rule and due date;
 * skips per subject, rule, due date, reason and hold; actions per subject, rule and due
 * date (an idempotency key of the event store makes a second run, or a second process,
 * append nothing). A webhook, when configured, hears of every reminder (ids only), in
 * order, from a stored checkpoint: a failure is retried on the next run and never holds
 * up the run.
 *
 * The clock is injected (`now`): tests move it; due dates are calendar days in UTC.
 */
import {
  addIsoDuration,
  DuplicateIdempotencyKey,
  type EventContract,
  RetentionActionSkipped,
  RetentionActionTaken,
  RetentionReminderIssued,
  type RetentionAction,
  type RetentionSkipReason,
} from '@crm/contracts';
import { type CheckpointStore, type EventStore, type Keyring, type Logger, sealEvent, subjectsOfEvent } from '@crm/core';
import { privacySubjectStream } from '@crm/domain';
import { v7 as uuidv7 } from 'uuid';
import { createRetentionFacts, outcomeKey, type RetentionFacts, type SubjectFacts, skipKey } from './retention-facts.ts';
import { remindFrom, type RuleStatus, scheduleOf, standingHoldsOn, type SubjectSchedule } from './retention-schedule.ts';

/** A legal hold as the erasure side reports it. */
export interface RetentionHold {
  holdId: string;
  legalBasis: string;
  /** Last day (YYYY-MM-DD) the hold stands. */
  until: string;
  released?: boolean;
}

/** What the scheduler needs of the privacy service's erasure (Art. 17 with its receipt). */
export interface RetentionErasure {
  erase(subjectId: string, reason: string, requestedBy: string): Promise<{ state: 'done' | 'refused'; requestId?: string; reason?: string; holdIds?: string[] }>;
  /** The subject's legal holds, from the privacy service; without it, the scheduler's own fold of LegalHoldPlaced/Released. */
  holdsOf?(subjectId: string): Promise<RetentionHold[]>;
}

export interface RetentionWebhook {
  url: string;
  /** Default: global fetch. */
  fetch?: typeof fetch;
  /** Default 5000 ms per delivery. */
  timeoutMs?: number;
}

export interface RetentionSchedulerOptions {
  eventStore: EventStore;
  /** Seals the scheduler's events (they carry no personal field: no key is ever fetched). */
  keyring: Keyring;
  /** Where the webhook's progress is kept. */
  checkpoints: CheckpointStore;
  erasure: RetentionErasure;
  logger: Logger;
  now?: () => Date;
  webhook?: RetentionWebhook;
  /** The principal recorded as the actor of the scheduler's events and erasure requests. Default `crm-retention`. */
  actor?: string;
  /** A fold shared with others; default: the scheduler's own. */
  facts?: RetentionFacts;
}

export interface DueHold {
  holdId: string;
  legalBasis: string;
  until: string;
}

export interface DueItem {
  subjectId: string;
  subjectKind: string;
  ruleId: string;
  purpose: string;
  dueOn: string;
  /** The first day of the reminder window. */
  remindFrom: string;
  action: RetentionAction;
  /** `due`: on or after the due date; `upcoming`: before it, within the horizon. */
  state: 'due' | 'upcoming';
  reminded: boolean;
  reminderIssuedAt?: string;
  /** The hold that stands on `asOf` (the one ending last), or null. */
  hold: DueHold | null;
  restricted: boolean;
  /** The last skip recorded for this due date, if any. */
  skipped?: { reason: RetentionSkipReason; at: string; holdId?: string; until?: string };
  /** Every rule that applies, with its own due date; the governing rule is the latest. */
  rules: RuleStatus[];
}

export interface RetentionDue {
  asOf: string;
  /** The horizon asked for; null: each rule's own reminder lead time. */
  horizon: string | null;
  /** The event-store position the facts were folded up to. */
  position: number;
  items: DueItem[];
}

export type PlannedReminder = { subjectId: string; ruleId: string; dueOn: string; action: RetentionAction; outcome: 'issued' | 'would-issue' };
export type PlannedAction = {
  subjectId: string;
  ruleId: string;
  dueOn: string;
  action: RetentionAction;
  outcome: 'taken' | 'would-take' | 'skipped' | 'would-skip' | 'failed';
  reason?: RetentionSkipReason;
  holdId?: string;
  until?: string;
  requestId?: string;
};

export interface RetentionRunReport {
  runId: string;
  asOf: string;
  dryRun: boolean;
  position: number;
  reminders: PlannedReminder[];
  actions: PlannedAction[];
  /** Reminders delivered to the webhook in this run, and how many wait for the next; null without a webhook. */
  webhook: { delivered: number; pending: number } | null;
}

export type ReminderStatus = 'open' | 'taken' | 'skipped' | 'superseded' | 'forgotten';

export interface ReminderView {
  subjectId: string;
  ruleId: string;
  dueOn: string;
  action: RetentionAction;
  issuedAt: string;
  position: number;
  /** open: the due date stands and nothing was done yet; superseded: activity moved the due date since. */
  status: ReminderStatus;
  /** delivered to the webhook, pending, or no webhook configured. */
  webhook: 'delivered' | 'pending' | 'off';
}

export interface RetentionScheduler {
  /** Items due on `asOf` and those coming due within `horizon` (an ISO 8601 duration; default each rule's reminder lead time). */
  due(options?: { asOf?: Date; horizon?: string }): Promise<RetentionDue>;
  /** Issues due reminders and carries out due actions; with `dryRun`, lists what it would do and changes nothing. */
  run(options?: { dryRun?: boolean }): Promise<RetentionRunReport>;
  reminders(filter?: { subjectId?: string; status?: ReminderStatus }): Promise<ReminderView[]>;
  readonly facts: RetentionFacts;
}

export const WEBHOOK_CHECKPOINT = 'retention:webhook';
const day = (date: Date) => date.toISOString().slice(0, 10);

export function createRetentionScheduler(options: RetentionSchedulerOptions): RetentionScheduler {
  const { eventStore, keyring, checkpoints, erasure } = options;
  const logger = options.logger.child({ component: 'retention' });
  const now = options.now ?? (() => new Date());
  const actor = options.actor ?? 'crm-retention';
  const facts = options.facts ?? createRetentionFacts({ eventStore });
  let runs: Promise<unknown> = Promise.resolve();

  function schedules(): Array<{ subject: SubjectFacts; schedule: SubjectSchedule }> {
    const found = [];
    for (const subject of facts.subjects()) {
      const schedule = scheduleOf(subject, subject.customerId ? facts.account(subject.customerId) : undefined);
      if (schedule) found.push({ subject, schedule });
    }
    return found.sort((a, b) => a.schedule.dueOn.localeCompare(b.schedule.dueOn) || a.subject.subjectId.localeCompare(b.subject.subjectId));
  }

  /** The standing hold that ends last, from the privacy service when it answers, else from the fold. */
  async function standingHold(subject: SubjectFacts, asOf: string, fresh: boolean): Promise<DueHold | null> {
    const holds = fresh && erasure.holdsOf ? (await erasure.holdsOf(subject.subjectId)).map((h) => ({ ...h, released: h.released ?? false })) : [...subject.holds.values()];
    const standing = standingHoldsOn(holds, asOf).sort((a, b) => b.until.localeCompare(a.until));
    const hold = standing[0];
    return hold ? { holdId: hold.holdId, legalBasis: hold.legalBasis, until: hold.until } : null;
  }

  function lastSkip(subject: SubjectFacts, ruleId: string, dueOn: string): DueItem['skipped'] {
    let found: DueItem['skipped'];
    let at = -1;
    for (const skip of subject.skipped.values()) {
      if (skip.ruleId !== ruleId || skip.dueOn !== dueOn || skip.position < at) continue;
      at = skip.position;
      found = { reason: skip.reason!, at: skip.at, ...(skip.holdId ? { holdId: skip.holdId } : {}), ...(skip.until ? { until: skip.until } : {}) };
    }
    return found;
  }

  async function append(contract: EventContract, data: Record<string, unknown>, idempotencyKey: string, runId: string): Promise<boolean> {
    const event = { type: contract.type, data: contract.schema.parse(data) };
    const sealed = await sealEvent(keyring, event, uuidv7(), { subjectIds: subjectsOfEvent(event), commandId: uuidv7(), commandType: 'RetentionRun', actor, correlationId: runId });
    try {
      await eventStore.append(privacySubjectStream(data.subjectId as string), [sealed], {
        expectedVersion: 'any',
        idempotency: { key: idempotencyKey, scope: contract.type, reply: null },
      });
      return true;
    } catch (error) {
      if (error instanceof DuplicateIdempotencyKey) return false; // another run (or process) recorded it already
      throw error;
    }
  }

  async function deliverWebhook(): Promise<RetentionRunReport['webhook']> {
    const webhook = options.webhook;
    if (!webhook) return null;
    await facts.catchUp();
    const from = await checkpoints.load(WEBHOOK_CHECKPOINT);
    const pending = facts.reminders().filter((r) => r.position > from);
    let delivered = 0;
    for (const reminder of pending) {
      const body = { type: RetentionReminderIssued.type, subjectId: reminder.subjectId, ruleId: reminder.ruleId, dueOn: reminder.dueOn, action: reminder.action, issuedAt: reminder.issuedAt, position: reminder.position };
      try {
        const response = await (webhook.fetch ?? fetch)(webhook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `retention-reminder:${reminder.subjectId}:${reminder.ruleId}:${reminder.dueOn}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(webhook.timeoutMs ?? 5000),
        });
        if (!response.ok) throw new Error(`status ${response.status}`);
      } catch (error) {
        // Never the URL (it may carry a credential): the next run tries again from here.
        logger.warn('retention webhook failed; retried on the next run', { position: reminder.position, error: error instanceof Error ? error.message.slice(0, 80) : 'unknown' });
        break;
      }
      await checkpoints.store(WEBHOOK_CHECKPOINT, reminder.position);
      delivered++;
    }
    return { delivered, pending: pending.length - delivered };
  }

  async function runOnce(dryRun: boolean): Promise<RetentionRunReport> {
    const runId = uuidv7();
    const asOfDate = now();
    const asOf = asOfDate.toISOString();
    const today = day(asOfDate);
    await facts.catchUp();
    const report: RetentionRunReport = { runId, asOf, dryRun, position: facts.position, reminders: [], actions: [], webhook: null };

    for (const { subject, schedule } of schedules()) {
      if (today < remindFrom(schedule)) continue;
      const key = outcomeKey(schedule.rule.id, schedule.dueOn);
      if (subject.taken.has(key)) continue;
      const base = { subjectId: subject.subjectId, ruleId: schedule.rule.id, dueOn: schedule.dueOn, action: schedule.action };

      if (!subject.reminders.has(key)) {
        if (!dryRun) await append(RetentionReminderIssued, { ...base, issuedAt: asOf }, `retention:reminder:${subject.subjectId}:${schedule.rule.id}:${schedule.dueOn}`, runId);
        report.reminders.push({ ...base, outcome: dryRun ? 'would-issue' : 'issued' });
      }
      if (today < schedule.dueOn) continue;

      let skip: { reason: RetentionSkipReason; holdId?: string; until?: string } | undefined;
      const hold = subject.restricted ? null : await standingHold(subject, asOf, !dryRun);
      if (subject.restricted) skip = { reason: 'restricted' };
      else if (hold) skip = { reason: 'legal-hold', holdId: hold.holdId, until: hold.until };
      if (!skip && dryRun) {
        report.actions.push({ ...base, outcome: 'would-take' });
        continue;
      }
      if (!skip) {
        try {
          const outcome = await erasure.erase(subject.subjectId, `retention rule ${schedule.rule.id} ran out on ${schedule.dueOn} (${schedule.action})`, actor);
          if (outcome.state === 'done') {
            const requestId = outcome.requestId ?? runId;
            await append(RetentionActionTaken, { ...base, requestId, takenAt: now().toISOString() }, `retention:taken:${subject.subjectId}:${schedule.rule.id}:${schedule.dueOn}`, runId);
            report.actions.push({ ...base, outcome: 'taken', requestId });
            logger.info('retention action taken', { subjectId: subject.subjectId, ruleId: schedule.rule.id, dueOn: schedule.dueOn, action: schedule.action, requestId });
            continue;
          }
          // Refused after all: a hold placed since the check, most likely.
          const held = outcome.holdIds?.length ? await standingHold(subject, asOf, true) : null;
          skip = held ? { reason: 'legal-hold', holdId: held.holdId, until: held.until } : outcome.reason === 'legal-hold' && outcome.holdIds?.[0] ? { reason: 'legal-hold', holdId: outcome.holdIds[0] } : { reason: 'erasure-refused' };
        } catch (error) {
          logger.error('retention action failed; tried again on the next run', { subjectId: subject.subjectId, ruleId: schedule.rule.id, error: error instanceof Error ? error.name : 'unknown' });
          report.actions.push({ ...base, outcome: 'failed' });
          continue;
        }
      }
      if (dryRun) {
        report.actions.push({ ...base, outcome: 'would-skip', ...skip });
        continue;
      }
      if (!subject.skipped.has(skipKey(schedule.rule.id, schedule.dueOn, skip.reason, skip.holdId))) {
        await append(
          RetentionActionSkipped,
          { ...base, reason: skip.reason, ...(skip.holdId ? { holdId: skip.holdId } : {}), ...(skip.until ? { until: skip.until } : {}), skippedAt: asOf },
          `retention:skipped:${subject.subjectId}:${schedule.rule.id}:${schedule.dueOn}:${skip.reason}:${skip.holdId ?? ''}`,
          runId,
        );
        logger.info('retention action skipped', { subjectId: subject.subjectId, ruleId: schedule.rule.id, dueOn: schedule.dueOn, reason: skip.reason, holdId: skip.holdId });
      }
      report.actions.push({ ...base, outcome: 'skipped', ...skip });
    }
    if (!dryRun) {
      report.webhook = await deliverWebhook();
      report.position = await facts.catchUp();
    }
    return report;
  }

  return {
    facts,

    async due({ asOf = now(), horizon } = {}) {
      await facts.catchUp();
      const asOfIso = asOf.toISOString();
      const today = day(asOf);
      const items: DueItem[] = [];
      for (const { subject, schedule } of schedules()) {
        const windowStart = horizon ? addIsoDuration(schedule.dueOn, horizon, -1) : remindFrom(schedule);
        if (today < windowStart) continue;
        const key = outcomeKey(schedule.rule.id, schedule.dueOn);
        if (subject.taken.has(key)) continue;
        const reminder = subject.reminders.get(key);
        const skipped = lastSkip(subject, schedule.rule.id, schedule.dueOn);
        items.push({
          subjectId: subject.subjectId,
          subjectKind: schedule.kind,
          ruleId: schedule.rule.id,
          purpose: schedule.rule.purpose,
          dueOn: schedule.dueOn,
          remindFrom: remindFrom(schedule),
          action: schedule.action,
          state: today >= schedule.dueOn ? 'due' : 'upcoming',
          reminded: reminder !== undefined,
          ...(reminder ? { reminderIssuedAt: reminder.issuedAt } : {}),
          hold: await standingHold(subject, asOfIso, false),
          restricted: subject.restricted,
          ...(skipped ? { skipped } : {}),
          rules: schedule.rules,
        });
      }
      return { asOf: asOfIso, horizon: horizon ?? null, position: facts.position, items };
    },

    run({ dryRun = false } = {}) {
      // One run at a time in a process; a second caller waits for the first.
      const next = runs.catch(() => undefined).then(() => runOnce(dryRun));
      runs = next;
      return next;
    },

    async reminders(filter = {}) {
      await facts.catchUp();
      const delivered = options.webhook ? await checkpoints.load(WEBHOOK_CHECKPOINT) : undefined;
      const views: ReminderView[] = [];
      for (const reminder of facts.reminders()) {
        if (filter.subjectId && reminder.subjectId !== filter.subjectId) continue;
        const subject = facts.subject(reminder.subjectId)!;
        const key = outcomeKey(reminder.ruleId, reminder.dueOn);
        const current = scheduleOf(subject, subject.customerId ? facts.account(subject.customerId) : undefined);
        const status: ReminderStatus = subject.taken.has(key)
          ? 'taken'
          : subject.forgotten
            ? 'forgotten'
            : current?.dueOn !== reminder.dueOn || current.rule.id !== reminder.ruleId
              ? 'superseded'
              : lastSkip(subject, reminder.ruleId, reminder.dueOn)
                ? 'skipped'
                : 'open';
        if (filter.status && status !== filter.status) continue;
        views.push({ ...reminder, status, webhook: delivered === undefined ? 'off' : reminder.position <= delivered ? 'delivered' : 'pending' });
      }
      return views;
    },
  };
}

/** Runs the scheduler every `intervalMs` (first run after `firstRunAfterMs`, default 1 s); `stop` waits for a run in hand. */
export function startRetentionTimer(options: { scheduler: RetentionScheduler; intervalMs: number; logger: Logger; firstRunAfterMs?: number }): { stop(): Promise<void> } {
  const logger = options.logger.child({ component: 'retention' });
  let inHand: Promise<unknown> | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped || inHand) return;
    inHand = options.scheduler
      .run()
      .then((report) => {
        if (report.reminders.length > 0 || report.actions.length > 0) {
          logger.info('retention run', {
            reminders: report.reminders.length,
            taken: report.actions.filter((a) => a.outcome === 'taken').length,
            skipped: report.actions.filter((a) => a.outcome === 'skipped').length,
            failed: report.actions.filter((a) => a.outcome === 'failed').length,
          });
        }
      })
      .catch((error: unknown) => logger.error('retention run failed', { error: error instanceof Error ? error.name : 'unknown' }))
      .finally(() => (inHand = undefined));
  };
  const first = setTimeout(tick, options.firstRunAfterMs ?? 1000);
  const every = setInterval(tick, options.intervalMs);
  first.unref();
  every.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await inHand;
    },
  };
}
