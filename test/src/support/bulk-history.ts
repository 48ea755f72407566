import type { CommandService } from '@crm/core';
import { hireEmployee, registerCustomer, registerOrganisation } from './valid-commands.ts';

export interface BulkHistoryOptions {
  /** Worlds to write (Infinity: until `signal` aborts): each an employee, a customer, an organisation, a service case with notes, a deal. */
  worlds: number;
  /** Notes added to each world's case (each one `CaseNoteAdded`, counted into the case's `noteCount`). */
  notesPerCase: number;
  /** Worlds written at once (their appends share group commits). Default 16. */
  concurrency?: number;
  /** Put into every personal field and the actor. Default 'Bulk'. */
  marker?: string;
  /** Once aborted, no further world is started; the ones begun are written to the end. */
  signal?: AbortSignal;
}

export interface BulkHistory {
  commands: number;
  /** Worlds written completely. */
  worlds: number;
  /** Case id → notes added to it. */
  notesByCase: Map<string, number>;
}

/**
 * Writes a large, varied history straight through the command service (no HTTP): for each
 * world (37.5 events on average with 20 notes), an employee is hired, a person customer and an
 * organisation registered, consents given (to the customer and the organisation's contact
 * person) and one withdrawn, the customer's details changed and reclassified, a service case
 * opened, assigned, noted `notesPerCase` times, resolved and (every other world) reopened, a
 * deal opened, moved and won (every third world: lost), an absence recorded and the
 * employee's position changed. Fails on the first refused command.
 */
export async function writeBulkHistory(commands: CommandService, options: BulkHistoryOptions): Promise<BulkHistory> {
  const marker = options.marker ?? 'Bulk';
  const notesByCase = new Map<string, number>();
  let sent = 0;
  let completed = 0;
  const run = async (type: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    sent++;
    return commands.execute({ type, body, actor: `bulk-${marker.toLowerCase()}` });
  };
  const world = async (w: number) => {
    const m = `${marker}${w}`;
    const employeeId = String((await run('HireEmployee', hireEmployee(m))).subjectId);
    const customerId = String((await run('RegisterCustomer', registerCustomer(m, employeeId))).subjectId);
    const organisation = await run('RegisterOrganisation', registerOrganisation(m, employeeId));
    const organisationId = String(organisation.customerId);
    const contactSubjectId = String((organisation.contactSubjectIds as string[])[0]);
    await run('GiveConsent', { customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' });
    await run('GiveConsent', { customerId, purpose: 'profiling', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' });
    await run('GiveConsent', { customerId: organisationId, subjectId: contactSubjectId, purpose: 'phone-marketing', legalBasis: 'consent', source: 'phone-call', textVersion: '2026-01' });
    await run('WithdrawConsent', { customerId, purpose: 'profiling', source: 'email' });
    await run('ChangeCustomerDetails', { customerId, name: `${m} Renamed`, email: `${m.toLowerCase()}.new@example.org` });
    await run('ReclassifyCustomer', { customerId, lifecycleStage: 'customer' });
    const caseId = String((await run('OpenServiceCase', { customerId, channel: 'email', summary: `${m} summary` })).caseId);
    await run('AssignServiceCase', { caseId, agentId: employeeId });
    for (let n = 0; n < options.notesPerCase; n++) await run('AddCaseNote', { caseId, text: `${m} note ${n}`, authorAgentId: employeeId });
    notesByCase.set(caseId, options.notesPerCase);
    await run('ResolveServiceCase', { caseId, resolution: 'solved' });
    if (w % 2 === 0) await run('ReopenServiceCase', { caseId });
    const dealId = String((await run('OpenDeal', { customerId, title: 'Renewal', amountMinor: 100_00 + w, currency: 'EUR', ownerId: employeeId })).dealId);
    await run('MoveDealStage', { dealId, stage: 'proposal' });
    if (w % 3 === 0) await run('LoseDeal', { dealId, reason: 'competitor' });
    else await run('WinDeal', { dealId });
    await run('RecordAbsence', { employeeId, kind: 'sick-leave', from: '2021-02-01', to: '2021-02-03' });
    await run('ChangeEmployeePosition', { employeeId, position: 'Senior Agent', salaryBand: 'B4', effectiveDate: '2021-01-01' });
    completed++;
  };
  let next = 0;
  const lane = async () => {
    while (next < options.worlds && !options.signal?.aborted) await world(next++);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, options.worlds) }, lane));
  return { commands: sent, worlds: completed, notesByCase };
}
