import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { authFailureBudget } from './auth-failures'

const encoder = new TextEncoder()

/** Constant-time comparison: the time taken does not reveal how much of the token matched. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  // Compare equal-length buffers either way so a length mismatch costs the same as a content mismatch.
  const same = a.byteLength === b.byteLength
  return crypto.subtle.timingSafeEqual(same ? a : b, b) && same
}

/** Which tokens a guarded route accepts, and what it answers while none is configured. */
export interface BearerOptions {
  tokens(c: Context<AppEnv>): ReadonlyArray<string | undefined>
  readonly disabled: { readonly code: string; readonly message: string }
}

/**
 * Requires `Authorization: Bearer <token>` with one of the accepted tokens; 401 (with
 * WWW-Authenticate) otherwise, 503 while none is configured. Every accepted token is compared each
 * time (constant time each), so timing tells neither which one matched nor whether one did. A
 * client out of its `admin.authFailures` budget gets 429 before any token is looked at.
 *
 * Not `hono/bearer-auth`: it answers a malformed header (`Bearer ` with nothing after it, a token
 * outside RFC 6750's characters) with 400 instead of 401, stops at the first matching token (timing
 * tells which one matched), has no place for the failure budget's slot and refund nor for the 503
 * while no token is configured, and would need its `verifyToken` hook to do all of this anyway.
 */
export function bearerAuth(options: BearerOptions): MiddlewareHandler<AppEnv> {
  return async function bearerAuthMiddleware(c, next) {
    const tokens = options.tokens(c).filter((token): token is string => !!token)
    if (tokens.length === 0) {
      return errorResponse(503, options.disabled.code, options.disabled.message)
    }
    const budget = authFailureBudget(c)
    const refused = await budget.refusal()
    if (refused) return refused
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    let valid = false
    for (const token of tokens) {
      const same = match !== null && tokensMatch(match[1]!, token)
      valid = valid || same
    }
    if (!valid) {
      return errorResponse(401, 'unauthorized', 'A valid bearer token is required.', {
        'www-authenticate': 'Bearer realm="edge-cache"',
      })
    }
    await budget.recordSuccess()
    await next()
  }
}
