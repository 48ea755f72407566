import { after, before } from 'node:test';
import { type CrmUnderTest, startCrmUnderTest } from './crm-under-test.ts';
import { seedWorld, type World } from './valid-commands.ts';

export interface SeededCrm {
  readonly crm: CrmUnderTest;
  readonly world: World;
}

/**
 * One CRM under test (the embedded default) and one seeded world for every test of the
 * enclosing `describe`: started in its `before`, disposed of in its `after`. Starting a CRM
 * per test would dominate the suites' run time. `crm` and `world` exist once that `before`
 * has run, so read them in tests and later hooks only.
 */
export function seededCrmForSuite(): SeededCrm {
  let crm: CrmUnderTest | undefined;
  let world: World | undefined;
  before(async () => {
    crm = await startCrmUnderTest();
    world = await seedWorld(crm);
  });
  after(async () => {
    await crm?.dispose();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the seeded CRM is read before its before() hook ran');
    return value;
  };
  return {
    get crm() {
      return started(crm);
    },
    get world() {
      return started(world);
    },
  };
}
