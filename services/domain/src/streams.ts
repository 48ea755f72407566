/** Stream ids: one stream per aggregate, `<aggregate>-<id>`. Ids are random UUID v7, never derived from personal data. */
export const customerStream = (customerId: string) => `customer-${customerId}`;
export const serviceCaseStream = (caseId: string) => `case-${caseId}`;
export const dealStream = (dealId: string) => `deal-${dealId}`;
export const employeeStream = (employeeId: string) => `employee-${employeeId}`;
