/** Roles of the JWT `roles` claim. Permissions are allow-lists: a role may only what is listed for it. */
export const ROLES = ['service-agent', 'sales-rep', 'hr', 'management', 'analyst', 'dpo', 'admin', 'guest'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
