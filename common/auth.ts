/**
 * JWT verification with jose, shared by ingest (HTTP) and fan-out (WebSocket upgrade), so it lives in common/.
 * HS256 with JWT_SECRET locally, or RS256/ES256/EdDSA from JWT_JWKS_URL; nothing else is accepted
 * (no `none`, no HS/RS confusion). `exp` and `sub` are required.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, errors as jose, jwtVerify, SignJWT } from "jose";
import type { Config } from "./config.ts";
import { isStorableText } from "./contracts/index.ts";

const MAX_TOKEN_LENGTH = 8192;
/** Verified tokens whose claims are remembered until they expire (per process). */
const VERIFIED_TOKENS_KEPT = 10_000;
/** Clock skew allowed on `exp`/`nbf`; a token is accepted until exp plus this. */
export const CLOCK_TOLERANCE_SECONDS = 5;

export class AuthError extends Error {
  override name = "AuthError";
}

/** A token longer than any real one: 431, not 401 (CONTRACT.md). */
export class TokenTooLargeError extends AuthError {
  override name = "TokenTooLargeError";
  readonly limit = MAX_TOKEN_LENGTH;
}

/**
 * The token could not be checked because its signing keys could not be fetched (JWT_JWKS_URL
 * unreachable, answering an error or not a key set): the server's outage (503), not a bad token.
 */
export class KeysUnavailableError extends Error {
  override name = "KeysUnavailableError";
}

/**
 * How jose's remote key set fails when its server does: a timeout, an answer that is not 200 or not
 * a key set (the generic JOSEError), or fetch's own "fetch failed" (unreachable).
 */
const keySetFailed = (err: unknown): boolean =>
  err instanceof jose.JOSEError
    ? err instanceof jose.JWKSTimeout || err instanceof jose.JWKSInvalid || err.code === jose.JOSEError.code
    : err instanceof TypeError && err.message === "fetch failed";

export type VerifyToken = (token: string | undefined) => Promise<string>;
/** The user id and when the token stops being accepted (ms since the epoch, clock tolerance included). */
export interface TokenClaims {
  sub: string;
  expiresAt: number;
}
export type VerifyTokenClaims = ((token: string | undefined) => Promise<TokenClaims>) & {
  /** The claims of a token this verifier already accepted and that has not expired, synchronously; else undefined. */
  known(token: string | undefined): TokenClaims | undefined;
};

/** Returns a verifier that resolves to the user id (`sub`) or rejects with AuthError. */
export function tokenVerifier(config: Config): VerifyToken {
  const verify = claimsVerifier(config);
  return async (token) => (await verify(token)).sub;
}

/** Like tokenVerifier, with the expiry too (the fan-out closes a socket when its token expires). */
export function claimsVerifier(config: Config): VerifyTokenClaims {
  const options = {
    requiredClaims: ["exp", "sub"],
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  // From a JWKS: a key the set does not have is looked for again after 5 s (jose's default is
  // 30 s), so a newly added signing key is refused for at most that long; the set is kept 10 min.
  const verify = config.jwtJwksUrl
    ? (
        (jwks: JWTVerifyGetKey) => (token: string) =>
          jwtVerify(token, jwks, { ...options, algorithms: ["RS256", "ES256", "EdDSA"] })
      )(createRemoteJWKSet(new URL(config.jwtJwksUrl), { cooldownDuration: 5000 }))
    : (
        (key: Uint8Array) => (token: string) =>
          jwtVerify(token, key, { ...options, algorithms: ["HS256"] })
      )(new TextEncoder().encode(config.jwtSecret));

  // A verified token stays valid until it expires: its claims are kept (bounded, oldest out) so a
  // client's every request does not pay for the signature again.
  const verified = new Map<string, TokenClaims>();
  const known = (token: string | undefined): TokenClaims | undefined => {
    const claims = token === undefined ? undefined : verified.get(token);
    return claims && claims.expiresAt > Date.now() ? claims : undefined;
  };
  const claimsOf = async (token: string | undefined): Promise<TokenClaims> => {
    if (!token) throw new AuthError("missing bearer token");
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenTooLargeError(`token exceeds ${MAX_TOKEN_LENGTH} characters`);
    const cached = known(token);
    if (cached) return cached;
    verified.delete(token);
    try {
      const { payload } = await verify(token);
      if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 128 || !isStorableText(payload.sub))
        throw new AuthError("token has no usable sub");
      const claims = { sub: payload.sub, expiresAt: ((payload.exp as number) + CLOCK_TOLERANCE_SECONDS) * 1000 };
      verified.set(token, claims);
      if (verified.size > VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value as string);
      return claims;
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (config.jwtJwksUrl && keySetFailed(err))
        throw new KeysUnavailableError(`the token's signing keys cannot be fetched from JWT_JWKS_URL (${(err as Error).message})`);
      // jose says which check failed ('unexpected "iss" claim value', '"exp" claim timestamp check failed').
      throw new AuthError(`invalid token: ${(err as Error).message}`);
    }
  };
  return Object.assign(claimsOf, { known });
}

/** `Authorization: Bearer <jwt>` → the token, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match?.[1];
}

/**
 * Whether a request path's user id segment (`/api/<user_id>/…`, `/api/ws/<user_id>`) names the
 * token's subject. Servers hand path segments over percent-encoded and clients encode ids (an
 * identity provider's `auth0|123` arrives as `auth0%7C123`), so the decoded segment counts; the
 * segment as sent counts too, for ids with a literal `%` sent unencoded (`50%off`).
 */
export function isPathOfUser(segment: string, sub: string): boolean {
  if (segment === sub) return true;
  if (!segment.includes("%")) return false;
  try {
    return decodeURIComponent(segment) === sub;
  } catch {
    return false;
  }
}

/** A token for the local stack (HS256 with JWT_SECRET), as `make token` prints. */
export function signLocalToken(config: Config, userId: string, ttl = "24h"): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .setIssuer(config.jwtIssuer ?? "taskstream-local")
    .setAudience(config.jwtAudience ?? "taskstream")
    .sign(new TextEncoder().encode(config.jwtSecret));
}
