import type { CrmUnderTest } from './crm-under-test.ts';
import { seedWorld, validCommandBodies } from './valid-commands.ts';

export interface CommandLoad {
  /** Commands answered 2xx so far. */
  readonly accepted: number;
  /** Stops after the commands in flight; resolves with the number accepted. */
  stop(): Promise<number>;
}

const ROLE_OF: Record<string, 'sales-rep' | 'service-agent' | 'hr'> = {
  OpenServiceCase: 'service-agent',
  AddCaseNote: 'service-agent',
  AssignServiceCase: 'service-agent',
  ResolveServiceCase: 'service-agent',
  ReopenServiceCase: 'service-agent',
  HireEmployee: 'hr',
  ChangeEmployeePosition: 'hr',
  RecordAbsence: 'hr',
  EndEmployment: 'hr',
};

/**
 * Keeps commands arriving over HTTP until stopped: each worker seeds a world (employee,
 * customer, organisation, case, deal), then sends every command type against it. Business
 * refusals (422, e.g. losing a deal already won) are part of the mix; anything else fails.
 */
export function startCommandLoad(crm: CrmUnderTest, options: { workers?: number; marker?: string } = {}): CommandLoad {
  let accepted = 0;
  let running = true;
  let failure: Error | undefined;
  const worker = async (w: number) => {
    for (let round = 0; running; round++) {
      const marker = `${options.marker ?? 'Load'}${w}x${round}`;
      const world = await seedWorld(crm, marker);
      accepted += 6;
      for (const [type, body] of Object.entries(validCommandBodies(world, marker))) {
        if (!running) return;
        const answer = await crm.command(type, body, [ROLE_OF[type] ?? 'sales-rep']);
        if (answer.status === 200) accepted++;
        else if (answer.status !== 422) throw new Error(`${type} answered ${answer.status}`);
      }
    }
  };
  const workers = Array.from({ length: options.workers ?? 2 }, (_, w) =>
    worker(w).catch((error: unknown) => {
      failure = error instanceof Error ? error : new Error(String(error));
      running = false;
    }),
  );
  return {
    get accepted() {
      return accepted;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      if (failure) throw failure;
      return accepted;
    },
  };
}
