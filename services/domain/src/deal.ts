import type { CommandOf, DealLost, DealOpened, DealStageMoved, DealWon, EventOf, LoseDeal, MoveDealStage, OpenDeal, WinDeal } from '@crm/contracts';
import { customerReference, type CustomerState } from './customer.ts';
import { employeeReference } from './employee.ts';
import type { CommandHandler, Decider, DomainEvent } from './decider.ts';
import { ensure } from './rules.ts';
import { dealStream } from './streams.ts';

export type DealEvent =
  | DomainEvent<'DealOpened', EventOf<typeof DealOpened>>
  | DomainEvent<'DealStageMoved', EventOf<typeof DealStageMoved>>
  | DomainEvent<'DealWon', EventOf<typeof DealWon>>
  | DomainEvent<'DealLost', EventOf<typeof DealLost>>;

type Stage = EventOf<typeof DealOpened>['stage'];
export type DealState =
  | { status: 'unknown' }
  | { status: 'open' | 'won' | 'lost'; dealId: string; stage: Stage; amountMinor: number; currency: string };

export const dealDecider: Decider<DealState, DealEvent> = {
  initialState: () => ({ status: 'unknown' }),
  evolve(state, event) {
    switch (event.type) {
      case 'DealOpened': {
        const { dealId, stage, amountMinor, currency } = event.data;
        return { status: 'open', dealId, stage, amountMinor, currency };
      }
      case 'DealStageMoved':
        return state.status === 'unknown' ? state : { ...state, stage: event.data.to };
      case 'DealWon':
        return state.status === 'unknown' ? state : { ...state, status: 'won', amountMinor: event.data.amountMinor };
      case 'DealLost':
        return state.status === 'unknown' ? state : { ...state, status: 'lost' };
    }
  },
};

type Handler<C> = CommandHandler<C, DealState, DealEvent>;
type Known = Exclude<DealState, { status: 'unknown' }>;
const existing = (dealId: string) => ({ id: dealId, streamId: dealStream(dealId), create: false, field: 'dealId', what: 'deal' });
const today = (iso: string) => iso.slice(0, 10);

function openDeal(state: DealState): Known {
  ensure(state.status !== 'unknown', 'deal-not-opened', 'dealId names no opened deal');
  ensure(state.status === 'open', 'deal-closed', `the deal is ${state.status}; a closed deal cannot change`);
  return state;
}

const OpenDealHandler: Handler<CommandOf<typeof OpenDeal>> = {
  decider: dealDecider,
  target: (_, newId) => {
    const id = newId();
    return { id, streamId: dealStream(id), create: true, what: 'deal' };
  },
  references: (c) => [
    customerReference(c.customerId),
    ...employeeReference('ownerId', c.ownerId),
  ],
  decide: (c, _, ctx) => {
    const customer = ctx.related.customer as CustomerState;
    ensure(customer.status === 'registered', 'customer-not-registered', 'customerId names no registered customer');
    // A person customer's deal links to that person, so erasure can unlink it later.
    const subjectId = customer.kind === 'person' ? customer.customerId : undefined;
    return [{ type: 'DealOpened', data: { ...c, dealId: ctx.aggregateId, ...(subjectId ? { subjectId } : {}) } }];
  },
  reply: (events) => ({ dealId: (events[0]?.data as { dealId: string }).dealId }),
};

const MoveDealStageHandler: Handler<CommandOf<typeof MoveDealStage>> = {
  decider: dealDecider,
  target: (c) => existing(c.dealId),
  decide: (c, state) => {
    const deal = openDeal(state);
    if (deal.stage === c.stage) return [];
    return [{ type: 'DealStageMoved', data: { dealId: c.dealId, from: deal.stage, to: c.stage } }];
  },
};

const WinDealHandler: Handler<CommandOf<typeof WinDeal>> = {
  decider: dealDecider,
  target: (c) => existing(c.dealId),
  decide: (c, state, ctx) => {
    const deal = openDeal(state);
    return [
      { type: 'DealWon', data: { dealId: c.dealId, amountMinor: c.amountMinor ?? deal.amountMinor, currency: deal.currency, wonOn: today(ctx.now) } },
    ];
  },
};

const LoseDealHandler: Handler<CommandOf<typeof LoseDeal>> = {
  decider: dealDecider,
  target: (c) => existing(c.dealId),
  decide: (c, state, ctx) => {
    openDeal(state);
    return [{ type: 'DealLost', data: { dealId: c.dealId, reason: c.reason, lostOn: today(ctx.now) } }];
  },
};

export const dealHandlers = {
  OpenDeal: OpenDealHandler,
  MoveDealStage: MoveDealStageHandler,
  WinDeal: WinDealHandler,
  LoseDeal: LoseDealHandler,
};
