/** HR view: personnel files and absences, for HR and management only. */
import type { Role } from '@crm/contracts';
import type { Change, CollectionDefinition, FieldPolicy, KnownEvent, ProjectedEvent, ViewDefinition } from '../view.ts';
import { update } from '../view.ts';

const HR: Role[] = ['hr', 'management'];
const plain: FieldPolicy = { roles: HR };
const personal: FieldPolicy = { roles: HR, personal: { subjectField: 'subjectId' } };

export const HR_COLLECTIONS = { employees: 'hr/employees', absences: 'hr/absences' } as const;

const employees: CollectionDefinition = {
  name: HR_COLLECTIONS.employees,
  fields: {
    _id: plain,
    _position: { roles: [] },
    subjectId: plain,
    name: personal,
    email: { ...personal, blindIndex: true },
    phone: { ...personal, blindIndex: true },
    address: personal,
    dateOfBirth: personal,
    salaryBand: personal,
    position: plain,
    department: plain,
    startDate: plain,
    status: plain,
    endDate: plain,
    endReason: personal,
  },
  indexes: [
    { name: 'subject', keys: [['subjectId', 1]] },
    { name: 'department', keys: [['department', 1], ['status', 1]] },
    { name: 'email_blind', keys: [['_blind.email', 1]] },
    { name: 'phone_blind', keys: [['_blind.phone', 1]] },
  ],
  erasure: { links: ['subjectId'], own: 'delete' },
};

const absences: CollectionDefinition = {
  name: HR_COLLECTIONS.absences,
  fields: { _id: plain, _position: { roles: [] }, subjectId: plain, kind: personal, from: plain, to: plain },
  indexes: [
    { name: 'subject', keys: [['subjectId', 1], ['from', 1]] },
    { name: 'period', keys: [['from', 1], ['to', 1]] },
  ],
  erasure: { links: ['subjectId'], own: 'delete' },
};

export const hrView: ViewDefinition = {
  name: 'hr',
  version: 1,
  purpose: 'Human resources: keep the personnel file of each employee (Art. 88 GDPR, employment contract and legal obligations).',
  collections: { employees, absences },
  eventTypes: new Set(['EmployeeHired', 'EmployeePositionChanged', 'AbsenceRecorded', 'EmploymentEnded']),
  evolve(event: ProjectedEvent): Change[] {
    const e = event as unknown as KnownEvent;
    const pos = event.globalPosition;
    const E = HR_COLLECTIONS.employees;
    switch (e.type) {
      case 'EmployeeHired': {
        const d = e.data;
        return [
          update(E, d.employeeId, pos, () => ({
            subjectId: d.employeeId,
            name: d.name,
            email: d.email ?? null,
            phone: d.phone ?? null,
            address: d.address ?? null,
            dateOfBirth: d.dateOfBirth ?? null,
            salaryBand: d.salaryBand,
            position: d.position,
            department: d.department,
            startDate: d.startDate,
            status: 'employed',
            endDate: null,
            endReason: null,
          })),
        ];
      }
      case 'EmployeePositionChanged': {
        const d = e.data;
        return [
          update(E, d.employeeId, pos, (current) =>
            current && {
              ...current,
              ...(d.position !== undefined ? { position: d.position } : {}),
              ...(d.department !== undefined ? { department: d.department } : {}),
              ...(d.salaryBand !== undefined ? { salaryBand: d.salaryBand } : {}),
            },
          ),
        ];
      }
      case 'AbsenceRecorded': {
        const d = e.data;
        return [update(HR_COLLECTIONS.absences, d.absenceId, pos, () => ({ subjectId: d.employeeId, kind: d.kind, from: d.from, to: d.to }))];
      }
      case 'EmploymentEnded': {
        const d = e.data;
        return [update(E, d.employeeId, pos, (current) => current && { ...current, status: 'left', endDate: d.endDate, endReason: d.reason })];
      }
      default:
        return [];
    }
  },
};
