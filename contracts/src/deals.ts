import { z } from 'zod';
import { amountMinor, currency, id, line } from './fields.ts';
import { defineCommand, defineEvent } from './messages.ts';

export const OPEN_DEAL_STAGES = ['qualification', 'needs-analysis', 'proposal', 'negotiation'] as const;
export const LOSS_REASONS = ['price', 'competitor', 'no-budget', 'no-decision', 'timing', 'other'] as const;
const SALES = ['sales-rep'] as const;

export const OpenDeal = defineCommand({
  type: 'OpenDeal',
  version: 1,
  aggregate: 'deal',
  description: 'Opens a sales deal for a customer, with its amount and owner.',
  roles: SALES,
  schema: z.strictObject({
    customerId: id(),
    title: line(200).describe('a business title; must not name a person'),
    amountMinor: amountMinor().describe('amount in minor units of the currency (cents)'),
    currency: currency(),
    ownerId: id().describe('subjectId of the employee who owns the deal'),
    stage: z.enum(OPEN_DEAL_STAGES).default('qualification'),
  }),
  subjects: ['customerId', 'ownerId'],
});

export const MoveDealStage = defineCommand({
  type: 'MoveDealStage',
  version: 1,
  aggregate: 'deal',
  description: 'Moves an open deal to another stage. Won and lost deals cannot change stage.',
  roles: SALES,
  schema: z.strictObject({ dealId: id(), stage: z.enum(OPEN_DEAL_STAGES) }),
});

export const WinDeal = defineCommand({
  type: 'WinDeal',
  version: 1,
  aggregate: 'deal',
  description: 'Marks an open deal won, optionally at a final amount.',
  roles: SALES,
  schema: z.strictObject({ dealId: id(), amountMinor: amountMinor().optional() }),
});

export const LoseDeal = defineCommand({
  type: 'LoseDeal',
  version: 1,
  aggregate: 'deal',
  description: 'Marks an open deal lost, with a reason.',
  roles: SALES,
  schema: z.strictObject({ dealId: id(), reason: z.enum(LOSS_REASONS) }),
});

export const DealOpened = defineEvent({
  type: 'DealOpened',
  version: 1,
  description: 'A deal was opened. subjectId is set when the customer is a natural person.',
  schema: z.object({
    dealId: id(),
    customerId: id(),
    subjectId: id().optional(),
    title: line(200),
    amountMinor: amountMinor(),
    currency: currency(),
    ownerId: id(),
    stage: z.enum(OPEN_DEAL_STAGES),
  }),
  subjects: ['subjectId', 'ownerId'],
});

export const DealStageMoved = defineEvent({
  type: 'DealStageMoved',
  version: 1,
  description: 'A deal moved to another stage.',
  schema: z.object({ dealId: id(), from: z.enum(OPEN_DEAL_STAGES), to: z.enum(OPEN_DEAL_STAGES) }),
  subjects: [],
});

export const DealWon = defineEvent({
  type: 'DealWon',
  version: 1,
  description: 'A deal was won at its final amount.',
  schema: z.object({ dealId: id(), amountMinor: amountMinor(), currency: currency(), wonOn: z.iso.date() }),
  subjects: [],
});

export const DealLost = defineEvent({
  type: 'DealLost',
  version: 1,
  description: 'A deal was lost.',
  schema: z.object({ dealId: id(), reason: z.enum(LOSS_REASONS), lostOn: z.iso.date() }),
  subjects: [],
});
