import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '@crm/core';
import type { Principal } from './auth.ts';

/** A UUID v7 (RFC 9562): 48 bits of Unix milliseconds, version, 74 random bits. */
export function uuidV7(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The audit entry of one read of a view's collection that showed personal data: ids only. */
export function viewReadEntry(read: {
  principal: Principal;
  view: string;
  collection: string;
  purpose: string;
  subjectIds: string[];
  count: number;
  at?: Date;
}): AuditEntry {
  const at = read.at ?? new Date();
  return {
    id: uuidV7(at.getTime()),
    at: at.toISOString(),
    actor: read.principal.id,
    roles: [...read.principal.roles],
    action: 'view.read',
    view: read.view,
    collection: read.collection,
    purpose: read.purpose,
    subjectIds: read.subjectIds,
    count: read.count,
  };
}
