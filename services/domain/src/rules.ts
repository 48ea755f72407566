import { BusinessRuleViolation } from '@crm/contracts';

/** Refuses the command with a 422 naming the rule, unless `condition` holds. */
export function ensure(condition: boolean, rule: string, detail: string): asserts condition {
  if (!condition) throw new BusinessRuleViolation(rule, detail);
}
