import { createRemoteJWKSet, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { isRole, type Role, Unauthenticated } from '@crm/contracts';

export interface Principal {
  /** JWT `sub`: the calling service or person's principal id. */
  id: string;
  roles: Role[];
}

export interface AuthOptions {
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

const TOKEN_CACHE_SIZE = 10_000;

/**
 * Verifies bearer tokens: HS256 with a shared secret for development and tests, or keys
 * from a JWKS URL in production. Verified tokens are cached until they expire, so a busy
 * service pays for the signature check once per token, not per request.
 */
export function createTokenVerifier(options: AuthOptions): (authorization: string | undefined) => Promise<Principal> {
  if (!options.jwtSecret && !options.jwksUrl) throw new Error('Set CRM_JWT_SECRET or CRM_JWKS_URL to verify bearer tokens');
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  const claims = { ...(options.issuer ? { issuer: options.issuer } : {}), ...(options.audience ? { audience: options.audience } : {}) };

  async function verify(token: string): Promise<JWTPayload> {
    if (jwks) return (await jwtVerify(token, jwks, { ...claims, algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] })).payload;
    return (await jwtVerify(token, secret!, { ...claims, algorithms: ['HS256'] })).payload;
  }

  return async (authorization) => {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match) throw new Unauthenticated('Send an Authorization: Bearer <JWT> header');
    const token = match[1]!;
    const cached = verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.principal;
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch {
      throw new Unauthenticated('The bearer token is expired, malformed or not signed by a trusted key');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new Unauthenticated('The bearer token has no sub claim');
    if (typeof payload.exp !== 'number') throw new Unauthenticated('The bearer token has no exp claim');
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    const principal: Principal = { id: payload.sub, roles };
    if (verified.size >= TOKEN_CACHE_SIZE) verified.clear();
    verified.set(token, { principal, expiresAt: payload.exp * 1000 });
    return principal;
  };
}
