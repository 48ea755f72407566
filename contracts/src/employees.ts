import { z } from 'zod';
import { email, id, isoDate, line, phone, postalAddress } from './fields.ts';
import { defineCommand, defineEvent } from './messages.ts';

export const SALARY_BANDS = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8'] as const;
/** Sick leave is health data (Art. 9), so the kind of absence is sealed with the person's data. */
export const ABSENCE_KINDS = ['vacation', 'sick-leave', 'parental-leave', 'training', 'other'] as const;
export const EMPLOYMENT_END_REASONS = ['resignation', 'dismissal', 'retirement', 'contract-end', 'mutual-agreement', 'death'] as const;
const HR = ['hr'] as const;

const EMPLOYEE_FIELDS = ['name', 'email', 'phone', 'address', 'dateOfBirth', 'salaryBand'];

export const HireEmployee = defineCommand({
  type: 'HireEmployee',
  version: 1,
  aggregate: 'employee',
  description: "Opens a personnel file for a new employee. The answer carries the employee's new subjectId.",
  roles: HR,
  schema: z.strictObject({
    name: line(200),
    email: email().optional(),
    phone: phone().optional(),
    address: postalAddress().optional(),
    dateOfBirth: isoDate().optional(),
    position: line(120),
    department: line(120),
    salaryBand: z.enum(SALARY_BANDS),
    startDate: isoDate(),
  }),
  personal: EMPLOYEE_FIELDS,
});

export const ChangeEmployeePosition = defineCommand({
  type: 'ChangeEmployeePosition',
  version: 1,
  aggregate: 'employee',
  description: "Changes an employee's position, department or salary band from a date.",
  roles: HR,
  schema: z
    .strictObject({
      employeeId: id(),
      position: line(120).optional(),
      department: line(120).optional(),
      salaryBand: z.enum(SALARY_BANDS).optional(),
      effectiveDate: isoDate(),
    })
    .refine((c) => c.position !== undefined || c.department !== undefined || c.salaryBand !== undefined, {
      message: 'must change position, department or salaryBand',
      path: [],
    }),
  personal: ['salaryBand'],
  subjects: ['employeeId'],
});

export const RecordAbsence = defineCommand({
  type: 'RecordAbsence',
  version: 1,
  aggregate: 'employee',
  description: 'Records an absence. Its kind is sealed: sick leave is health data.',
  roles: HR,
  schema: z
    .strictObject({ employeeId: id(), kind: z.enum(ABSENCE_KINDS), from: isoDate(), to: isoDate() })
    .refine((c) => c.from <= c.to, { message: 'must not be before from', path: ['to'] }),
  personal: ['kind'],
  subjects: ['employeeId'],
});

export const EndEmployment = defineCommand({
  type: 'EndEmployment',
  version: 1,
  aggregate: 'employee',
  description: 'Ends an employment. The personnel file stays until its retention period ends.',
  roles: HR,
  schema: z.strictObject({ employeeId: id(), endDate: isoDate(), reason: z.enum(EMPLOYMENT_END_REASONS) }),
  personal: ['reason'],
  subjects: ['employeeId'],
});

export const EmployeeHired = defineEvent({
  type: 'EmployeeHired',
  version: 1,
  description: 'A personnel file was opened; employeeId is the subjectId.',
  schema: z.object({
    employeeId: id(),
    name: line(200).nullable(),
    email: email().nullable().optional(),
    phone: phone().nullable().optional(),
    address: postalAddress().nullable().optional(),
    dateOfBirth: isoDate().nullable().optional(),
    position: line(120),
    department: line(120),
    salaryBand: z.enum(SALARY_BANDS).nullable(),
    startDate: isoDate(),
  }),
  personal: [{ subject: 'employeeId', fields: EMPLOYEE_FIELDS }],
  subjects: ['employeeId'],
  creates: ['employeeId'],
});

export const EmployeePositionChanged = defineEvent({
  type: 'EmployeePositionChanged',
  version: 1,
  description: "An employee's position, department or salary band changed.",
  schema: z.object({
    employeeId: id(),
    position: line(120).optional(),
    department: line(120).optional(),
    salaryBand: z.enum(SALARY_BANDS).nullable().optional(),
    effectiveDate: isoDate(),
  }),
  personal: [{ subject: 'employeeId', fields: ['salaryBand'] }],
  subjects: ['employeeId'],
});

export const AbsenceRecorded = defineEvent({
  type: 'AbsenceRecorded',
  version: 1,
  description: 'An absence was recorded.',
  schema: z.object({
    employeeId: id(),
    absenceId: id(),
    kind: z.enum(ABSENCE_KINDS).nullable(),
    from: isoDate(),
    to: isoDate(),
  }),
  personal: [{ subject: 'employeeId', fields: ['kind'] }],
  subjects: ['employeeId'],
});

export const EmploymentEnded = defineEvent({
  type: 'EmploymentEnded',
  version: 1,
  description: 'An employment ended.',
  schema: z.object({ employeeId: id(), endDate: isoDate(), reason: z.enum(EMPLOYMENT_END_REASONS).nullable() }),
  personal: [{ subject: 'employeeId', fields: ['reason'] }],
  subjects: ['employeeId'],
});
