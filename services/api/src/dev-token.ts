import { SignJWT } from 'jose';
import type { Role } from '@crm/contracts';

/** Mints an HS256 development token with the given roles. Never for production: there, an identity provider issues tokens. */
export async function mintDevToken(secret: string, options: { subject: string; roles: readonly Role[]; ttlSeconds?: number }): Promise<string> {
  return new SignJWT({ roles: [...options.roles] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(secret));
}
