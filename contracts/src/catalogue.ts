import * as consent from './consent.ts';
import * as customers from './customers.ts';
import * as deals from './deals.ts';
import * as employees from './employees.ts';
import type { CommandContract, EventContract } from './messages.ts';
import * as privacy from './privacy.ts';
import * as retention from './retention.ts';
import * as serviceCases from './service-cases.ts';

/** Every command and event contract, by type: the one list that the API, the OpenAPI document and the sealing rules read. */
function collect<K extends 'command' | 'event'>(kind: K) {
  const found = new Map<string, K extends 'command' ? CommandContract : EventContract>();
  for (const module of [customers, consent, serviceCases, deals, employees, privacy, retention]) {
    for (const value of Object.values(module)) {
      if (value && typeof value === 'object' && 'kind' in value && value.kind === kind) {
        const contract = value as K extends 'command' ? CommandContract : EventContract;
        if (found.has(contract.type)) throw new Error(`duplicate ${kind} type ${contract.type}`);
        found.set(contract.type, contract);
      }
    }
  }
  return found as ReadonlyMap<string, K extends 'command' ? CommandContract : EventContract>;
}

export const commandContracts = collect('command');
export const eventContracts = collect('event');

export function commandContract(type: string): CommandContract | undefined {
  return commandContracts.get(type);
}

export function eventContract(type: string): EventContract | undefined {
  return eventContracts.get(type);
}
