/**
 * The privacy service: what the DPO (and admin) may do, and the only way privacy events are
 * written. Every action is recorded in the audit log (ids and a fixed purpose only) before
 * it is carried out; if the audit log cannot record it, nothing is done (503).
 *
 * Request states live in the events: a request's own stream is folded on every read (with
 * its reasons opened, or null once the subject is erased); the list of requests, the holds,
 * restrictions and suppression hashes come from the in-process privacy index
 * (`privacy-index.ts`), which follows the event store.
 */
import {
  AuditUnavailable,
  BusinessRuleViolation,
  CONSENT_SOURCES,
  type ErasureReceipt,
  extendPrivacyRequestBody,
  Forbidden,
  LegalHoldStands,
  placeLegalHoldBody,
  PRIVACY_ROLES,
  type PrivacyReceipt,
  type PrivacyRefusalRule,
  privacyRequestBody,
  type PrivacyRequestKind,
  type PrivacyRequestState,
  refusePrivacyRequestBody,
  releaseLegalHoldBody,
  type Role,
  UnknownPrivacyRecord,
  UnknownSubject,
} from '@crm/contracts';
import {
  type AuditLog,
  type CommandService,
  type EventStore,
  type Keyring,
  type KeyStore,
  type Logger,
  type MasterKeys,
  openEvent,
  parseOrThrow,
  type ReadStore,
} from '@crm/core';
import {
  customerDecider,
  type CustomerEvent,
  customerStream,
  fold,
  privacyRequestDecider,
  type PrivacyRequestEvent,
  privacyRequestHandlers,
  privacyRequestStream,
  privacySubjectHandlers,
} from '@crm/domain';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { createDecisions } from './decisions.ts';
import { type ErasureBus, eraseSubject, type ViewProgress } from './erasure.ts';
import type { LegalHoldSummary, PrivacyIndex, PrivacyRequestSummary } from './privacy-index.ts';
import { eventsOfSubject } from './subject-events.ts';
import type { SuppressionHasher } from './suppression.ts';

export interface PrivacyActor {
  /** JWT `sub`. */
  id: string;
  roles: readonly Role[];
}

export interface PrivacyServiceOptions {
  eventStore: EventStore;
  keyStore: KeyStore;
  keyring: Keyring;
  masterKeys: MasterKeys;
  /** For an objection: `ObjectToDirectMarketing` goes through the normal command path. */
  commands: CommandService;
  readStore: ReadStore;
  audit: AuditLog;
  logger: Logger;
  index: PrivacyIndex;
  hash: SuppressionHasher;
  /** The views an erasure waits for, and how far each is. */
  views: readonly { name: string }[];
  reader: ViewProgress;
  bus: ErasureBus;
  keyCacheTtlMs: number;
  /** How long an erasure waits for each view (and the relay) to apply `SubjectForgotten`. Default 10 s. */
  erasureWaitMs?: number;
  /** The clock of deadlines, holds and receipts (tests move it). */
  now?: () => Date;
  newId?: () => string;
}

export interface PrivacyRequestView {
  id: string;
  requestId: string;
  kind: PrivacyRequestKind;
  subjectId: string;
  state: PrivacyRequestState;
  receivedAt: string;
  dueBy: string;
  extendedMonths: number;
  overdue: boolean;
  /** As given (personal: sealed under the subject key); null once the subject is erased. */
  reason: string | null;
  closedAt?: string;
  refusal?: { rule: PrivacyRefusalRule; reason: string | null; holdIds?: string[] };
  receipt?: PrivacyReceipt;
  history: Array<{ event: string; at: string; position: number }>;
  links: { self: string; export?: string };
}

export interface LegalHoldView {
  holdId: string;
  subjectId: string;
  legalBasis: string;
  until: string;
  released: boolean;
  /** Not released and `until` is today or later. */
  standing: boolean;
  placedAt: string;
  releasedAt?: string;
}

export interface SubjectPrivacyView {
  subjectId: string;
  /** The key store's answer: active, destroyed (erased) or unknown. */
  key: 'active' | 'destroyed' | 'unknown';
  restricted: boolean;
  suppressionEntries: number;
  forgotten?: { requestId: string; forgottenAt: string; position: number };
  holds: LegalHoldView[];
  requests: PrivacyRequestSummary[];
}

export interface PrivacyRequestFilter {
  /** Only open requests past their deadline. */
  overdue?: boolean;
  subjectId?: string;
  /** 'open' (default: received or in progress), 'all', or one state. */
  state?: 'open' | 'all' | PrivacyRequestState;
}

export interface PrivacyService {
  /** Records a request; unless `carryOut: false`, carries it out at once and answers its final state. */
  submit(body: unknown, actor: PrivacyActor): Promise<PrivacyRequestView>;
  /** Carries out a recorded request (or resumes one that stopped half-way). */
  carryOut(requestId: string, body: unknown, actor: PrivacyActor): Promise<PrivacyRequestView>;
  extend(requestId: string, body: unknown, actor: PrivacyActor): Promise<PrivacyRequestView>;
  refuse(requestId: string, body: unknown, actor: PrivacyActor): Promise<PrivacyRequestView>;
  request(requestId: string, actor: PrivacyActor): Promise<PrivacyRequestView>;
  requests(filter: PrivacyRequestFilter, actor: PrivacyActor): Promise<PrivacyRequestSummary[]>;
  placeHold(body: unknown, actor: PrivacyActor): Promise<LegalHoldView>;
  releaseHold(holdId: string, body: unknown, actor: PrivacyActor): Promise<LegalHoldView>;
  holds(filter: { subjectId?: string; standing?: boolean }, actor: PrivacyActor): Promise<LegalHoldView[]>;
  subject(subjectId: string, actor: PrivacyActor): Promise<SubjectPrivacyView>;
  /** Whether a request is overdue now (open and past its deadline). */
  isOverdue(request: Pick<PrivacyRequestSummary, 'state' | 'dueBy'>): boolean;
}

/** A request that cannot be carried out: it is refused with a rule and a reason. */
class Refusal extends Error {
  constructor(
    readonly rule: PrivacyRefusalRule,
    reason: string,
    readonly holdIds?: string[],
  ) {
    super(reason);
  }
}

/** The audit action of carrying out each kind of request. */
const CARRY_OUT_ACTION: Record<PrivacyRequestKind, string> = {
  erasure: 'privacy.erase',
  access: 'privacy.access',
  restriction: 'privacy.restrict',
  'lift-restriction': 'privacy.lift-restriction',
  objection: 'privacy.object',
  rectification: 'privacy.rectify',
};
const ARTICLE: Record<PrivacyRequestKind, string> = {
  erasure: 'Art. 17',
  access: 'Art. 15',
  restriction: 'Art. 18',
  'lift-restriction': 'Art. 18(3)',
  objection: 'Art. 21',
  rectification: 'Art. 16',
};
const REQUEST_PURPOSE = (kind: PrivacyRequestKind) => `data-subject request (${ARTICLE[kind]} ${kind})`;
const HOLD_PURPOSE = 'legal hold (Art. 17(3))';

const carryOutBody = z.strictObject({ source: z.enum(CONSENT_SOURCES).optional() });

export function createPrivacyService(options: PrivacyServiceOptions): PrivacyService {
  const { eventStore, keyring, keyStore, index, audit, commands } = options;
  const logger = options.logger.child({ component: 'privacy' });
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? uuidv7;
  const decisions = createDecisions({ eventStore, keyring, index, logger, now, newId });
  const locks = new Map<string, Promise<unknown>>();

  /** One privacy action per subject at a time in this process: a hold cannot slip in between an erasure's check and its key destruction. */
  function withSubjectLock<T>(subjectId: string, work: () => Promise<T>): Promise<T> {
    const previous = locks.get(subjectId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const settled = next.catch(() => undefined);
    locks.set(subjectId, settled);
    void settled.then(() => {
      if (locks.get(subjectId) === settled) locks.delete(subjectId);
    });
    return next;
  }

  function authorise(actor: PrivacyActor): void {
    if (!actor.roles.some((role) => PRIVACY_ROLES.includes(role))) {
      throw new Forbidden(`Only the ${PRIVACY_ROLES.join(' and ')} roles may act on privacy requests and legal holds`);
    }
  }

  async function audited(actor: PrivacyActor, action: string, subjectIds: readonly string[], purpose: string, count = 1): Promise<void> {
    try {
      await audit.record({ id: uuidv7(), at: new Date().toISOString(), actor: actor.id, roles: [...actor.roles], action, purpose, subjectIds: [...new Set(subjectIds)], count });
    } catch (error) {
      logger.error('audit record failed; privacy action not carried out', { action, error: error instanceof Error ? error.name : typeof error });
      throw new AuditUnavailable();
    }
  }

  async function begin(actor: PrivacyActor): Promise<void> {
    authorise(actor);
    await index.start();
  }

  const isOverdue = (r: Pick<PrivacyRequestSummary, 'state' | 'dueBy'>) =>
    (r.state === 'received' || r.state === 'in-progress') && now().getTime() > new Date(r.dueBy).getTime();

  const meta = (type: string, actor: PrivacyActor, requestId?: string) => ({ type, actor: actor.id, ...(requestId ? { correlationId: requestId } : {}) });

  function knownRequest(requestId: string): PrivacyRequestSummary {
    const found = index.request(requestId);
    if (!found) throw new UnknownPrivacyRecord('request');
    return found;
  }

  async function requestView(requestId: string): Promise<PrivacyRequestView> {
    const recorded = await eventStore.readStream(privacyRequestStream(requestId));
    if (recorded.length === 0) throw new UnknownPrivacyRecord('request');
    const opened = await Promise.all(recorded.map((r) => openEvent(r, keyring)));
    const events = opened as unknown as PrivacyRequestEvent[];
    const state = fold(privacyRequestDecider, events);
    if (state.status === 'none') throw new UnknownPrivacyRecord('request');
    let reason: string | null = null;
    let receipt: PrivacyReceipt | undefined;
    let refusal: PrivacyRequestView['refusal'];
    let closedAt: string | undefined;
    events.forEach((event, i) => {
      if (event.type === 'PrivacyRequestReceived') reason = event.data.reason ?? null;
      if (event.type === 'PrivacyRequestCompleted') {
        receipt = event.data.receipt;
        closedAt = event.data.receipt.completedAt;
      }
      if (event.type === 'PrivacyRequestRefused') {
        refusal = { rule: event.data.rule, reason: event.data.reason ?? null, ...(event.data.holdIds ? { holdIds: event.data.holdIds } : {}) };
        closedAt = recorded[i]!.recordedAt;
      }
    });
    const self = `/v1/privacy/requests/${requestId}`;
    return {
      id: requestId,
      requestId,
      kind: state.kind,
      subjectId: state.subjectId,
      state: state.status,
      receivedAt: state.receivedAt,
      dueBy: state.dueBy,
      extendedMonths: state.extendedMonths,
      overdue: isOverdue({ state: state.status, dueBy: state.dueBy }),
      reason,
      ...(closedAt ? { closedAt } : {}),
      ...(refusal ? { refusal } : {}),
      ...(receipt ? { receipt } : {}),
      history: recorded.map((r) => ({ event: r.type, at: r.recordedAt, position: r.globalPosition })),
      links: { self, ...(state.kind === 'access' ? { export: exportHref(state.subjectId) } : {}) },
    };
  }

  const exportHref = (subjectId: string) => `/v1/privacy/subjects/${subjectId}/export`;

  const customerState = async (customerId: string) =>
    fold(customerDecider, (await Promise.all((await eventStore.readStream(customerStream(customerId))).map((r) => openEvent(r, 'withheld')))) as unknown as CustomerEvent[]);

  /** The person customer, or the organisation the subject is a current contact person of, whose stream records their consents. */
  async function customerOf(subjectId: string): Promise<string | undefined> {
    const own = await customerState(subjectId);
    if (own.status === 'registered') return own.kind === 'person' ? subjectId : undefined;
    const candidates = new Set(
      (await eventsOfSubject(eventStore, subjectId))
        .filter((e) => (e.type === 'OrganisationRegistered' || e.type === 'ContactPersonAdded') && e.streamId.startsWith('customer-'))
        .map((e) => e.streamId.slice('customer-'.length)),
    );
    for (const customerId of candidates) {
      const state = await customerState(customerId);
      if (state.status === 'registered' && state.contacts.includes(subjectId)) return customerId;
    }
    return undefined;
  }

  async function carry(request: PrivacyRequestSummary, actor: PrivacyActor, source: (typeof CONSENT_SOURCES)[number]): Promise<PrivacyReceipt> {
    const { requestId, subjectId, kind } = request;
    const base = { requestId, subjectId };
    const erased = (await keyring.lookup(subjectId)).state === 'destroyed';
    const completedAt = () => now().toISOString();
    switch (kind) {
      case 'erasure':
        try {
          return await eraseSubject(
            {
              eventStore,
              keyStore,
              keyring,
              masterKeys: options.masterKeys,
              readStore: options.readStore,
              decisions,
              hash: options.hash,
              views: options.views,
              reader: options.reader,
              bus: options.bus,
              keyCacheTtlMs: options.keyCacheTtlMs,
              waitMs: options.erasureWaitMs ?? 10_000,
              now,
            },
            { requestId, subjectId, actor: actor.id },
          );
        } catch (error) {
          if (error instanceof LegalHoldStands) throw new Refusal('legal-hold', error.message, error.holds.map((h) => h.holdId));
          throw error;
        }
      case 'access':
        return { kind, ...base, completedAt: completedAt(), export: { href: exportHref(subjectId), format: 'application/json' }, erased };
      case 'restriction':
      case 'lift-restriction': {
        if (erased && kind === 'restriction') throw new Refusal('subject-erased', 'The data subject has been erased: nothing of theirs is processed any more');
        const handler = kind === 'restriction' ? privacySubjectHandlers.RestrictProcessing : privacySubjectHandlers.LiftRestriction;
        const decided = await decisions.decide(handler, { subjectId, requestId }, meta(kind === 'restriction' ? 'RestrictProcessing' : 'LiftRestriction', actor, requestId));
        return { kind, ...base, completedAt: completedAt(), restricted: decided.state.restricted, changed: decided.events.length > 0, position: decided.positions.at(-1) ?? null };
      }
      case 'objection': {
        if (erased) throw new Refusal('subject-erased', 'The data subject has been erased: they receive no direct marketing any more');
        const customerId = await customerOf(subjectId);
        if (!customerId) throw new Refusal('not-a-customer', 'The data subject is neither a customer nor a contact person: no direct marketing addresses them');
        const before = await customerState(customerId);
        const objectedBefore = before.status === 'registered' && before.objected.includes(subjectId);
        const answer = await commands.execute({
          type: 'ObjectToDirectMarketing',
          body: { customerId, ...(customerId === subjectId ? {} : { subjectId }), source },
          actor: actor.id,
          correlationId: requestId,
          privacyRequestId: requestId,
        });
        return { kind, ...base, completedAt: completedAt(), customerId, streamId: answer.streamId, position: answer.position, changed: !objectedBefore };
      }
      case 'rectification':
        return {
          kind,
          ...base,
          completedAt: completedAt(),
          commands: ['ChangeCustomerDetails', 'RemoveContactPerson', 'AddContactPerson'],
          note:
            "Recorded only: the correction is made with the business commands (ChangeCustomerDetails for a person customer; a contact person is removed and added again; employees' personal details have no correcting command yet). Old values stay in history, sealed under the subject's key (Art. 16).",
        };
    }
  }

  async function perform(request: PrivacyRequestSummary, actor: PrivacyActor, source: (typeof CONSENT_SOURCES)[number]): Promise<PrivacyRequestView> {
    const { requestId } = request;
    await decisions.decide(privacyRequestHandlers.StartPrivacyRequest, { requestId }, meta('StartPrivacyRequest', actor, requestId));
    try {
      const receipt = await carry(request, actor, source);
      await decisions.decide(privacyRequestHandlers.CompletePrivacyRequest, { requestId, receipt }, meta('CompletePrivacyRequest', actor, requestId));
      logger.info('privacy request done', { requestId, kind: request.kind, ...(receipt.kind === 'erasure' ? erasureLogFields(receipt) : {}) });
    } catch (error) {
      if (!(error instanceof Refusal)) {
        logger.error('privacy request stopped; it stays in progress and can be carried out again', { requestId, kind: request.kind, error: error instanceof Error ? error.name : 'unknown' });
        throw error;
      }
      await decisions.decide(
        privacyRequestHandlers.RefusePrivacyRequest,
        { requestId, rule: error.rule, reason: error.message, ...(error.holdIds ? { holdIds: error.holdIds } : {}) },
        meta('RefusePrivacyRequest', actor, requestId),
      );
      logger.info('privacy request refused', { requestId, kind: request.kind, rule: error.rule });
    }
    return requestView(requestId);
  }

  function holdView(hold: LegalHoldSummary): LegalHoldView {
    const today = now().toISOString().slice(0, 10);
    return {
      holdId: hold.holdId,
      subjectId: hold.subjectId,
      legalBasis: hold.legalBasis,
      until: hold.until,
      released: hold.released,
      standing: !hold.released && hold.until >= today,
      placedAt: hold.placedAt,
      ...(hold.releasedAt ? { releasedAt: hold.releasedAt } : {}),
    };
  }

  async function knownSubject(subjectId: string): Promise<'active' | 'destroyed'> {
    const found = await keyring.lookup(subjectId);
    if (found.state === 'unknown') throw new UnknownSubject('subjectId');
    return found.state;
  }

  const service: PrivacyService = {
    isOverdue,

    async submit(body, actor) {
      await begin(actor);
      const input = parseOrThrow(privacyRequestBody, body);
      const key = await knownSubject(input.subjectId);
      await audited(actor, 'privacy.request', [input.subjectId], REQUEST_PURPOSE(input.kind));
      const requestId = newId();
      await decisions.decide(
        privacyRequestHandlers.ReceivePrivacyRequest,
        // Nothing can be sealed under an erased subject's key: the reason is then not kept.
        { requestId, kind: input.kind, subjectId: input.subjectId, ...(key === 'active' ? { reason: input.reason } : {}) },
        meta('ReceivePrivacyRequest', actor, requestId),
      );
      if (!input.carryOut) return requestView(requestId);
      await audited(actor, CARRY_OUT_ACTION[input.kind], [input.subjectId], REQUEST_PURPOSE(input.kind));
      return withSubjectLock(input.subjectId, () => perform(knownRequest(requestId), actor, input.source ?? 'email'));
    },

    async carryOut(requestId, body, actor) {
      await begin(actor);
      const { source } = parseOrThrow(carryOutBody, body ?? {});
      const request = knownRequest(requestId);
      await audited(actor, CARRY_OUT_ACTION[request.kind], [request.subjectId], REQUEST_PURPOSE(request.kind));
      return withSubjectLock(request.subjectId, () => perform(request, actor, source ?? 'email'));
    },

    async extend(requestId, body, actor) {
      await begin(actor);
      const input = parseOrThrow(extendPrivacyRequestBody, body);
      const request = knownRequest(requestId);
      await audited(actor, 'privacy.request.extend', [request.subjectId], REQUEST_PURPOSE(request.kind));
      await decisions.decide(privacyRequestHandlers.ExtendPrivacyRequestDeadline, { requestId, months: input.months, reason: input.reason }, meta('ExtendPrivacyRequestDeadline', actor, requestId));
      return requestView(requestId);
    },

    async refuse(requestId, body, actor) {
      await begin(actor);
      const input = parseOrThrow(refusePrivacyRequestBody, body);
      const request = knownRequest(requestId);
      await audited(actor, 'privacy.request.refuse', [request.subjectId], REQUEST_PURPOSE(request.kind));
      await decisions.decide(privacyRequestHandlers.RefusePrivacyRequest, { requestId, rule: 'refused-by-dpo', reason: input.reason }, meta('RefusePrivacyRequest', actor, requestId));
      return requestView(requestId);
    },

    async request(requestId, actor) {
      await begin(actor);
      const request = knownRequest(requestId);
      await audited(actor, 'privacy.request.read', [request.subjectId], REQUEST_PURPOSE(request.kind));
      return requestView(requestId);
    },

    async requests(filter, actor) {
      await begin(actor);
      const wanted = filter.state ?? 'open';
      const found = index
        .requests()
        .filter((r) => (filter.subjectId ? r.subjectId === filter.subjectId : true))
        .filter((r) => (wanted === 'all' ? true : wanted === 'open' ? r.state === 'received' || r.state === 'in-progress' : r.state === wanted))
        .filter((r) => (filter.overdue ? isOverdue(r) : true))
        .sort((a, b) => a.dueBy.localeCompare(b.dueBy) || a.requestId.localeCompare(b.requestId));
      await audited(actor, 'privacy.request.list', found.map((r) => r.subjectId), 'data-subject requests (Art. 12(3) deadlines)', found.length);
      return found.map((r) => ({ ...r }));
    },

    async placeHold(body, actor) {
      await begin(actor);
      const input = parseOrThrow(placeLegalHoldBody, body);
      if ((await knownSubject(input.subjectId)) === 'destroyed') {
        throw new BusinessRuleViolation('subject-forgotten', 'the data subject has been erased; there is nothing left to hold');
      }
      await audited(actor, 'privacy.hold', [input.subjectId], HOLD_PURPOSE);
      const holdId = newId();
      await withSubjectLock(input.subjectId, () => decisions.decide(privacySubjectHandlers.PlaceLegalHold, { holdId, ...input }, meta('PlaceLegalHold', actor)));
      return holdView(index.hold(holdId)!);
    },

    async releaseHold(holdId, body, actor) {
      await begin(actor);
      const input = parseOrThrow(releaseLegalHoldBody, body);
      const hold = index.hold(holdId);
      if (!hold) throw new UnknownPrivacyRecord('hold');
      await audited(actor, 'privacy.hold.release', [hold.subjectId], HOLD_PURPOSE);
      await withSubjectLock(hold.subjectId, () =>
        decisions.decide(privacySubjectHandlers.ReleaseLegalHold, { holdId, subjectId: hold.subjectId, reason: input.reason }, meta('ReleaseLegalHold', actor)),
      );
      return holdView(index.hold(holdId)!);
    },

    async holds(filter, actor) {
      await begin(actor);
      const all = filter.subjectId ? (index.subject(filter.subjectId)?.holds ?? []) : index.holds();
      const views = all.map(holdView).filter((h) => (filter.standing ? h.standing : true));
      await audited(actor, 'privacy.hold.list', views.map((h) => h.subjectId), HOLD_PURPOSE, views.length);
      return views;
    },

    async subject(subjectId, actor) {
      await begin(actor);
      const key = (await keyring.lookup(subjectId)).state;
      const summary = index.subject(subjectId);
      const requests = index.requests().filter((r) => r.subjectId === subjectId);
      if (key === 'unknown' && !summary && requests.length === 0) throw new UnknownSubject();
      await audited(actor, 'privacy.subject.read', [subjectId], 'privacy state of a data subject');
      return {
        subjectId,
        key,
        restricted: summary?.restricted ?? false,
        suppressionEntries: summary?.suppressionEntries ?? 0,
        ...(summary?.forgotten ? { forgotten: summary.forgotten } : {}),
        holds: (summary?.holds ?? []).map(holdView),
        requests: requests.map((r) => ({ ...r })),
      };
    },
  };

  return service;
}

function erasureLogFields(receipt: ErasureReceipt) {
  return {
    alreadyDestroyed: receipt.keys.alreadyDestroyed,
    verified: receipt.verification.passed,
    viewsReached: receipt.views.filter((v) => v.reached).length,
    views: receipt.views.length,
  };
}
