/**
 * When each subject falls due, from the facts (pure). Every rule that applies to a subject
 * gives a due date once its clock runs; the subject falls due on the latest of them (their
 * data is sealed under one key: it can only go when no purpose needs it any more), under the
 * rule that sets that date. A rule that applies but whose clock does not run yet (a case
 * still open, a consent that stands, an employment not ended) keeps the subject from falling
 * due at all.
 */
import {
  addIsoDuration,
  RETENTION_RULES,
  type RetentionAction,
  type RetentionRule,
  type RetentionRuleId,
  type RetentionSubjectKind,
  retentionDueOn,
} from '@crm/contracts';
import type { AccountFacts, HoldFacts, SubjectFacts } from './retention-facts.ts';

/** What one rule says about one subject. */
export type RuleClock =
  | { applies: false }
  | { applies: true; running: false; why: string }
  | { applies: true; running: true; triggeredOn: string; dueOn: string };

type Evaluator = (subject: SubjectFacts, account: AccountFacts | undefined) => RuleClock;

const day = (instant: string) => instant.slice(0, 10);
const latest = (values: Iterable<string | undefined>) => {
  let found: string | undefined;
  for (const v of values) if (v !== undefined && (found === undefined || v > found)) found = v;
  return found;
};

/** The last activity about the subject: a person customer's account; a contact person's own, and their organisation's until they were removed from it. */
function lastActivity(subject: SubjectFacts, account: AccountFacts | undefined): string | undefined {
  if (subject.kind === 'customer') return latest([account?.lastActivity, subject.lastOwnActivity]);
  if (subject.removedAt) return latest([subject.lastOwnActivity, subject.removedAt]);
  return latest([subject.lastOwnActivity, account?.lastActivity]);
}

const onAccount = (subject: SubjectFacts) => subject.kind === 'customer' || subject.kind === 'contact-person';
const commercial = (account: AccountFacts | undefined) => account !== undefined && (account.everCustomer || account.wonDeal);

function running(rule: RetentionRule, triggeredAt: string | undefined): RuleClock {
  if (triggeredAt === undefined) return { applies: true, running: false, why: 'no trigger recorded' };
  return { applies: true, running: true, triggeredOn: day(triggeredAt), dueOn: retentionDueOn(rule, triggeredAt) };
}

const rule = (id: RetentionRuleId): RetentionRule => (RETENTION_RULES as readonly RetentionRule[]).find((r) => r.id === id)!;

/** How each declared rule applies (its `appliesWhen` and trigger, in code): a rule without one does not compile. */
export const RULE_CLOCKS: Record<RetentionRuleId, Evaluator> = {
  'prospect-inactive': (subject, account) =>
    onAccount(subject) && account && !commercial(account) ? running(rule('prospect-inactive'), lastActivity(subject, account)) : { applies: false },
  'customer-commercial-records': (subject, account) =>
    onAccount(subject) && commercial(account) ? running(rule('customer-commercial-records'), lastActivity(subject, account)) : { applies: false },
  'service-case-records': (subject) => {
    if (subject.cases.size === 0) return { applies: false };
    const closed = [...subject.cases.values()];
    if (closed.some((at) => at === null)) return { applies: true, running: false, why: 'a service case is open' };
    return running(rule('service-case-records'), latest(closed as string[]));
  },
  'consent-proof': (subject) => {
    if (!subject.everConsented) return { applies: false };
    if (subject.consentsStanding.size > 0) return { applies: true, running: false, why: 'a consent stands' };
    return running(rule('consent-proof'), subject.consentEndedAt);
  },
  'personnel-file': (subject) => {
    if (subject.kind !== 'employee') return { applies: false };
    if (!subject.employmentEndDate) return { applies: true, running: false, why: 'employed' };
    return running(rule('personnel-file'), subject.employmentEndDate);
  },
};

export interface RuleStatus {
  ruleId: string;
  running: boolean;
  dueOn?: string;
  why?: string;
}

export interface SubjectSchedule {
  subjectId: string;
  kind: RetentionSubjectKind;
  /** The rule that sets the due date (the latest of the applicable rules). */
  rule: RetentionRule;
  dueOn: string;
  action: RetentionAction;
  /** Every rule that applies to the subject, with its own due date. */
  rules: RuleStatus[];
}

/** When the subject falls due, and under which rule; undefined while any applicable rule's clock stands still, or when none applies. */
export function scheduleOf(subject: SubjectFacts, account: AccountFacts | undefined): SubjectSchedule | undefined {
  if (!subject.kind || subject.forgotten) return undefined;
  const statuses: RuleStatus[] = [];
  let governing: { rule: RetentionRule; dueOn: string } | undefined;
  let stopped = false;
  for (const declared of RETENTION_RULES as readonly RetentionRule[]) {
    const clock = RULE_CLOCKS[declared.id as RetentionRuleId](subject, account);
    if (!clock.applies) continue;
    if (!clock.running) {
      stopped = true;
      statuses.push({ ruleId: declared.id, running: false, why: clock.why });
      continue;
    }
    statuses.push({ ruleId: declared.id, running: true, dueOn: clock.dueOn });
    if (!governing || clock.dueOn > governing.dueOn) governing = { rule: declared, dueOn: clock.dueOn };
  }
  if (stopped || !governing) return undefined;
  return { subjectId: subject.subjectId, kind: subject.kind, rule: governing.rule, dueOn: governing.dueOn, action: governing.rule.action, rules: statuses };
}

/** The holds that stand on `asOf` (a hold stands through its `until` day, unless released). */
export function standingHoldsOn(holds: Iterable<HoldFacts>, asOf: string): HoldFacts[] {
  const today = day(asOf);
  return [...holds].filter((h) => !h.released && h.until >= today);
}

/** The first day of the reminder window of a due date. */
export const remindFrom = (schedule: Pick<SubjectSchedule, 'rule' | 'dueOn'>) => addIsoDuration(schedule.dueOn, schedule.rule.reminderLeadTime, -1);
