/** Stream ids: one stream per aggregate, `<aggregate>-<id>`. Ids are random UUID v7, never derived from personal data. */
export const customerStream = (customerId: string) => `customer-${customerId}`;
export const serviceCaseStream = (caseId: string) => `case-${caseId}`;
export const dealStream = (dealId: string) => `deal-${dealId}`;
export const employeeStream = (employeeId: string) => `employee-${employeeId}`;
/** One data subject's privacy state: legal holds, restriction, suppression entry, erasure. */
export const privacySubjectStream = (subjectId: string) => `privacy-subject-${subjectId}`;
/** One data-subject request's lifecycle. */
export const privacyRequestStream = (requestId: string) => `privacy-request-${requestId}`;
